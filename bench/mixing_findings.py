"""The README's context-mixing findings: weights, norms, attn-res-ln, ALTI and value zeroing of the embedded MiniLM
on the Wikipedia sample (128-token segments) and UD EWT dev (word level).

For each measure it prints, per layer, the share of each row that goes to [CLS], to [SEP] and to the token itself
(attention weights and norms: the mean over heads); Table 1's `all` row (best head, or best layer for the one-map-a-
layer kinds, chosen and scored on the same data as in the paper); and how far the measures agree: the Spearman rank
correlation of each query's row under two measures, averaged over rows, examples and layers.

Everything runs through the command lines (preprocess_*.py, extract_attention.py, syntax_analysis.py) into
`--outdir`. Run from the repository root:
    .venv/bin/python bench/mixing_findings.py [--wikipedia 100] [--ewt 0 (all)] [--outdir out/mixing_findings]
"""

import argparse
import itertools
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
from extract_bench import ROOT, SHARED_DATA  # bench/ is the script's directory
from scipy.stats import rankdata

from utils import read_examples

MEASURES = {"attn": "weights", "norm": "norms", "attn-res-ln": "attn-res-ln", "alti": "ALTI",
            "value-zeroing": "value zeroing"}


def run(script: str, *arguments: str) -> None:
    """Run one of the project's scripts, quietly, failing loudly."""
    subprocess.run([sys.executable, str(ROOT / script), *arguments], check=True, capture_output=True)


def prepare(outdir: Path, wikipedia: int, ewt: int) -> dict[str, Path]:
    """The two example files: Wikipedia segments (token level) and UD EWT dev sentences with their trees."""
    (outdir / "ewt").mkdir(parents=True, exist_ok=True)
    link = outdir / "ewt" / "dev.conllu"
    link.unlink(missing_ok=True)
    link.symlink_to(SHARED_DATA / "ud-english-ewt" / "dev.conllu")
    run("preprocess_depparse.py", "--data-dir", str(outdir / "ewt"), "--outdir", str(outdir / "ewt"))
    ewt_file = outdir / "ewt" / "dev.json"
    if ewt:
        ewt_file.write_text(json.dumps(json.loads(ewt_file.read_text())[:ewt]))
    wiki_text = outdir / "wikipedia.txt"
    wiki_text.write_bytes((SHARED_DATA / "wikipedia-sample" / "unlabeled.txt").read_bytes())
    run("preprocess_unlabeled.py", "--data-file", str(wiki_text), "--num-docs", str(wikipedia))
    return {"wikipedia": wiki_text.with_suffix(".json"), "ewt": ewt_file}


def extract(files: dict[str, Path]) -> dict[tuple[str, str], Path]:
    """Every measure's maps of both data sets: {(data, measure): pickle}."""
    pickles = {}
    for (data, examples), kind in itertools.product(files.items(), MEASURES):
        pickles[data, kind] = examples.with_name(f"{examples.stem}_{kind}.pkl")
        level = ["--word_level"] if data == "ewt" else []
        if not pickles[data, kind].exists():
            run("extract_attention.py", "--preprocessed-data-file", str(examples), "--map", kind, *level,
                "--outfile", str(pickles[data, kind]))
        print(f"extracted {data} {kind}", file=sys.stderr)
    return pickles


def layer_maps(example: dict) -> np.ndarray:
    """An example's maps, one a layer (the mean over heads for weights and norms): float64 [layers, n, n]."""
    return example["attns"].astype(np.float64).mean(axis=1)


def shares(examples: list[dict]) -> dict[str, np.ndarray]:
    """The mean share of a row [layers] that goes to [CLS] (first position), to [SEP] (every separator; the last
    position at word level) and to the token itself."""
    totals = {"cls": 0.0, "sep": 0.0, "self": 0.0}
    rows = 0
    for example in examples:
        maps = layer_maps(example)
        n = maps.shape[-1]
        separators = [n - 1] if "words" in example else [i for i, token in enumerate(example["tokens"])
                                                          if token == "[SEP]"]
        totals["cls"] = totals["cls"] + maps[:, :, 0].sum(axis=1)
        totals["sep"] = totals["sep"] + maps[:, :, separators].sum(axis=(1, 2))
        totals["self"] = totals["self"] + np.trace(maps, axis1=1, axis2=2)
        rows += n
    return {key: value / rows for key, value in totals.items()}


