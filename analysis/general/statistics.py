"""Streaming statistics of what attention heads attend to (docs/definitions.md; paper sections 3.1-3.3).

One pass over the examples, one example in memory at a time, vectorized over layers, heads and
positions; every accumulator is float64 and `[layers, heads]`, whatever the grid.
"""

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numba import njit, prange

import utils
from analysis.engines import maps
from analysis.heads import HeadGrid
from analysis.kernels import FASTMATH, as_float64, log64
from bert.special_tokens import BERT_SPECIAL_TOKENS, SpecialTokens

AVG_ATTN_KEYS = ("cls", "sep", "punct", "self", "next", "prev", "sep_sep", "rest_sep")
PUNCTUATION = (".", ",")
SMOOTHING = 0.0001
SUMMED = (*AVG_ATTN_KEYS, "entropy", "entropy_from_cls")  # the statistics QueryRowSums sums over query rows
SHOWN_TOKENS = 64  # of an input read block by block, the first tokens whose maps Figure 1 and the head view show
SHOWN_OF = "shown_of"  # the field of the stand-in example of those first tokens that gives the input's length


@dataclass
class GeneralStatistics:
    """Means over examples; every array is float64 `[layers, heads]`. `special_tokens`: the strings of the data's
    classifier and separator roles, which the `cls`, `sep`, `sep_sep` and `rest_sep` statistics measure."""

    n_examples: int
    avg_attn: dict[str, np.ndarray]
    entropy: np.ndarray
    entropy_from_cls: np.ndarray
    uniform_entropy: float
    special_tokens: SpecialTokens = BERT_SPECIAL_TOKENS

    @property
    def grid(self) -> HeadGrid:
        """(layers, heads)."""
        return HeadGrid(*self.entropy.shape)

    def to_json(self) -> dict:
        """The statistics as plain lists, under the keys of general.json."""
        n_layers, n_heads = self.grid
        return {
            "n_examples": self.n_examples,
            "n_layers": n_layers,
            "n_heads": n_heads,
            "avg_attn": {key: values.tolist() for key, values in self.avg_attn.items()},
            "entropy": self.entropy.tolist(),
            "entropy_from_cls": self.entropy_from_cls.tolist(),
            "uniform_entropy": self.uniform_entropy,
            "special_tokens": self.special_tokens.record(),
        }


@dataclass
class ShownExample:
    """One example kept for Figure 1: its index in the file, tokens and maps `[layers, heads, n, n]`, and for a long
    input, whose first tokens alone are kept (StreamedExample), its length."""

    index: int
    tokens: list[str]
    attention_maps: np.ndarray
    length: int | None = None


class ExampleKeeper:
    """Keeps one example for Figure 1: the one at `example_index`, or the first one when it is None."""

    def __init__(self, example_index: int | None = None) -> None:
        self.example_index = example_index
        self.shown: ShownExample | None = None

    def add(self, index: int, example: dict, attention_maps: np.ndarray) -> None:
        """Keep this example if it is the one asked for."""
        if self.shown is None and self.example_index in (None, index):
            tokens = maps.example_tokens(example, attention_maps.shape[-1])
            self.shown = ShownExample(index, tokens, attention_maps.astype(np.float32), example.get(SHOWN_OF))

    def result(self, path: str | Path) -> ShownExample:
        """The kept example; InputError when the data had no such example."""
        if self.shown is None:
            raise utils.InputError(f"{path}: example {self.example_index} does not exist or has no attention maps")
        return self.shown

    def merge(self, later: "ExampleKeeper") -> None:
        """Keep this partial's example if it has one, else `later`'s (the earliest wins, as in one pass)."""
        self.shown = self.shown or later.shown

    def state(self) -> dict:
        """The partial as plain data: the index asked for and the kept example (maps float32 `[L, H, n, n]`)."""
        shown = None if self.shown is None else dataclasses.asdict(self.shown)
        return {"example_index": self.example_index, "shown": shown}

    @classmethod
    def from_state(cls, state: dict) -> "ExampleKeeper":
        """The keeper back from `state()`."""
        keeper = cls(state["example_index"])
        keeper.shown = None if state["shown"] is None else ShownExample(**state["shown"])
        return keeper


