"""Coreference chain on GUM: how long preprocess_coref.py and coref_analysis.py take, and whether the analysis's
memory stays flat as the number of windows grows (it keeps counts only, reading a shard directory shard by shard).

    .venv/bin/python bench/coref_bench.py            # needs the GUM data with coreference (see the README)

Preprocessing runs on GUM train (127 documents). The analysis runs on word-level maps of GUM dev made with the
embedded model, written as shard directories holding dev's windows 1, 4 and 16 times over, each in a child process
whose peak resident memory is read from the kernel.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import utils

ROOT = Path(__file__).resolve().parents[1]
GUM = ROOT.parent / "shared" / "data" / "gum-coref"
SHARD_SIZE = 64


def run_child(*arguments: str) -> tuple[float, float]:
    """Run a project script in a child process: (wall seconds, peak RSS in MiB)."""
    command = [sys.executable, *arguments]
    start = time.perf_counter()
    child = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{' '.join(command)} failed")
    return time.perf_counter() - start, usage.ru_maxrss / 1024


def repeated_shards(windows: list[dict], copies: int, directory: Path) -> Path:
    """A complete shard directory holding `windows` `copies` times over, SHARD_SIZE windows a shard."""
    writer = utils.ShardWriter(directory, fingerprint="bench")
    repeated = windows * copies
    for start in range(0, len(repeated), SHARD_SIZE):
        writer.write_shard(repeated[start:start + SHARD_SIZE])
    writer.finish()
    return directory


def main() -> None:
    """Time preprocessing and the analysis; print peak memory against the number of windows."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, nargs="+", default=[1, 4, 16], help="dev repetitions (default 1 4 16)")
    args = parser.parse_args()
    if not GUM.is_dir():
        sys.exit(f"{GUM} not found: this benchmark needs the shared GUM data")
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        seconds, memory = run_child("preprocess_coref.py", "--data-file", str(GUM / "train.conllu"),
                                    "--outfile", str(scratch / "train.json"))
        print(f"preprocess_coref.py on GUM train (127 documents): {seconds:.1f} s, peak {memory:.0f} MiB")
        run_child("preprocess_coref.py", "--data-file", str(GUM / "dev.conllu"), "--outfile", str(scratch / "dev.json"))
        seconds, memory = run_child("extract_attention.py", "--preprocessed-data-file", str(scratch / "dev.json"),
                                    "--word_level", "--outfile", str(scratch / "dev_attn.pkl"))
        print(f"extract_attention.py --word_level on GUM dev: {seconds:.1f} s, peak {memory:.0f} MiB")
        windows = utils.read_examples(scratch / "dev_attn.pkl")
        print(f"coref_analysis.py on GUM dev's {len(windows)} windows repeated, as shard directories of "
              f"{SHARD_SIZE} windows:")
        print("| windows | wall seconds | peak memory, MiB |\n| ---: | ---: | ---: |")
        for copies in args.copies:
            shards = repeated_shards(windows, copies, scratch / f"shards_{copies}")
            seconds, memory = run_child("coref_analysis.py", "--attn-data-file", str(shards),
                                        "--outdir", str(scratch / f"out_{copies}"))
            print(f"| {copies * len(windows)} | {seconds:.1f} | {memory:.0f} |")


if __name__ == "__main__":
    main()
