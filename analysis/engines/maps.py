"""Attention data as the analyses read it: the examples with maps of a pickle or shard directory, on one grid.

Every analysis runs the same way: open the data (which reads the first example, so the grid is known and options
can be checked against it before the long pass), then feed every example once to the analysis's accumulators,
each of which has `add(index, example, attention_maps)`; then ask each accumulator for its result.

Every analysis is a sum over examples, so each accumulator works in three steps: the partial of a run of examples
(`add`), the merge of two partials (`merge`, the later run folded into the earlier one) and the result
(`result`). A partial travels as plain data (`state` and `from_state`); merged in file (shard) order, partials of
any split of the examples give the result of a single pass (floats to rounding, counts and kept examples exactly).
"""

import itertools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, Self

import numpy as np

import utils
from analysis.heads import HeadGrid
from bert.special_tokens import SpecialTokens, example_special_tokens

if TYPE_CHECKING:
    from analysis.options import AnalysisOptions, CorpusOptions

Example = tuple[int, dict, np.ndarray]  # (index in the file, the example's fields, its maps [L, H, n, n])


class ExampleError(ValueError):
    """A problem with one field of one example; `feed` names the file and the example index."""

    def __init__(self, field: str, problem: str):
        super().__init__(problem)
        self.field = field
        self.problem = problem


class Accumulator(Protocol):
    """What `feed` drives: one call per example with maps, in file order, giving a partial result.

    `merge(later)` folds in `later`, an accumulator of the same class and parameters whose examples all come after
    this one's in file order; either side may be empty (no example added). `state()` is the partial as plain data
    (dicts, lists, tuples, str, int, float, bool, None and numpy arrays: readable by utils.read_pickle), with the
    constructor parameters; `from_state(state)` rebuilds an accumulator that behaves as the one that gave it.
    """

    def add(self, index: int, example: dict, attention_maps: np.ndarray) -> None: ...

    def merge(self, later: Self) -> None: ...

    def state(self) -> dict: ...

    @classmethod
    def from_state(cls, state: dict) -> Self: ...


def iter_attention(path: str | Path) -> Iterator[Example]:
    """Yield `(index, example, attns)` for the examples that have maps; `attns` is `[L, H, n, n]`.

    Examples marked "skipped" are passed over; a map of the wrong shape, of another grid than the first
    example's, or whose rows are not probability distributions is an InputError.
    """
    grid = None
    for index, example in enumerate(utils.iter_examples(path)):
        if "attns" not in example:
            continue
        grid = checked_grid(example["attns"], grid, path, index)
        yield index, example, example["attns"]


def checked_grid(attention_maps: object, grid: HeadGrid | None, path: str | Path, index: int) -> HeadGrid:
    """The grid of an example's maps, which must be `grid` (the file's, None before its first example) and hold
    probability distributions; an InputError naming the file, the example and the field otherwise."""
    try:
        example_grid = HeadGrid.of(attention_maps)
        if grid is not None:
            grid.expect(example_grid)
        check_distributions(attention_maps)
    except ValueError as error:
        raise utils.example_error(path, index, "attns", str(error)) from None
    return example_grid


def check_distributions(attention_maps: np.ndarray) -> None:
    """ValueError unless every row of `attention_maps` `[layers, heads, n, n]` is a probability distribution."""
    if not np.issubdtype(attention_maps.dtype, np.floating):
        raise ValueError(f"expected floating-point attention weights, got {attention_maps.dtype}")
    row_sums = attention_maps.sum(axis=-1, dtype=np.float64)
    if not (row_sums.size and np.isfinite(row_sums).all() and np.all(attention_maps >= 0)):
        raise ValueError("expected rows that are probability distributions, got empty, negative or non-finite rows")
    if np.abs(row_sums - 1).max() > 0.01:
        worst = row_sums.flat[np.abs(row_sums - 1).argmax()]
        raise ValueError(f"expected rows that sum to 1, got a row summing to {worst:.4g}")


@dataclass
class AttentionData:
    """An opened attention pickle or shard directory: its grid, its examples with maps, to be read once, and the
    kind of map its first example holds (its "map" field: `attn`, `norm` or `rollout`; absent means `attn`)."""

    path: Path
    grid: HeadGrid
    examples: Iterator[Example]
    map_kind: str = "attn"


def open_attention(path: str | Path) -> AttentionData:
    """Open attention data, reading as far as its first example with maps; InputError when it has none."""
    examples = iter_attention(path)
    first = next(examples, None)
    if first is None:
        raise utils.InputError(f"{path}: no example has attention maps (field 'attns')")
    map_kind = str(first[1].get("map", "attn"))
    return AttentionData(Path(path), HeadGrid.of(first[2]), itertools.chain([first], examples), map_kind)


