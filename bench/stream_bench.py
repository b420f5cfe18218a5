"""Streaming analysis against extraction alone, peak memory against corpus size, Ray against one process, and what a
BERT-base run costs.

1. Throughput, side by side on the same Wikipedia segments with the embedded model: extraction alone (the maps
   made and dropped, as `extract_attention.py` makes them) against streaming (the same extraction plus the general
   statistics, Figure 1's example and the head view's examples, partials written per shard), without and with the
   head distances of every example. Runs alternate and the fastest of each counts; the target is streaming >= 90%
   of extraction's throughput.
2. Peak memory (max RSS) of `analyze_corpus.py` runs, each in its own process, on 500 and 5,000 segments: the
   target is a flat peak (maps are never kept). The text is repeated when the sample gives fewer segments.
3. Ray: `analyze_corpus.py --engine ray --workers 2` on a local cluster against `--engine local`, and where Ray's
   time goes (cluster start-up, the workers' compute summed over both, the rest: actor start-up with model
   loading, serialisation and scheduling).
4. BERT-base (random weights of its size, Hugging Face format): the same throughputs, the peak memory of one
   worker, and the bytes a shard moves (its examples in, its partial states out), then what 100,000 segments
   would cost, as an estimate with its assumptions.

Run from the repository root (needs the shared data):
    .venv/bin/python bench/stream_bench.py [--segments 400] [--rounds 2] [--memory 500 5000] [--skip-ray]
"""

import argparse
import os
import pickle
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from extract_bench import (  # bench/: the script's folder
    prepare_all,
    random_hugging_face_checkpoint,
    timed_extraction,
    wikipedia_segments,
)
from tqdm import tqdm

from analysis.engines.streaming import ModelSettings, PartialStore, Shard, ShardAnalyzer, cut_shards, run_local
from analysis.general.pipeline import GeneralAnalysis
from analysis.heads import HeadGrid
from analysis.options import GeneralOptions
from bert.checkpoint import embedded_model_dir, open_tokenizer, read_config

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
# runs the script given after it, then prints its process's peak RSS (KiB) on stderr
PEAK_RSS = ("import resource, runpy, sys\nsys.argv = sys.argv[1:]\ntry:\n    runpy.run_path(sys.argv[0], "
            "run_name='__main__')\nfinally:\n    print('PEAK_KIB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "
            "file=sys.stderr)\n")


def throughput(segments: list[dict], bert_dir: Path, rounds: int) -> dict[str, float]:
    """Examples per second of extraction alone and of streaming without and with head distances (fastest of
    `rounds` alternating runs each), and the bytes of one shard's examples pickled and of its partial states."""
    tokenizer = open_tokenizer(bert_dir)
    prepared = prepare_all(segments, tokenizer, max_length=128)
    config = read_config(bert_dir)
    grid = HeadGrid(config.num_hidden_layers, config.num_attention_heads)
    analyses = {"streaming": GeneralAnalysis(GeneralOptions(), grid, "bench"),
                "streaming + head distances": GeneralAnalysis(GeneralOptions(), grid, "bench",
                                                              distance_examples=len(segments))}
    for analysis in analyses.values():
        analysis.plan(list(range(len(segments))))
    analyzer = ShardAnalyzer(ModelSettings(str(bert_dir)), analyses["streaming"], "bench")  # one model for all
    shards = list(cut_shards(segments, prepared, 256))
    seconds = {"extraction alone": float("inf"), **{name: float("inf") for name in analyses}}
    for _ in range(rounds):
        seconds["extraction alone"] = min(seconds["extraction alone"],
                                          timed_extraction(analyzer.extractor, segments, prepared))
        for name, analysis in analyses.items():
            analyzer.analysis = analysis
            with tempfile.TemporaryDirectory() as scratch:
                store = PartialStore(scratch, "bench", len(shards))
                start = time.perf_counter()
                run_local(analyzer, shards, store, tqdm(disable=True))
                seconds[name] = min(seconds[name], time.perf_counter() - start)
                store.close()
    rates = {name: len(segments) / elapsed for name, elapsed in seconds.items()}
    later_shard = Shard(1, 10**9, segments[:16], prepared[:16])  # a shard whose examples are never shown
    rates["shard bytes"] = len(pickle.dumps(later_shard, protocol=pickle.HIGHEST_PROTOCOL)) * 256 / 16
    partial = analyzer(later_shard)  # the analysis with head distances ran last
    rates["partial bytes"] = len(pickle.dumps(partial, protocol=pickle.HIGHEST_PROTOCOL))
    return rates