class StatisticsAccumulator:
    """Sums the per-example statistics of docs/definitions.md; the grid and the strings of the classifier and
    separator roles (`special_tokens`) are fixed by the first example."""

    def __init__(self) -> None:
        self.n_examples = 0
        self.uniform_entropy_sum = 0.0
        self.sums: dict[str, np.ndarray] | None = None
        self.special_tokens: SpecialTokens | None = None

    @property
    def grid(self) -> tuple[int, int] | None:
        """(layers, heads), or None before the first example."""
        return None if self.sums is None else self.sums["entropy"].shape

    def add(self, index: int, example: dict, attention_maps: np.ndarray) -> None:
        """Add one example of attention data (its "tokens" label the maps' rows, its "special_tokens" record names
        the roles: maps.example_roles)."""
        tokens = maps.example_tokens(example, attention_maps.shape[-1])
        self.update(tokens, attention_maps, maps.example_roles(example))

    def update(self, tokens: Sequence[str], attention_maps: np.ndarray,
               special_tokens: SpecialTokens = BERT_SPECIAL_TOKENS) -> None:
        """Add one example: `tokens` of length n, `attention_maps` `[layers, heads, n, n]` (any float dtype), the
        roles' strings `special_tokens` (an ExampleError when they are not the earlier examples')."""
        n = attention_maps.shape[2]
        if len(tokens) != n:
            raise ValueError(f"{len(tokens)} tokens for maps of length {n}")
        maps.agreed_roles(self.special_tokens, special_tokens)
        self.add_statistics(example_statistics(tokens, attention_maps, special_tokens), n, special_tokens)

    def add_statistics(self, statistics: dict[str, np.ndarray], n: int,
                       special_tokens: SpecialTokens = BERT_SPECIAL_TOKENS) -> None:
        """Add one example of n tokens by its statistics (example_statistics, or QueryRowSums for a long input)."""
        roles = maps.agreed_roles(self.special_tokens, special_tokens)
        grid = statistics["entropy"].shape
        if self.sums is None:
            self.sums = {name: np.zeros(grid) for name in SUMMED}
        elif self.grid != grid:
            raise ValueError(f"maps of {grid[0]} x {grid[1]} heads after maps of {self.grid[0]} x {self.grid[1]}")
        for name, values in statistics.items():
            self.sums[name] += values
        self.special_tokens = roles
        self.uniform_entropy_sum += math.log(n)
        self.n_examples += 1

    def merge(self, later: "StatisticsAccumulator") -> None:
        """Add the sums and counts of `later` (either side may be empty); ValueError for another grid or other
        special tokens."""
        if later.sums is None:
            return
        if None not in (self.special_tokens, later.special_tokens) and self.special_tokens != later.special_tokens:
            raise ValueError(f"a partial of special tokens {later.special_tokens.record()} after "
                             f"{self.special_tokens.record()}")
        self.special_tokens = self.special_tokens or later.special_tokens
        if self.sums is None:
            self.sums = {name: np.zeros_like(values) for name, values in later.sums.items()}
        elif self.grid != later.grid:
            raise ValueError(f"a partial of {later.grid[0]} x {later.grid[1]} heads after {self.grid[0]} x "
                             f"{self.grid[1]}")
        for name, values in later.sums.items():
            self.sums[name] += values
        self.uniform_entropy_sum += later.uniform_entropy_sum
        self.n_examples += later.n_examples

    def state(self) -> dict:
        """The partial as plain data: the count, the sum of ln n, the float64 `[layers, heads]` sums and the roles'
        record (both None before the first example)."""
        sums = None if self.sums is None else {name: values.copy() for name, values in self.sums.items()}
        roles = None if self.special_tokens is None else self.special_tokens.record()
        return {"n_examples": self.n_examples, "uniform_entropy_sum": self.uniform_entropy_sum, "sums": sums,
                "special_tokens": roles}

    @classmethod
    def from_state(cls, state: dict) -> "StatisticsAccumulator":
        """The accumulator back from `state()`."""
        accumulator = cls()
        accumulator.n_examples = int(state["n_examples"])
        accumulator.uniform_entropy_sum = float(state["uniform_entropy_sum"])
        if state["sums"] is not None:
            accumulator.sums = {name: np.array(values, np.float64) for name, values in state["sums"].items()}
        if state.get("special_tokens") is not None:
            accumulator.special_tokens = SpecialTokens(**state["special_tokens"])
        return accumulator

    def result(self) -> GeneralStatistics:
        """The means over the examples added so far (at least one)."""
        means = {name: total / self.n_examples for name, total in self.sums.items()}
        return GeneralStatistics(
            n_examples=self.n_examples,
            avg_attn={key: means[key] for key in AVG_ATTN_KEYS},
            entropy=means["entropy"],
            entropy_from_cls=means["entropy_from_cls"],
            uniform_entropy=self.uniform_entropy_sum / self.n_examples,
            special_tokens=self.special_tokens or BERT_SPECIAL_TOKENS,
        )


