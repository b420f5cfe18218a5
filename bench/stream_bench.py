"""Streaming analysis against extraction alone, peak memory against corpus size, and Ray against one process.

1. Throughput, side by side on the same Wikipedia segments with the embedded model: extraction alone (the maps
   made and dropped, as `extract_attention.py` makes them) against streaming (the same extraction plus the general
   statistics, Figure 1's example, the head view's examples and the head distances, partials written per shard).
   Runs alternate and the fastest of each counts; the target is streaming >= 90% of extraction's throughput.
2. Peak memory (max RSS) of `analyze_corpus.py` runs, each in its own process, on 500 and 5,000 segments: the
   target is a flat peak (maps are never kept). The text is repeated when the sample gives fewer segments.
3. Ray: `analyze_corpus.py --engine ray --workers 2` on a local cluster against `--engine local`, and where Ray's
   time goes (cluster start-up, the workers' compute summed over both, the rest: actor start-up with model
   loading, serialisation and scheduling).

Run from the repository root (needs the shared data):
    .venv/bin/python bench/stream_bench.py [--segments 400] [--rounds 2] [--memory 500 5000] [--skip-ray]
"""

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from extract_bench import wikipedia_segments  # bench/ is the script's directory
from tqdm import tqdm

from analysis.general_report import GeneralAnalysis
from analysis.heads import HeadGrid
from analysis.options import GeneralOptions
from analysis.streaming import ModelSettings, PartialStore, ShardAnalyzer, cut_shards, run_local
from bert.checkpoint import read_config, resolve_bert_dir
from bert.extraction import prepare_example
from bert.tokenization import FullTokenizer

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
# runs the script given after it, then prints its process's peak RSS (KiB) on stderr
PEAK_RSS = ("import resource, runpy, sys\nsys.argv = sys.argv[1:]\ntry:\n    runpy.run_path(sys.argv[0], "
            "run_name='__main__')\nfinally:\n    print('PEAK_KIB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "
            "file=sys.stderr)\n")


def throughput(segments: list[dict], bert_dir: Path, rounds: int) -> dict[str, float]:
    """Examples per second of extraction alone and of streaming (fastest of `rounds` alternating runs each)."""
    tokenizer = FullTokenizer(bert_dir / "vocab.txt")
    prepared = [prepare_example(example, tokenizer, Path("bench"), index, 128, False)
                for index, example in enumerate(segments)]
    config = read_config(bert_dir)
    analysis = GeneralAnalysis(GeneralOptions(), HeadGrid(config.num_hidden_layers, config.num_attention_heads),
                               "bench", distance_examples=len(segments))
    analyzer = ShardAnalyzer(ModelSettings(str(bert_dir)), analysis, "bench")
    shards = list(cut_shards(segments, prepared, 256))
    best = {"extraction": float("inf"), "streaming": float("inf")}
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in analyzer.extractor.output_chunks(segments, prepared, 0, 256, "mean", tqdm(disable=True)):
            pass
        best["extraction"] = min(best["extraction"], time.perf_counter() - start)
        with tempfile.TemporaryDirectory() as scratch:
            store = PartialStore(scratch, "bench", len(shards))
            start = time.perf_counter()
            run_local(analyzer, shards, store, tqdm(disable=True))
            best["streaming"] = min(best["streaming"], time.perf_counter() - start)
            store.close()
    return {name: len(segments) / seconds for name, seconds in best.items()}


def corpus_text(directory: Path, copies: int) -> Path:
    """The Wikipedia sample repeated `copies` times, as one raw-text file."""
    text = (SHARED_DATA / "wikipedia-sample" / "unlabeled.txt").read_text(encoding="utf-8").rstrip("\n")
    path = directory / f"wikipedia_x{copies}.txt"
    path.write_text("\n\n".join([text] * copies) + "\n", encoding="utf-8")
    return path


def analyze_corpus(data_file: Path, outdir: Path, *options: str) -> tuple[float, int, str]:
    """(seconds, peak RSS in MiB, stderr) of one analyze_corpus.py run in its own process."""
    command = [sys.executable, "-c", PEAK_RSS, str(ROOT / "analyze_corpus.py"), "--data-file", str(data_file),
               "--outdir", str(outdir), "--no-html", *options]
    start = time.perf_counter()
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"analyze_corpus.py failed:\n{result.stderr[-2000:]}")
    peak = next(int(line.split()[1]) for line in result.stderr.splitlines() if line.startswith("PEAK_KIB"))
    return seconds, peak // 1024, result.stderr


def main() -> None:
    """Measure and print the three tables."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--segments", type=int, default=400, help="segments of the throughput comparison")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--memory", type=int, nargs="*", default=[500, 5000], help="corpus sizes of the memory runs")
    parser.add_argument("--ray-segments", type=int, default=400)
    parser.add_argument("--skip-ray", action="store_true")
    args = parser.parse_args()
    bert_dir = resolve_bert_dir(None)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs; model: embedded MiniLM "
          "(6 x 12 heads); Wikipedia sample, 128-token segments\n")

    rates = throughput(wikipedia_segments(args.segments, bert_dir), bert_dir, args.rounds)
    print(f"| {args.segments} segments | examples/s |\n|---|---:|")
    print(f"| extraction alone | {rates['extraction']:.1f} |\n| streaming (extraction + general + head distances) | "
          f"{rates['streaming']:.1f} |")
    print(f"\nstreaming / extraction: {100 * rates['streaming'] / rates['extraction']:.0f}% (target >= 90%)\n")

    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        text = corpus_text(scratch, copies=2)
        if args.memory:
            print("| segments | seconds | peak RSS (MiB) |\n|---:|---:|---:|")
        for size in args.memory:
            seconds, peak, _ = analyze_corpus(text, scratch / f"memory_{size}", "--num-docs", str(size))
            print(f"| {size} | {seconds:.0f} | {peak} |")
        if not args.skip_ray:
            options = ("--num-docs", str(args.ray_segments))
            local_seconds, _, _ = analyze_corpus(text, scratch / "local", *options)
            ray_seconds, _, stderr = analyze_corpus(text, scratch / "ray", *options, "--engine", "ray",
                                                    "--workers", "2")
            print(f"\n| {args.ray_segments} segments, whole command | seconds | examples/s |\n|---|---:|---:|")
            print(f"| --engine local (1 process) | {local_seconds:.0f} | {args.ray_segments / local_seconds:.1f} |")
            print(f"| --engine ray --workers 2 | {ray_seconds:.0f} | {args.ray_segments / ray_seconds:.1f} |")
            print("\n" + next(line for line in stderr.splitlines() if line.startswith("ray:")))


if __name__ == "__main__":
    main()
