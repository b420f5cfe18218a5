"""Streaming statistics of what attention heads attend to (DESIGN.md section 4; paper sections 3.1-3.3).

One pass over the examples, one example in memory at a time, vectorized over layers, heads and
positions; every accumulator is float64 and `[layers, heads]`, whatever the grid.
"""

import math
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

import utils

AVG_ATTN_KEYS = ("cls", "sep", "punct", "self", "next", "prev", "sep_sep", "rest_sep")
PUNCTUATION = (".", ",")
SMOOTHING = 0.0001


@dataclass
class GeneralStatistics:
    """Means over examples; every array is float64 `[layers, heads]`."""

    n_examples: int
    avg_attn: dict[str, np.ndarray]
    entropy: np.ndarray
    entropy_from_cls: np.ndarray
    uniform_entropy: float

    @property
    def grid(self) -> tuple[int, int]:
        """(layers, heads)."""
        return self.entropy.shape

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
        }


@dataclass
class ShownExample:
    """One example kept for Figure 1: its index in the file, tokens and maps `[layers, heads, n, n]`."""

    index: int
    tokens: list[str]
    attention_maps: np.ndarray


class StatisticsAccumulator:
    """Sums the per-example statistics of DESIGN.md section 4; the grid is fixed by the first example."""

    def __init__(self) -> None:
        self.n_examples = 0
        self.uniform_entropy_sum = 0.0
        self.sums: dict[str, np.ndarray] | None = None

    @property
    def grid(self) -> tuple[int, int] | None:
        """(layers, heads), or None before the first example."""
        return None if self.sums is None else self.sums["entropy"].shape

    def update(self, tokens: Sequence[str], attention_maps: np.ndarray) -> None:
        """Add one example: `tokens` of length n, `attention_maps` `[layers, heads, n, n]` (any float dtype)."""
        n_layers, n_heads, n = attention_maps.shape[:3]
        if len(tokens) != n:
            raise ValueError(f"{len(tokens)} tokens for maps of length {n}")
        if self.sums is None:
            names = (*AVG_ATTN_KEYS, "entropy", "entropy_from_cls")
            self.sums = {name: np.zeros((n_layers, n_heads)) for name in names}
        elif self.grid != (n_layers, n_heads):
            raise ValueError(f"maps of {n_layers} x {n_heads} heads after maps of {self.grid[0]} x {self.grid[1]}")
        for name, values in example_statistics(tokens, attention_maps).items():
            self.sums[name] += values
        self.uniform_entropy_sum += math.log(n)
        self.n_examples += 1

    def result(self) -> GeneralStatistics:
        """The means over the examples added so far (at least one)."""
        means = {name: total / self.n_examples for name, total in self.sums.items()}
        return GeneralStatistics(
            n_examples=self.n_examples,
            avg_attn={key: means[key] for key in AVG_ATTN_KEYS},
            entropy=means["entropy"],
            entropy_from_cls=means["entropy_from_cls"],
            uniform_entropy=self.uniform_entropy_sum / self.n_examples,
        )


def example_statistics(tokens: Sequence[str], attention_maps: np.ndarray) -> dict[str, np.ndarray]:
    """One example's values of every statistic, each float64 `[layers, heads]`.

    `attention_maps` is `[layers, heads, n, n]`, rows are queries; `tokens` has length n. Computed in float64.
    """
    n = attention_maps.shape[-1]
    maps = attention_maps.astype(np.float64)
    tokens = np.asarray(tokens, dtype=object)
    is_sep = tokens == "[SEP]"
    n_sep = int(is_sep.sum())
    # [n, 3]: which key positions hold [CLS], [SEP], punctuation.
    key_masks = np.stack([tokens == "[CLS]", is_sep, np.isin(tokens, PUNCTUATION)], axis=1).astype(np.float64)
    to_keys = maps.sum(axis=2) @ key_masks / n  # [layers, heads, 3]
    to_sep = maps[..., is_sep].sum(-1)  # [layers, heads, n]: each query's attention to [SEP]s
    statistics = {
        "cls": to_keys[..., 0],
        "sep": to_keys[..., 1],
        "punct": to_keys[..., 2],
        "self": np.diagonal(maps, 0, axis1=2, axis2=3).sum(-1) / n,
        "next": np.diagonal(maps, 1, axis1=2, axis2=3).sum(-1) / n,
        "prev": np.diagonal(maps, -1, axis1=2, axis2=3).sum(-1) / n,
        "sep_sep": to_sep[..., is_sep].sum(-1) / max(n_sep, 1),
        "rest_sep": to_sep[..., ~is_sep].sum(-1) / max(n - n_sep, 1),
    }
    maps *= 1.0 - SMOOTHING
    maps += SMOOTHING / n
    plogp = np.log(maps)
    plogp *= maps
    row_entropy = -plogp.sum(-1)  # [layers, heads, n]
    statistics["entropy"] = row_entropy.mean(-1)
    statistics["entropy_from_cls"] = row_entropy[..., 0]
    return statistics


def example_tokens(path: str | Path, index: int, example: dict, n: int) -> list[str]:
    """The example's tokens, checked to be n strings; anything else is an InputError."""
    tokens = example.get("tokens")
    if not isinstance(tokens, list) or not all(isinstance(token, str) for token in tokens):
        raise utils.example_error(path, index, "tokens", "expected a list of strings")
    if len(tokens) != n:
        raise utils.example_error(path, index, "tokens", f"{len(tokens)} tokens for attention maps of length {n}")
    return tokens


def collect(
    path: str | Path,
    example_index: int | None = None,
    check_grid: Callable[[int, int], None] | None = None,
) -> tuple[GeneralStatistics, ShownExample]:
    """Statistics over every example with maps in an attention pickle or shard directory, in one pass.

    Also keeps the example at `example_index` (default: the first with maps) for Figure 1, and calls
    `check_grid(layers, heads)` on the first example so that a mismatched input fails early.
    """
    accumulator = StatisticsAccumulator()
    shown = None
    progress = tqdm(utils.iter_attention(path), desc="general statistics", unit=" examples", file=sys.stderr)
    for index, example, attention_maps in progress:
        tokens = example_tokens(path, index, example, attention_maps.shape[-1])
        if accumulator.grid is None and check_grid is not None:
            check_grid(*attention_maps.shape[:2])
        accumulator.update(tokens, attention_maps)
        if shown is None and example_index in (None, index):
            shown = ShownExample(index, tokens, attention_maps.astype(np.float32))
    if accumulator.n_examples == 0:
        raise utils.InputError(f"{path}: no example has attention maps")
    if shown is None:
        raise utils.InputError(f"{path}: example {example_index} does not exist or has no attention maps")
    return accumulator.result(), shown