@njit(parallel=True, fastmath=FASTMATH, cache=True)
def _row_sums(attention_maps: np.ndarray, key_masks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One pass over maps `[N heads, rows, n]` (float32, float64, or float16 as its bits), in float64: each row's
    attention to the keys of each mask of `key_masks` `[3, n]` (classifier, separator, punctuation) `[N, rows, 3]`,
    and each row's entropy after smoothing `[N, rows]`."""
    n_heads, n_rows, n = attention_maps.shape
    to_keys = np.empty((n_heads, n_rows, 3))
    row_entropy = np.empty((n_heads, n_rows))
    keep, spread = 1.0 - SMOOTHING, SMOOTHING / n
    for head in prange(n_heads):
        for row in range(n_rows):
            to_cls = to_sep = to_punct = plogp = 0.0
            for key in range(n):
                weight = as_float64(attention_maps[head, row, key])
                to_cls += weight * key_masks[0, key]
                to_sep += weight * key_masks[1, key]
                to_punct += weight * key_masks[2, key]
                smoothed = keep * weight + spread
                plogp += smoothed * log64(smoothed)
            to_keys[head, row, 0], to_keys[head, row, 1], to_keys[head, row, 2] = to_cls, to_sep, to_punct
            row_entropy[head, row] = -plogp
    return to_keys, row_entropy


class QueryRowSums:
    """One example's statistics (docs/definitions.md) as sums over its query rows, which may come block by block:
    `add` the maps of consecutive rows of some layers, then `statistics` once every row of every layer is in. A long
    input is read this way without its `[L, H, n, n]` maps (Encoder.streamed_maps)."""

    def __init__(self, tokens: Sequence[str], grid: tuple[int, int],
                 special_tokens: SpecialTokens = BERT_SPECIAL_TOKENS) -> None:
        tokens = np.asarray(tokens, dtype=object)
        self.n = len(tokens)
        self.is_sep = tokens == special_tokens.sep
        self.key_masks = np.stack([tokens == special_tokens.cls, self.is_sep,
                                   np.isin(tokens, PUNCTUATION)]).astype(np.float64)
        self.sums = {name: np.zeros(grid) for name in SUMMED}

    def add(self, layers: slice, block: np.ndarray, start: int) -> None:
        """Add the rows `start`.. of the layers `layers`: `block` `[layers, heads, rows, n]` (any float dtype)."""
        n_layers, n_heads, n_rows, n = block.shape
        kernel_maps = block.view(np.uint16) if block.dtype == np.float16 else block
        to_keys, row_entropy = _row_sums(kernel_maps.reshape(n_layers * n_heads, n_rows, n), self.key_masks)
        to_keys = to_keys.reshape(n_layers, n_heads, n_rows, 3)
        row_entropy = row_entropy.reshape(n_layers, n_heads, n_rows)
        is_sep = self.is_sep[start:start + n_rows]

        def diagonal_sum(offset: int) -> np.ndarray:  # A[i, i + offset] over the block's rows i = start + r
            return np.diagonal(block, start + offset, axis1=2, axis2=3).sum(-1, dtype=np.float64)

        sums = {"cls": to_keys[..., 0].sum(-1), "sep": to_keys[..., 1].sum(-1), "punct": to_keys[..., 2].sum(-1),
                "self": diagonal_sum(0), "next": diagonal_sum(1), "prev": diagonal_sum(-1),
                "sep_sep": to_keys[:, :, is_sep, 1].sum(-1), "rest_sep": to_keys[:, :, ~is_sep, 1].sum(-1),
                "entropy": row_entropy.sum(-1)}
        if start == 0:
            sums["entropy_from_cls"] = row_entropy[..., 0]
        for name, values in sums.items():
            self.sums[name][layers] += values

    def statistics(self) -> dict[str, np.ndarray]:
        """Every statistic of the example, each float64 `[layers, heads]`."""
        n_sep = int(self.is_sep.sum())
        divisors = {"sep_sep": max(n_sep, 1), "rest_sep": max(self.n - n_sep, 1), "entropy_from_cls": 1}
        return {name: total / divisors.get(name, self.n) for name, total in self.sums.items()}




class StreamedExample:
    """What the general analysis keeps of an input read block by block of query rows (Encoder.streamed_maps): its
    statistics' row sums, and the attention among its first SHOWN_TOKENS tokens `[layers, heads, k, k]` (float32,
    rows not renormalised) for Figure 1 and the head view."""

    def __init__(self, tokens: Sequence[str], grid: tuple[int, int],
                 special_tokens: SpecialTokens = BERT_SPECIAL_TOKENS) -> None:
        self.row_sums = QueryRowSums(tokens, grid, special_tokens)
        self.shown_tokens = list(tokens[:SHOWN_TOKENS])
        size = len(self.shown_tokens)
        self.shown_maps = np.zeros((*grid, size, size), np.float32)

    def add(self, layer: int, start: int, block: np.ndarray) -> None:
        """Add the rows `start`.. of layer `layer`: `block` `[1, heads, rows, n]`."""
        self.row_sums.add(slice(layer, layer + 1), block, start)
        size = len(self.shown_tokens)
        if start < size:
            stop = min(size, start + block.shape[2])
            self.shown_maps[layer, :, start:stop] = block[0, :, :stop - start, :size]


def example_statistics(tokens: Sequence[str], attention_maps: np.ndarray,
                       special_tokens: SpecialTokens = BERT_SPECIAL_TOKENS) -> dict[str, np.ndarray]:
    """One example's values of every statistic, each float64 `[layers, heads]`.

    `attention_maps` is `[layers, heads, n, n]`, rows are queries; `tokens` has length n. The `cls` statistic is the
    attention to the tokens equal to `special_tokens.cls`; `sep`, `sep_sep` and `rest_sep` are by the tokens equal
    to `special_tokens.sep` (`[CLS]`/`[SEP]` by default, `<s>`/`</s>` for RoBERTa-style data). Computed in float64,
    the sums over keys and the entropies in one pass of a numba kernel.
    """
    row_sums = QueryRowSums(tokens, attention_maps.shape[:2], special_tokens)
    row_sums.add(slice(None), attention_maps, 0)
    return row_sums.statistics()
