"""Jensen-Shannon distances between all pairs of attention heads (docs/definitions.md, "Head distances").

For smoothed rows p = 0.999 a + 0.001 / n and q of heads h and g, with s = p + q and m = s / 2,

    JS(p, q) = (sum p log p + sum q log q) / 2 - sum m log m
             = (sum p log p + sum q log q - sum s log s + log 2 * (sum p + sum q)) / 2.

The sums of p log p and of p are taken once per head; only sum s log s is evaluated per pair of heads, over all
rows and keys at once. It is evaluated in float64: float32 logarithms miss the 1e-6 relative target, by orders of
magnitude for heads whose rows are alike, because JS is a small difference of large sums. NumPy takes the sums
and logarithms in separate passes over memory, with a float64 logarithm that uses no vector instructions on CPUs
without AVX-512; a numba kernel with a logarithm of its own, as exact as NumPy's but vectorizable, does all pairs
in one pass on all cores, about 6 times faster.
"""

from pathlib import Path

import numpy as np
from numba import njit, prange

from analysis.engines import maps
from analysis.heads import HeadGrid
from analysis.kernels import FASTMATH, log64


@njit(parallel=True, fastmath=FASTMATH, cache=True)
def _xlogx_pair_sums(probs: np.ndarray, first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Sum over all cells of s log s with s = probs[first[i]] + probs[second[i]], for every pair i: `[pairs]`."""
    sums = np.empty(len(first))
    for pair in prange(len(first)):
        p, q = probs[first[pair]], probs[second[pair]]
        total = 0.0
        for cell in range(len(p)):
            s = p[cell] + q[cell]
            total += s * log64(s)
        sums[pair] = total
    return sums


def smoothed_rows(attention_maps: np.ndarray) -> np.ndarray:
    """p = 0.999 a + 0.001 / n for maps `[layers, heads, n, n]`, as float64 `[layers * heads, n * n]`."""
    n_layers, n_heads, n, _ = attention_maps.shape
    return 0.999 * attention_maps.reshape(n_layers * n_heads, n * n).astype(np.float64) + 0.001 / n


def _example_sums(attention_maps: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sums of p log p `[N]`, of p `[N]` and of s log s `[N (N - 1) / 2]` (pairs h < g, row-major) of one example."""
    probs = smoothed_rows(attention_maps)
    first, second = np.triu_indices(len(probs), 1)
    return np.einsum("ij,ij->i", probs, np.log(probs)), probs.sum(axis=1), _xlogx_pair_sums(probs, first, second)


def _example_sums_keras(attention_maps: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The sums of `_example_sums`, computed with keras.ops on the backend's device (a GPU when present)."""
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

    def __init__(self, grid: HeadGrid, use_keras: bool = False):
        self.grid = HeadGrid(*grid)
        n_total_heads = self.grid.size
        self.n_examples = 0
        self.n_rows = 0
        self.plogp_sums = np.zeros(n_total_heads)
        self.prob_sums = np.zeros(n_total_heads)
        self.pair_sums = np.zeros(n_total_heads * (n_total_heads - 1) // 2)
        self._example_sums = _example_sums_keras if use_keras else _example_sums

    def add(self, index: int, example: dict, attention_maps: np.ndarray) -> None:
        """Add one example of attention data (checked by maps.iter_attention)."""
        self.update(attention_maps)

    def update(self, attention_maps: np.ndarray) -> None:
        """Add one example's maps `[layers, heads, n, n]` of this grid."""
        plogp_sums, prob_sums, pair_sums = self._example_sums(attention_maps)
        self.plogp_sums += plogp_sums
        self.prob_sums += prob_sums
        self.pair_sums += pair_sums
        self.n_examples += 1
        self.n_rows += attention_maps.shape[2]

    def merge(self, later: "HeadDistances") -> None:
        """Add the sums and counts of `later`, of the same grid (either side may be empty)."""
        if later.grid != self.grid:
            raise ValueError(f"a partial of {later.grid} heads after {self.grid}")
        self.plogp_sums += later.plogp_sums
        self.prob_sums += later.prob_sums
        self.pair_sums += later.pair_sums
        self.n_examples += later.n_examples
        self.n_rows += later.n_rows

    def state(self) -> dict:
        """The partial as plain data: grid, counts and the float64 sums `[N]`, `[N]`, `[N (N - 1) / 2]`."""
        sums = {name: getattr(self, name).copy() for name in ("plogp_sums", "prob_sums", "pair_sums")}
        return {"grid": tuple(self.grid), "n_examples": self.n_examples, "n_rows": self.n_rows, **sums}

    @classmethod
    def from_state(cls, state: dict, use_keras: bool = False) -> "HeadDistances":
        """The accumulator back from `state()`; `use_keras` chooses how further examples are summed."""
        distances = cls(HeadGrid(*state["grid"]), use_keras)
        distances.n_examples, distances.n_rows = int(state["n_examples"]), int(state["n_rows"])
        for name in ("plogp_sums", "prob_sums", "pair_sums"):
            getattr(distances, name)[:] = state[name]
        return distances

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
    data = maps.open_attention(attention_path)
    distances = HeadDistances(data.grid, use_keras)
    maps.feed(data, [distances], "head distances")
    return distances


def head_distances(attention_path: str | Path, use_keras: bool = False) -> np.ndarray:
    """Jensen-Shannon distances of all head pairs over an attention pickle or shard directory: float64 `[N, N]`."""
    return accumulate(attention_path, use_keras).result()
