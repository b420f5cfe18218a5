"""Cross-model head distances: compare_models.py on two BERT-base-size grids (288 heads) against head_distances.py
on one (144 heads), the same word-level sentences, measured side by side in one run.

    .venv/bin/python bench/compare_bench.py [--sentences 1000] [--rounds 3]

The maps are random word-level maps `[12, 12, n + 2, n + 2]` (rows are softmaxes of random logits of varied
sharpness, float16) over sentences of UD English EWT dev's lengths when the real data is beside the project, else
of lengths drawn around its mean (17 words). Both commands run in this process on pickles written first; the best of
`--rounds` alternating runs counts. The pair count is 4x (288 x 287 / 2 against 144 x 143 / 2): a ratio near 4
means the cross-model distances cost per pair what one model's do.
"""

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

import compare_models
import head_distances
import utils

ROOT = Path(__file__).resolve().parents[1]
EWT_DEV = ROOT.parent / "shared" / "data" / "ud-english-ewt" / "dev.conllu"
GRID = (12, 12)


def sentence_lengths(count: int, rng: np.random.Generator) -> list[int]:
    """The word counts of the first `count` sentences of UD EWT dev, or random ones of the same mean."""
    if EWT_DEV.is_file():
        from preprocessing.depparse import parse_conllu

        return [len(sentence["words"]) for sentence in parse_conllu(EWT_DEV)[:count]]
    return (rng.poisson(17, count) + 1).tolist()


def random_examples(lengths: list[int], rng: np.random.Generator) -> list[dict]:
    """Word-level examples of the given lengths with random float16 maps `[12, 12, n + 2, n + 2]`."""
    examples = []
    for n_words in lengths:
        size = n_words + 2
        logits = rng.normal(size=(*GRID, size, size)) * rng.choice([0.5, 2.0, 8.0], size=(*GRID, size, 1))
        weights = np.exp(logits - logits.max(axis=-1, keepdims=True))
        examples.append({"words": [f"w{position}" for position in range(n_words)],
                         "attns": (weights / weights.sum(axis=-1, keepdims=True)).astype(np.float16)})
    return examples


def timed(run: callable) -> float:
    """Seconds one call of `run` takes."""
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def main() -> None:
    """Write the two files, then time head_distances.py on one and compare_models.py on both, alternating."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sentences", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    lengths = sentence_lengths(args.sentences, rng)
    with tempfile.TemporaryDirectory() as directory:
        files = [Path(directory) / f"model{index}_attn.pkl" for index in range(2)]
        for path in files:
            utils.write_pickle(path, random_examples(lengths, rng))
        one = ["--attn-data-file", str(files[0]), "--outfile", str(Path(directory) / "distances.pkl")]
        both = ["--attn-data-file", *map(str, files), "--outdir", str(Path(directory) / "compare"), "--no-html",
                "--min-count", "1"]
        head_distances.main(one)  # compiles the kernel
        times = {"head_distances.py, 144 heads": [], "compare_models.py, 288 heads": []}
        for _ in range(args.rounds):
            times["head_distances.py, 144 heads"].append(timed(lambda: head_distances.main(one)))
            times["compare_models.py, 288 heads"].append(timed(lambda: compare_models.main(both)))
    best = {name: min(values) for name, values in times.items()}
    print(f"\n{len(lengths)} sentences, mean {np.mean(lengths):.1f} words; best of {args.rounds} alternating runs")
    print("| command | seconds |\n| --- | ---: |")
    for name, seconds in best.items():
        print(f"| {name} | {seconds:.2f} |")
    ratio = best["compare_models.py, 288 heads"] / best["head_distances.py, 144 heads"]
    print(f"compare / head distances: {ratio:.2f}x (4x the pairs; target: at most 4.5x)")


if __name__ == "__main__":
    main()
