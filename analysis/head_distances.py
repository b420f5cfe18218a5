"""Jensen-Shannon distances between all pairs of attention heads (DESIGN.md section 4, "Head distance").

For smoothed rows p = 0.999 a + 0.001 / n and q of heads h and g, with s = p + q and m = s / 2,

    JS(p, q) = (sum p log p + sum q log q) / 2 - sum m log m
             = (sum p log p + sum q log q - sum s log s + log 2 * (sum p + sum q)) / 2.

The sums of p log p and of p are taken once per head; only sum s log s is evaluated per pair of heads,
vectorized over all rows and keys and over a block of partner heads at once, on all the CPU's cores. It is
evaluated in float64: float32 logarithms miss the 1e-6 relative target, by orders of magnitude for heads whose
rows are alike, because JS is a small difference of large sums.
"""

import os
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

import numpy as np
from tqdm import tqdm

import utils

# float64 values in one block of partner heads: 512 KiB, so a block and its logarithms stay in a core's cache.
_BLOCK_VALUES = 1 << 16


def smoothed_rows(attention_maps: np.ndarray) -> np.ndarray:
    """p = 0.999 a + 0.001 / n for maps `[layers, heads, n, n]`, as float64 `[layers * heads, n * n]`."""
    n_layers, n_heads, n, _ = attention_maps.shape
    return 0.999 * attention_maps.reshape(n_layers * n_heads, n * n).astype(np.float64) + 0.001 / n


def _check_distributions(attention_maps: np.ndarray) -> None:
    """ValueError unless every row of `attention_maps` `[layers, heads, n, n]` is a probability distribution."""
    if not np.issubdtype(attention_maps.dtype, np.floating):
        raise ValueError(f"expected floating-point attention weights, got {attention_maps.dtype}")
    row_sums = attention_maps.sum(axis=-1, dtype=np.float64)
    if not (row_sums.size and np.isfinite(row_sums).all() and np.all(attention_maps >= 0)):
        raise ValueError("expected rows that are probability distributions, got empty, negative or non-finite rows")
    if np.abs(row_sums - 1).max() > 0.01:
        worst = row_sums.flat[np.abs(row_sums - 1).argmax()]
        raise ValueError(f"expected rows that sum to 1, got a row summing to {worst:.4g}")


def _xlogx_sums_after(probs: np.ndarray, head: int) -> np.ndarray:
    """Sum over all cells of s log s with s = probs[head] + probs[g], for every g > head: `[N - head - 1]`."""
    partners = probs[head + 1 :]
    sums = np.empty(len(partners))
    block = max(1, _BLOCK_VALUES // probs.shape[1])
    # einsum rather than the BLAS-backed vecdot: OpenBLAS threads spin when called from several threads at once.
    for start in range(0, len(partners), block):
        mixture = partners[start : start + block] + probs[head]
        sums[start : start + block] = np.einsum("ij,ij->i", mixture, np.log(mixture))
    return sums


def _example_sums_numpy(attention_maps: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sums of p log p `[N]`, of p `[N]` and of s log s `[N (N - 1) / 2]` (pairs h < g, row-major) of one example."""
    probs = smoothed_rows(attention_maps)
    with ThreadPoolExecutor(os.cpu_count()) as pool:
        pair_sums = np.concatenate(list(pool.map(partial(_xlogx_sums_after, probs), range(len(probs)))))
    return np.einsum("ij,ij->i", probs, np.log(probs)), probs.sum(axis=1), pair_sums


def _example_sums_keras(attention_maps: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The sums of `_example_sums_numpy`, computed with keras.ops on the backend's device (a GPU when present)."""
    import keras
    from keras import ops

    n_layers, n_heads, n, _ = attention_maps.shape
    maps = ops.reshape(ops.convert_to_tensor(attention_maps), (n_layers * n_heads, n * n))
    probs = 0.999 * ops.cast(maps, "float64") + 0.001 / n
    if keras.backend.standardize_dtype(probs.dtype) != "float64":
        raise RuntimeError("the Keras backend does not compute in float64 (with JAX, set JAX_ENABLE_X64=1)")
    pair_sums = []
    for head in range(n_layers * n_heads):
        mixture = probs[head + 1 :] + probs[head]
        pair_sums.append(ops.sum(mixture * ops.log(mixture), axis=1))
    sums = (ops.sum(probs * ops.log(probs), axis=1), ops.sum(probs, axis=1), ops.concatenate(pair_sums))
    return tuple(ops.convert_to_numpy(values) for values in sums)


class HeadDistances:
    """Float64 running sums over examples, from which the mean Jensen-Shannon divergence of every head pair follows."""

    def __init__(self, grid: tuple[int, int], use_keras: bool = False):
        n_total_heads = grid[0] * grid[1]
        self.grid = tuple(grid)
        self.n_examples = 0
        self.n_rows = 0
        self.plogp_sums = np.zeros(n_total_heads)
        self.prob_sums = np.zeros(n_total_heads)
        self.pair_sums = np.zeros(n_total_heads * (n_total_heads - 1) // 2)
        self._example_sums = _example_sums_keras if use_keras else _example_sums_numpy

    def add(self, attention_maps: np.ndarray) -> None:
        """Add one example's maps `[layers, heads, n, n]`; ValueError for another grid or rows not distributions."""
        if attention_maps.shape[:2] != self.grid:
            grid = " x ".join(map(str, attention_maps.shape[:2]))
            raise ValueError(f"maps of {grid} heads, but earlier examples have {self.grid[0]} x {self.grid[1]}")
        _check_distributions(attention_maps)
        plogp_sums, prob_sums, pair_sums = self._example_sums(attention_maps)
        self.plogp_sums += plogp_sums
        self.prob_sums += prob_sums
        self.pair_sums += pair_sums
        self.n_examples += 1
        self.n_rows += attention_maps.shape[2]

    def result(self) -> np.ndarray:
        """Mean JS divergence (nats) over all query rows of all examples: float64 `[N, N]`, symmetric, zero diagonal."""
        first, second = np.triu_indices(len(self.plogp_sums), 1)
        js_sums = (
            self.plogp_sums[first]
            + self.plogp_sums[second]
            - self.pair_sums
            + np.log(2) * (self.prob_sums[first] + self.prob_sums[second])
        ) / 2
        distances = np.zeros((len(self.plogp_sums),) * 2)
        # JS >= 0; rounding can leave about -1e-16 for heads with identical maps.
        distances[first, second] = distances[second, first] = np.maximum(js_sums, 0) / self.n_rows
        return distances


def accumulate(attention_path: str | Path, use_keras: bool = False) -> HeadDistances:
    """Stream the examples with maps of an attention pickle or shard directory into a HeadDistances.

    Shows a progress bar; bad input is an InputError naming the file and, where it applies, the example and field.
    """
    distances = None
    examples = tqdm(utils.iter_attention(attention_path), desc="head distances", unit=" examples", delay=1)
    with examples:
        for index, _, attention_maps in examples:
            if distances is None:
                distances = HeadDistances(attention_maps.shape[:2], use_keras)
            try:
                distances.add(attention_maps)
            except ValueError as error:
                raise utils.example_error(attention_path, index, "attns", str(error)) from None
    if distances is None:
        raise utils.InputError(f"{attention_path}: no example has attention maps (field 'attns')")
    return distances


def head_distances(attention_path: str | Path, use_keras: bool = False) -> np.ndarray:
    """Jensen-Shannon distances of all head pairs over an attention pickle or shard directory: float64 `[N, N]`."""
    return accumulate(attention_path, use_keras).result()
