"""Benchmark of head_distances: the original per-pair float16 loop against ours, and our peak memory.

    python bench/head_distances_bench.py [--examples 3] [--original-rows 2]

On random 12 x 12-head, 128-token maps (rows are softmaxes of random logits, some very peaked, stored
float16) it times
- the original algorithm, re-implemented from its description: for every example, for each of the N heads
  h1 and each of the N heads h2, the Jensen-Shannon divergence of their rows on the float16 maps with plain
  numpy. It needs about a minute per example, so it is timed on the pairs of a few heads h1 (all h2) and
  extrapolated to all N * N pairs;
- ours (analysis.general.head_distances.HeadDistances.update) on whole examples;
and checks both against a float64 evaluation of docs/definitions.md on the timed pairs. Then it runs
head_distances.py in child processes over shard directories of 1x and 4x as many examples and reports each
child's peak resident memory (ru_maxrss), which must not grow with the number of examples.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import utils
from analysis.general.head_distances import HeadDistances

ROOT = Path(__file__).resolve().parents[1]

GRID = (12, 12)
LENGTH = 128


def random_maps(rng: np.random.Generator) -> np.ndarray:
    """float16 maps `[12, 12, 128, 128]`: rows are softmaxes of random logits of varied sharpness."""
    logits = rng.normal(size=(*GRID, LENGTH, LENGTH)) * rng.choice([0.5, 2.0, 8.0, 40.0], size=(*GRID, LENGTH, 1))
    weights = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return (weights / weights.sum(axis=-1, keepdims=True)).astype(np.float16)


def original_pair_sum(p: np.ndarray, q: np.ndarray) -> np.float16:
    """The original's per-pair step: JS of smoothed float16 rows `[n, n]`, summed over the rows, all in float16."""
    m = (p + q) / 2
    return np.sum(np.sum(p * np.log(p / m), axis=-1) / 2 + np.sum(q * np.log(q / m), axis=-1) / 2)


def float64_pair_mean(a: np.ndarray, b: np.ndarray) -> float:
    """docs/definitions.md for one pair of heads of one example, in float64: the mean over rows of JS."""
    p, q = (0.999 * x.astype(np.float64) + 0.001 / LENGTH for x in (a, b))
    m = (p + q) / 2
    return float(np.mean(np.sum(p * np.log(p / m), axis=-1) / 2 + np.sum(q * np.log(q / m), axis=-1) / 2))


def max_relative_error(means: dict[tuple[int, int], float], heads: np.ndarray) -> float:
    """Largest relative error of per-pair mean JS values against float64_pair_mean, over pairs of distinct heads."""
    errors = []
    for (h1, h2), value in means.items():
        if h1 != h2:
            expected = float64_pair_mean(heads[h1], heads[h2])
            errors.append(abs(float(value) - expected) / expected)
    return max(errors)


def time_original(attention_maps: np.ndarray, first_heads: list[int]) -> tuple[float, float, float]:
    """Wall and CPU seconds per pair of the original loop over pairs (h1 in first_heads, every h2); max rel. error."""
    heads = attention_maps.reshape(GRID[0] * GRID[1], LENGTH, LENGTH)
    smoothed = 0.999 * heads + np.float16(0.001 / LENGTH)
    values = {}
    wall, cpu = time.perf_counter(), time.process_time()
    for h1 in first_heads:
        for h2 in range(len(heads)):
            values[h1, h2] = original_pair_sum(smoothed[h1], smoothed[h2])
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    means = {pair: value / LENGTH for pair, value in values.items()}
    return wall / len(values), cpu / len(values), max_relative_error(means, heads)


def time_ours(examples: list[np.ndarray], first_heads: list[int]) -> tuple[float, float, float]:
    """Median wall and CPU seconds per example of HeadDistances.update; max rel. error on the last one's pairs.

    A first call on a small example beforehand loads (or compiles) the numba kernel.
    """
    HeadDistances((1, 2)).update(np.full((1, 2, 4, 4), 0.25))
    walls, cpus = [], []
    for attention_maps in examples:
        distances = HeadDistances(GRID)
        wall, cpu = time.perf_counter(), time.process_time()
        distances.update(attention_maps)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    heads = examples[-1].reshape(GRID[0] * GRID[1], LENGTH, LENGTH)
    result = distances.result()
    means = {(h1, h2): result[h1, h2] for h1 in first_heads for h2 in range(len(heads))}
    return float(np.median(walls)), float(np.median(cpus)), max_relative_error(means, heads)


