"""Attention data as the analyses read it: the examples with maps of a pickle or shard directory, on one grid.

Every analysis runs the same way: open the data (which reads the first example, so the grid is known and options
can be checked against it before the long pass), then feed every example once to the analysis's accumulators,
each of which has `add(index, example, attention_maps)`; then ask each accumulator for its result.
"""

import itertools
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
from tqdm import tqdm

import utils
from analysis.heads import HeadGrid

Example = tuple[int, dict, np.ndarray]  # (index in the file, the example's fields, its maps [L, H, n, n])


class ExampleError(ValueError):
    """A problem with one field of one example; `feed` names the file and the example index."""

    def __init__(self, field: str, problem: str):
        super().__init__(problem)
        self.field = field
        self.problem = problem


class Accumulator(Protocol):
    """What `feed` drives: one call per example with maps, in file order."""

    def add(self, index: int, example: dict, attention_maps: np.ndarray) -> None: ...


def iter_attention(path: str | Path) -> Iterator[Example]:
    """Yield `(index, example, attns)` for the examples that have maps; `attns` is `[L, H, n, n]`.

    Examples marked "skipped" are passed over; a map of the wrong shape, or of another grid than the first
    example's, is an InputError.
    """
    grid = None
    for index, example in enumerate(utils.iter_examples(path)):
        if "attns" not in example:
            continue
        try:
            example_grid = HeadGrid.of(example["attns"])
            grid = grid or example_grid
            grid.expect(example_grid)
        except ValueError as error:
            raise utils.example_error(path, index, "attns", str(error)) from None
        yield index, example, example["attns"]


@dataclass
class AttentionData:
    """An opened attention pickle or shard directory: its grid, and its examples with maps, to be read once."""

    path: Path
    grid: HeadGrid
    examples: Iterator[Example]


def open_attention(path: str | Path) -> AttentionData:
    """Open attention data, reading as far as its first example with maps; InputError when it has none."""
    examples = iter_attention(path)
    first = next(examples, None)
    if first is None:
        raise utils.InputError(f"{path}: no example has attention maps (field 'attns')")
    return AttentionData(Path(path), HeadGrid.of(first[2]), itertools.chain([first], examples))


def feed(
    data: AttentionData,
    accumulators: Sequence[Accumulator],
    description: str,
    check: Callable[[dict, np.ndarray], None] | None = None,
) -> int:
    """Give every example of `data` to every accumulator, in order, with a progress bar; returns the count.

    `check(example, attention_maps)` runs first on each example. An ExampleError becomes an InputError naming
    the file, the example and the field.
    """
    count = 0
    for index, example, attention_maps in tqdm(data.examples, desc=description, unit=" examples", file=sys.stderr):
        try:
            if check is not None:
                check(example, attention_maps)
            for accumulator in accumulators:
                accumulator.add(index, example, attention_maps)
        except ExampleError as error:
            raise utils.example_error(data.path, index, error.field, error.problem) from None
        count += 1
    return count


def example_tokens(example: dict, n: int) -> list[str]:
    """The example's row labels, checked to be n strings; anything else is an ExampleError."""
    tokens = example.get("tokens")
    if not isinstance(tokens, list) or not all(isinstance(token, str) for token in tokens):
        raise ExampleError("tokens", "expected a list of strings")
    if len(tokens) != n:
        raise ExampleError("tokens", f"{len(tokens)} tokens for attention maps of length {n}")
    return tokens