def print_throughput(title: str, rates: dict[str, float]) -> None:
    """The throughput table of one model, with each streaming rate as a share of extraction's."""
    print(f"| {title} | examples/s | of extraction |\n|---|---:|---:|")
    for name in ("extraction alone", "streaming", "streaming + head distances"):
        print(f"| {name} | {rates[name]:.1f} | {100 * rates[name] / rates['extraction alone']:.0f}% |")
    print()


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


def bert_base_estimate(rates: dict[str, float], peak_mib: int, segments: int = 100_000) -> None:
    """What `segments` segments cost with BERT-base on this machine's CPUs, from the measured rates."""
    hours = {name: segments / rates[name] / 3600 for name in ("streaming", "streaming + head distances")}
    distance_hours = 1000 * (1 / rates["streaming + head distances"] - 1 / rates["streaming"]) / 3600
    shards = segments / 256
    moved = shards * (rates["shard bytes"] + rates["partial bytes"]) / 2**20
    print(f"{segments:,} BERT-base segments of 128 tokens, estimated from the rates above: one worker of this "
          f"machine's {os.cpu_count()} CPUs takes {hours['streaming']:.1f} h for the general statistics, plus "
          f"{distance_hours:.2f} h for head distances over the default first 1,000 examples "
          f"({hours['streaming + head distances']:.1f} h with head distances over all); W workers divide that by "
          f"about W. Peak memory {peak_mib} MiB per worker. Bytes moved: {shards:.0f} shards of 256 segments, each "
          f"{rates['shard bytes'] / 2**10:.0f} KiB of examples in and {rates['partial bytes'] / 2**10:.0f} KiB of "
          f"partial states out, {moved:.0f} MiB in all (Figure 1's and the head view's examples, a few MiB, come "
          "from the first shard only). Maps moved: none (the file chain would write 4.7 GB per 1,000 segments).")


def main() -> None:
    """Measure and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--segments", type=int, default=400, help="segments of the MiniLM throughput comparison")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--memory", type=int, nargs="*", default=[500, 5000], help="corpus sizes of the memory runs")
    parser.add_argument("--ray-segments", type=int, default=400)
    parser.add_argument("--skip-ray", action="store_true")
    parser.add_argument("--bert-base-segments", type=int, default=64, help="0 skips the BERT-base part")
    args = parser.parse_args()
    bert_dir = embedded_model_dir()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs; Wikipedia sample, "
          "128-token segments\n")
    print_throughput(f"MiniLM, {args.segments} segments", throughput(wikipedia_segments(args.segments, bert_dir),
                                                                    bert_dir, args.rounds))
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        text = corpus_text(scratch, copies=2)
        if args.memory:
            print("| MiniLM, analyze_corpus.py | seconds | peak RSS (MiB) |\n|---:|---:|---:|")
        for size in args.memory:
            seconds, peak, _ = analyze_corpus(text, scratch / f"memory_{size}", "--num-docs", str(size))
            print(f"| {size} segments | {seconds:.0f} | {peak} |")
        if not args.skip_ray:
            options = ("--num-docs", str(args.ray_segments))
            local_seconds, _, _ = analyze_corpus(text, scratch / "local", *options)
            ray_seconds, _, stderr = analyze_corpus(text, scratch / "ray", *options, "--engine", "ray",
                                                    "--workers", "2")
            print(f"\n| MiniLM, {args.ray_segments} segments, whole command | seconds | examples/s |\n|---|---:|---:|")
            print(f"| --engine local (1 process) | {local_seconds:.0f} | {args.ray_segments / local_seconds:.1f} |")
            print(f"| --engine ray --workers 2 | {ray_seconds:.0f} | {args.ray_segments / ray_seconds:.1f} |")
            print("\n" + next(line for line in stderr.splitlines() if line.startswith("ray:")))
        if args.bert_base_segments:
            base_dir = scratch / "bert-base-random"
            random_hugging_face_checkpoint(base_dir, bert_dir / "vocab.txt")
            segments = wikipedia_segments(args.bert_base_segments, bert_dir)
            print()
            rates = throughput(segments, base_dir, args.rounds)
            print_throughput(f"BERT-base size, random weights, {len(segments)} segments", rates)
            _, peak, _ = analyze_corpus(text, scratch / "bert_base", "--num-docs", str(len(segments)),
                                        "--bert-dir", str(base_dir))
            bert_base_estimate(rates, peak)


if __name__ == "__main__":
    main()