def peak_memory_mib(shard_directory: Path, outfile: Path) -> tuple[float, float]:
    """Run head_distances.py over a shard directory in a child process: (its peak RSS in MiB, wall seconds)."""
    command = [sys.executable, "head_distances.py", "--attn-data-file", str(shard_directory), "--outfile", str(outfile)]
    start = time.perf_counter()
    child = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} exited with status {child.returncode}")
    return usage.ru_maxrss / 1024, time.perf_counter() - start


def write_shards(directory: Path, rng: np.random.Generator, n_examples: int, per_shard: int) -> None:
    """A complete shard directory of `n_examples` random examples, `per_shard` to a shard."""
    writer = utils.ShardWriter(directory, fingerprint="bench")
    for _ in range(n_examples // per_shard):
        writer.write_shard([{"tokens": ["tok"] * LENGTH, "attns": random_maps(rng)} for _ in range(per_shard)])
    writer.finish()


def main() -> None:
    """Time both algorithms, measure peak memory, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=3, help="examples timed for ours (default 3)")
    parser.add_argument(
        "--original-rows",
        "--original_rows",
        type=int,
        default=2,
        help="heads h1 whose N pairs time the original (default 2)",
    )
    parser.add_argument(
        "--memory-examples",
        "--memory_examples",
        type=int,
        default=4,
        help="examples of the smaller shard directory (default 4; the larger has 4x)",
    )
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    n_total_heads = GRID[0] * GRID[1]
    examples = [random_maps(rng) for _ in range(args.examples)]
    first_heads = sorted(rng.choice(n_total_heads, size=args.original_rows, replace=False).tolist())
    print(
        f"{GRID[0]} x {GRID[1]} = {n_total_heads} heads, {LENGTH}-token examples; {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.1f} at start"
    )

    original_wall, original_cpu, original_error = time_original(examples[0], first_heads)
    ours_wall, ours_cpu, ours_error = time_ours(examples, first_heads)
    pairs = n_total_heads * n_total_heads
    original_wall, original_cpu = original_wall * pairs, original_cpu * pairs
    print()
    print(f"{'':44s} {'wall s/example':>15s} {'CPU s/example':>14s} {'max rel. error':>15s}")
    print(
        f"{'original (float16, all N*N pairs) [1]':44s} {original_wall:15.2f} {original_cpu:14.2f} "
        f"{original_error:15.1e}"
    )
    ours = f"ours (float64, N(N-1)/2 pairs, {os.cpu_count()} threads)"
    print(f"{ours:44s} {ours_wall:15.3f} {ours_cpu:14.3f} {ours_error:15.1e}")
    speed_up = "speed-up, original / ours (target: 200x)"
    print(f"{speed_up:44s} {original_wall / ours_wall:14.0f}x {original_cpu / ours_cpu:13.0f}x")
    print(
        f"[1] timed on the {args.original_rows * n_total_heads} pairs (h1 in {first_heads} 0-based, every h2) of "
        f"one example and extrapolated to its {pairs} pairs; ours: median of {args.examples} whole examples."
    )
    print("    Errors: relative to a float64 evaluation of docs/definitions.md, over the same pairs.")

    with tempfile.TemporaryDirectory() as scratch:
        rows = []
        for n_examples in (args.memory_examples, 4 * args.memory_examples):
            directory = Path(scratch) / f"shards-{n_examples}"
            write_shards(directory, rng, n_examples, per_shard=2)
            rows.append((n_examples, *peak_memory_mib(directory, Path(scratch) / f"distances-{n_examples}.pkl")))
    print()
    print(
        f"head_distances.py in a child process over a shard directory (shards of 2 examples; "
        f"{examples[0].nbytes / 2**20:.1f} MiB of maps an example):"
    )
    print(f"{'examples':>9s} {'peak RSS MiB':>13s} {'wall s':>8s}")
    for n_examples, peak, wall in rows:
        print(f"{n_examples:9d} {peak:13.1f} {wall:8.1f}")
    print(f"peak RSS ratio ({rows[1][0]} / {rows[0][0]} examples): {rows[1][1] / rows[0][1]:.2f}")


if __name__ == "__main__":
    main()