def row_spearman(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """The Spearman correlation of matching rows of two [..., n] arrays (Pearson of their ranks, ties averaged); NaN
    where a row is constant."""
    ranks = [rankdata(maps, axis=-1) for maps in (first, second)]
    centred = [rank - rank.mean(axis=-1, keepdims=True) for rank in ranks]
    with np.errstate(invalid="ignore", divide="ignore"):
        return (centred[0] * centred[1]).sum(-1) / np.sqrt((centred[0] ** 2).sum(-1) * (centred[1] ** 2).sum(-1))


def agreement(first: list[dict], second: list[dict]) -> float:
    """The Spearman correlation of each query's row under two measures, averaged over rows, layers and examples."""
    correlations = [row_spearman(layer_maps(a), layer_maps(b)).ravel() for a, b in zip(first, second, strict=True)]
    return float(np.nanmean(np.concatenate(correlations)))


def table1_all(pickle: Path) -> dict:
    """Table 1's `all` row of a word-level pickle (syntax_analysis.py, heads chosen on the same data)."""
    outdir = pickle.with_suffix("")
    run("syntax_analysis.py", "--attn-data-file", str(pickle), "--outdir", str(outdir), "--no-html")
    table = json.loads((outdir / "syntax.json").read_text())["table"]
    return next(row for row in table if row["relation"] == "all")


def read(pickle: Path) -> list[dict]:
    """The examples of a pickle that have maps."""
    return [example for example in read_examples(pickle) if "attns" in example]


def main() -> None:
    """Extract, measure and print the findings as Markdown."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--wikipedia", type=int, default=100, help="128-token Wikipedia segments")
    parser.add_argument("--ewt", type=int, default=0, help="UD EWT dev sentences (0: all)")
    parser.add_argument("--outdir", type=Path, default=ROOT / "out" / "mixing_findings")
    args = parser.parse_args()
    pickles = extract(prepare(args.outdir, args.wikipedia, args.ewt))
    findings = {}
    for data in ("wikipedia", "ewt"):
        examples = {kind: read(pickles[data, kind]) for kind in MEASURES}
        print(f"\n{data}: {len(examples['attn'])} examples. Share of a row to [CLS] / [SEP] / itself, per layer")
        print("| measure | " + " | ".join(f"layer {i + 1}" for i in range(layer_maps(examples["attn"][0]).shape[0]))
              + " |")
        findings[data] = {"shares": {}, "spearman": {}}
        for kind, name in MEASURES.items():
            measured = shares(examples[kind])
            findings[data]["shares"][kind] = {key: value.tolist() for key, value in measured.items()}
            cells = [f"{c:.2f} / {s:.2f} / {t:.2f}" for c, s, t in zip(*measured.values(), strict=True)]
            print(f"| {name} | " + " | ".join(cells) + " |")
        print(f"\n{data}: Spearman correlation of rows")
        for first, second in itertools.combinations(MEASURES, 2):
            value = agreement(examples[first], examples[second])
            findings[data]["spearman"][f"{first} vs {second}"] = value
            print(f"| {MEASURES[first]} | {MEASURES[second]} | {value:.2f} |")
    print("\nUD EWT dev: Table 1, all relations")
    findings["table1_all"] = {}
    for kind, name in MEASURES.items():
        row = table1_all(pickles["ewt", kind])
        findings["table1_all"][kind] = row
        print(f"| {name} | {row['layer'] + 1}-{row['head'] + 1} | {100 * row['accuracy']:.1f} | "
              f"{row['baseline_offset']:+d}: {100 * row['baseline_accuracy']:.1f} |")
    (args.outdir / "findings.json").write_text(json.dumps(findings, indent=1))


if __name__ == "__main__":
    main()