def feed(
    data: AttentionData,
    accumulators: Sequence[Accumulator],
    description: str,
    check: Callable[[dict, np.ndarray], None] | None = None,
    check_count: Callable[[int], None] | None = None,
) -> int:
    """Give every example of `data` to every accumulator, in order, with a progress bar; returns the count.

    `check(example, attention_maps)` runs first on each example, `check_count(count)` after the last, while the bar
    is still open (so that its error, like any other, erases the bar). An ExampleError becomes an InputError naming
    the file, the example and the field.
    """
    count = 0
    with utils.progress_bar(data.examples, desc=description, unit=" examples") as examples:
        for index, example, attention_maps in examples:
            try:
                if check is not None:
                    check(example, attention_maps)
                for accumulator in accumulators:
                    accumulator.add(index, example, attention_maps)
            except ExampleError as error:
                raise utils.example_error(data.path, index, error.field, error.problem) from None
            count += 1
        if check_count is not None:
            check_count(count)
    return count


class CorpusAnalysis:
    """An analysis as accumulators and outputs, the same whichever way the examples come (attention files,
    streaming, Ray): what the engines call. Subclasses (general, syntax, coref) set `name`, `word_level` (whether
    it reads word-level maps), `check` (run on each example first, or None) and `options`, and write
    `for_corpus`, `accumulators` and `write`; `plan`, `feeds` and `settings` have defaults here;
    `streamed_reader` and `add_streamed` read a long input block by block."""

    name: str
    word_level: bool
    check: Callable[[dict, np.ndarray], None] | None = None
    options: object

    @classmethod
    def for_corpus(cls, options: "AnalysisOptions", corpus: "CorpusOptions", grid: HeadGrid,
                   source: str | Path) -> Self:
        """The analysis as analyze_corpus.py runs it, from every analysis's options and the corpus run's."""
        raise NotImplementedError

    def plan(self, indices_with_maps: Sequence[int], streamed: Sequence[int] = ()) -> None:
        """Told, before any work, which examples will have maps, and which of them are long inputs read block by
        block (`add_streamed`; nothing to do by default)."""

    def streamed_reader(self, example: dict, grid: HeadGrid, pieces_per_word: list[int] | None,
                        word_level_mode: str):
        """For a long input (analyze_corpus.py reads it by blocks of query rows), an object whose
        `add(layer, start, block [1, heads, rows, n])` takes every block of its token maps, then goes to
        `add_streamed`; a word-level analysis gets the words' piece counts and how rows are pooled."""
        raise NotImplementedError(f"the {self.name} analysis does not read long inputs by blocks")

    def add_streamed(self, accumulators: dict[str, Accumulator], index: int, example: dict, reader) -> None:
        """Give the accumulators a long input once `reader` (streamed_reader) has taken all its blocks."""
        raise NotImplementedError(f"the {self.name} analysis does not read long inputs by blocks")

    def feeds(self, name: str, index: int) -> bool:
        """Whether accumulator `name` is to see example `index` (every one sees every example by default)."""
        return True

    def settings(self) -> dict:
        """What the run record and the partials' fingerprint keep of the analysis: its options."""
        return {"options": self.options}

    def accumulators(self) -> dict[str, Accumulator]:
        """Fresh accumulators for one run of examples, by name."""
        raise NotImplementedError

    def add(self, accumulators: dict[str, Accumulator], index: int, example: dict,
            attention_maps: np.ndarray) -> None:
        """Check one example and give it to each accumulator that is to see it (an ExampleError names the field)."""
        if self.check is not None:
            self.check(example, attention_maps)
        for name, accumulator in accumulators.items():
            if self.feeds(name, index):
                accumulator.add(index, example, attention_maps)

    def write(self, accumulators: dict[str, Accumulator], outdir: str | Path, map_kind: str, run: dict) -> dict:
        """Write the outputs from the merged accumulators, with the `run` record; returns the JSON."""
        raise NotImplementedError


def example_roles(example: dict) -> SpecialTokens:
    """The strings an example's tokens use for the classifier and separator roles (its "special_tokens" record;
    BERT's `[CLS]`/`[SEP]` when it has none): the one place every reader gets them from. A malformed record is an
    ExampleError."""
    try:
        return example_special_tokens(example)
    except ValueError as error:
        raise ExampleError("special_tokens", str(error)) from None


def agreed_roles(known: SpecialTokens | None, roles: SpecialTokens) -> SpecialTokens:
    """`roles`, an example's, which must be `known`, the earlier examples' of the same file (None before the first);
    an ExampleError when they differ."""
    if known is not None and roles != known:
        raise ExampleError("special_tokens", f"{roles.record()} differ from the earlier examples' {known.record()} "
                           "(one file holds the maps of one tokenizer)")
    return roles


def example_tokens(example: dict, n: int) -> list[str]:
    """The labels of the rows of an example's maps, n strings: the classifier token, its "words", the separator for
    a word-level map (example_roles: `[CLS]`/`[SEP]`, `<s>`/`</s>`, ...), else its "tokens" (the model's tokens);
    anything else is an ExampleError."""
    words = example.get("words")
    if isinstance(words, list) and len(words) + 2 == n and all(isinstance(word, str) for word in words):
        return example_roles(example).around(words)
    tokens = example.get("tokens")
    if not isinstance(tokens, list) or not all(isinstance(token, str) for token in tokens):
        raise ExampleError("tokens", "expected a list of strings")
    if len(tokens) != n:
        raise ExampleError("tokens", f"{len(tokens)} tokens for attention maps of length {n}")
    return tokens
