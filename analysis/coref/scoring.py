"""Coreference in single heads (paper section 4.3, Table 2): which head finds a mention's antecedent, against
three baselines (docs/definitions.md, "Coreference heads").

A mention m of a window is scored when the window holds an earlier mention (start < m.start) of its entity: those
are its antecedents. Its candidates are all earlier mentions of the window, of any entity; the nearest is the one
with the largest (start, end). Head (l, h) predicts the word j != head(m) that head(m) attends to most, over the
word columns of the word-level map (first j on ties); it is right when j is the head word of an antecedent. The
baselines pick a candidate and are right when its entity is m's: the nearest candidate, the nearest with the same
head word (case-insensitive), and a rule-based system of four sieves.

Per example, every head's prediction for every scored mention is one argmax over a `[L, H, M, n_words]` gather;
the accumulator keeps only counts, `[types, L, H]` for heads and `[types]` for baselines.
"""

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from analysis.engines import maps
from analysis.heads import HeadGrid
from bpe_utils import WordRowsByBlocks
from preprocessing.coref import TYPES, Mention

MENTION_TYPES = TYPES
CATEGORIES = ("all", *MENTION_TYPES)  # Table 2's columns: every scored mention, then by the mention's type
BASELINES = ("nearest", "head_word_match", "rule_based")
AGREEMENT_FEATURES = ("Number", "Gender", "Person")


@dataclass
class CorefWindow:
    """The words, features and mentions of one window, checked."""

    words: list[str]
    feats: list[dict[str, str]]
    mentions: list[Mention]


def parse_feats(feats: str) -> dict[str, str]:
    """CoNLL-U FEATS (`Number=Sing|Person=3`, or `_`) as a dict."""
    return dict(item.split("=", 1) for item in feats.split("|") if "=" in item)


def check_coref_example(example: dict, attention_maps: np.ndarray) -> None:
    """ExampleError unless the example is a coreference window with a word-level map (and, when it records them,
    well-formed special tokens: maps.example_roles)."""
    read_window(example, attention_maps)
    maps.example_roles(example)


def read_window(example: dict, attention_maps: np.ndarray) -> CorefWindow:
    """The example as a CorefWindow; ExampleError for a field that does not fit the format."""
    words = example.get("words")
    if not isinstance(words, list) or not words or not all(isinstance(word, str) for word in words):
        raise maps.ExampleError("words", "missing or not a non-empty list of strings")
    n_words = len(words)
    feats = example.get("feats")
    if not isinstance(feats, list) or len(feats) != n_words or not all(isinstance(item, str) for item in feats):
        raise maps.ExampleError("feats", f"expected {n_words} FEATS strings, one per word")
    if attention_maps.shape[-1] != n_words + 2:
        raise maps.ExampleError("attns", f"maps of size {attention_maps.shape[-1]} are not word-level for {n_words} "
                                f"words (run extract_attention.py --word_level)")
    mentions = example.get("mentions")
    if not isinstance(mentions, list):
        raise maps.ExampleError("mentions", "expected a list")
    return CorefWindow(words, [parse_feats(item) for item in feats], [read_mention(item, n_words) for item in mentions])


def read_mention(value: object, n_words: int) -> Mention:
    """One mention object, checked against a window of `n_words` words."""
    if not isinstance(value, dict) or set(value) != {"start", "end", "head", "entity", "type"}:
        raise maps.ExampleError("mentions", f"expected objects with start, end, head, entity, type, got {value!r}")
    start, end, head = (value[key] for key in ("start", "end", "head"))
    if not all(isinstance(number, int) and not isinstance(number, bool) for number in (start, end, head)):
        raise maps.ExampleError("mentions", f"start, end and head must be integers in {value!r}")
    if not 0 <= start <= head < end <= n_words:
        raise maps.ExampleError("mentions", f"expected 0 <= start <= head < end <= {n_words}, got {value!r}")
    if not isinstance(value["entity"], str) or value["type"] not in MENTION_TYPES:
        raise maps.ExampleError("mentions", f"entity must be a string and type one of {MENTION_TYPES}: {value!r}")
    return Mention(start, end, head, value["entity"], value["type"])


@dataclass
class ScoredMention:
    """A mention with an antecedent in its window, with what the baselines and heads need."""

    mention: Mention
    candidates: list[Mention]  # earlier mentions, nearest first
    antecedent_heads: set[int]  # head words of the earlier mentions of its entity


def scored_mentions(window: CorefWindow) -> list[ScoredMention]:
    """The window's mentions that have an antecedent, in order, each with its candidates nearest first."""
    scored = []
    for mention in window.mentions:
        candidates = sorted((other for other in window.mentions if other.start < mention.start),
                            key=lambda other: (other.start, other.end), reverse=True)
        antecedents = {other.head for other in candidates if other.entity == mention.entity}
        if antecedents:
            scored.append(ScoredMention(mention, candidates, antecedents))
    return scored


def same_words(window: CorefWindow, first: Mention, second: Mention) -> bool:
    """The two mentions' words are the same, case-insensitively."""
    return [word.lower() for word in window.words[first.start:first.end]] == [
        word.lower() for word in window.words[second.start:second.end]]


def same_head_word(window: CorefWindow, first: Mention, second: Mention) -> bool:
    """The two mentions' head words are the same, case-insensitively."""
    return window.words[first.head].lower() == window.words[second.head].lower()


def agree(window: CorefWindow, first: Mention, second: Mention) -> bool:
    """The head words agree in Number, Gender and Person (a feature missing on either side agrees)."""
    first_feats, second_feats = window.feats[first.head], window.feats[second.head]
    return all(first_feats.get(name, second_feats.get(name)) == second_feats.get(name, first_feats.get(name))
               for name in AGREEMENT_FEATURES)


Sieve = Callable[[CorefWindow, Mention, Mention], bool]
RULE_BASED_SIEVES: tuple[Sieve, ...] = (same_words, same_head_word, agree, lambda window, first, second: True)


def baseline_choices(window: CorefWindow, scored: ScoredMention) -> dict[str, Mention | None]:
    """The candidate each baseline picks for a scored mention (None: no pick, which counts as wrong)."""
    mention, candidates = scored.mention, scored.candidates
    matching = [other for other in candidates if same_head_word(window, mention, other)]
    rule_based = next((passing[0] for sieve in RULE_BASED_SIEVES
                       if (passing := [other for other in candidates if sieve(window, mention, other)])), None)
    return {"nearest": candidates[0], "head_word_match": matching[0] if matching else None, "rule_based": rule_based}


def head_predictions(attention_maps: np.ndarray, query_words: np.ndarray) -> np.ndarray:
    """The word each head attends to most from each query word, itself excluded: int `[L, H, M]`.

    `attention_maps` is word-level `[L, H, n_words + 2, n_words + 2]`; `query_words` `[M]` are 0-based words.
    """
    return row_predictions(attention_maps[:, :, query_words + 1], query_words)


def row_predictions(rows: np.ndarray, query_words: np.ndarray) -> np.ndarray:
    """The word each of the word-level rows `[..., M, n_words + 2]` of `query_words` `[M]` (0-based) attends to
    most, itself and the classifier and separator columns excluded: int `[..., M]`."""
    rows = rows[..., 1:-1].astype(np.float32)
    rows[..., np.arange(len(query_words)), query_words] = -np.inf
    return rows.argmax(-1)


class StreamedWindow:
    """What the coreference analysis keeps of a long window read by blocks of token rows (Encoder.streamed_maps):
    every head's prediction for each scored mention `[L, H, M]`, from the word-level row of its head word, pooled as
    the file chain pools and stores word-level maps (word_level_attention in float32, then float16)."""

    def __init__(self, window: CorefWindow, pieces_per_word: list[int], word_level_mode: str, grid: HeadGrid) -> None:
        self.window, self.scored = window, scored_mentions(window)
        self.query_words = np.array([item.mention.head for item in self.scored], np.int64)
        self.predictions = np.zeros((*grid, len(self.scored)), np.int64)
        self.word_rows = [WordRowsByBlocks(pieces_per_word, word_level_mode) for _ in range(grid[0])]

    def add(self, layer: int, start: int, block: np.ndarray) -> None:
        """Take the next block of token rows of layer `layer`: `block` `[1, heads, rows, n]`."""
        positions, rows = self.word_rows[layer].add(block[0])  # positions: ascending, the word + 1
        done = np.isin(self.query_words + 1, positions)  # the mentions whose head word's row came in this block
        stored = rows[:, np.searchsorted(positions, self.query_words[done] + 1)].astype(np.float16)
        self.predictions[layer][:, done] = row_predictions(stored, self.query_words[done])


class CorefAccumulator:
    """Counts, per mention type, the scored mentions and how many each head and each baseline gets right."""

    def __init__(self) -> None:
        self.grid: HeadGrid | None = None
        self.counts = np.zeros(len(CATEGORIES), np.int64)
        self.baseline_correct = np.zeros((len(BASELINES), len(CATEGORIES)), np.int64)
        self.head_correct: np.ndarray | None = None  # int64 [categories, L, H]

    def add(self, index: int, example: dict, attention_maps: np.ndarray) -> None:
        """Score one window's mentions (checked by check_coref_example)."""
        window = read_window(example, attention_maps)
        scored = scored_mentions(window)
        query_words = np.array([item.mention.head for item in scored], np.int64)
        self.count(window, scored, HeadGrid.of(attention_maps), head_predictions(attention_maps, query_words))

    def count(self, window: CorefWindow, scored: list[ScoredMention], grid: HeadGrid, predictions: np.ndarray) -> None:
        """Count a window's scored mentions, given every head's predicted word for each `[L, H, M]`."""
        if self.grid is None:
            self.grid = grid
            self.head_correct = np.zeros((len(CATEGORIES), *self.grid), np.int64)
        if not scored:
            return
        categories = np.array([[0, 1 + MENTION_TYPES.index(item.mention.type)] for item in scored])  # [M, 2]
        np.add.at(self.counts, categories.ravel(), 1)
        choices = [baseline_choices(window, item) for item in scored]
        for baseline_index, name in enumerate(BASELINES):
            right = np.array([choice[name] is not None and choice[name].entity == item.mention.entity
                              for choice, item in zip(choices, scored, strict=True)])
            np.add.at(self.baseline_correct[baseline_index], categories[right].ravel(), 1)
        antecedent_mask = np.zeros((len(scored), len(window.words)), bool)  # [M, n_words]
        for position, item in enumerate(scored):
            antecedent_mask[position, list(item.antecedent_heads)] = True
        right = np.take_along_axis(antecedent_mask[None, None], predictions[..., None], -1)[..., 0]  # [L, H, M]
        for category in range(len(CATEGORIES)):
            self.head_correct[category] += right[:, :, (categories == category).any(1)].sum(-1)

    def merge(self, later: "CorefAccumulator") -> None:
        """Add the counts of `later`, of the same grid (either side may be empty)."""
        if later.grid is None:
            return
        if self.grid is None:
            self.grid, self.head_correct = later.grid, np.zeros_like(later.head_correct)
        elif later.grid != self.grid:
            raise ValueError(f"a partial of {later.grid} heads after {self.grid}")
        self.counts += later.counts
        self.baseline_correct += later.baseline_correct
        self.head_correct += later.head_correct

    def state(self) -> dict:
        """The partial as plain data: the grid (None before the first window) and the int64 counts."""
        return {"grid": None if self.grid is None else tuple(self.grid), "counts": self.counts.copy(),
                "baseline_correct": self.baseline_correct.copy(),
                "head_correct": None if self.head_correct is None else self.head_correct.copy()}

    @classmethod
    def from_state(cls, state: dict) -> "CorefAccumulator":
        """The accumulator back from `state()`."""
        accumulator = cls()
        accumulator.counts = np.array(state["counts"], np.int64)
        accumulator.baseline_correct = np.array(state["baseline_correct"], np.int64)
        if state["grid"] is not None:
            accumulator.grid = HeadGrid(*state["grid"])
            accumulator.head_correct = np.array(state["head_correct"], np.int64)
        return accumulator

    def result(self) -> "CorefScores":
        """Accuracies of the windows added so far."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return CorefScores(
                grid=self.grid,
                counts=self.counts.copy(),
                baselines=self.baseline_correct / self.counts,
                heads=self.head_correct / self.counts[:, None, None],
            )


@dataclass
class CorefScores:
    """Accuracies by category of CATEGORIES (NaN where a category has no scored mention)."""

    grid: HeadGrid
    counts: np.ndarray  # int [categories]: scored mentions
    baselines: np.ndarray  # float64 [baselines, categories]
    heads: np.ndarray  # float64 [categories, L, H]

    def best_head(self) -> tuple[int, int]:
        """The (layer, head) with the best accuracy over all scored mentions (the first on ties)."""
        return self.grid.pair(int(np.argmax(self.heads[0])))


FIGURE_MAX_DISTANCE = 25  # figures show mentions at most this many words after their first antecedent's head


@dataclass
class MentionExample:
    """A scored mention to draw, with its window and maps `[L, H, n + 2, n + 2]`."""

    window: CorefWindow
    scored: ScoredMention
    attention_maps: np.ndarray


class MentionExamples:
    """Keeps, for each mention type, the first scored mention close enough to its antecedents to draw."""

    def __init__(self) -> None:
        self.examples: dict[str, MentionExample] = {}

    def add(self, index: int, example: dict, attention_maps: np.ndarray) -> None:
        """Keep this window's first drawable mention of each type not kept yet."""
        window = read_window(example, attention_maps)
        for scored in scored_mentions(window):
            close = scored.mention.head - min(scored.antecedent_heads) <= FIGURE_MAX_DISTANCE
            if close and scored.mention.type not in self.examples:
                self.examples[scored.mention.type] = MentionExample(window, scored, attention_maps)

    def result(self) -> list[MentionExample]:
        """The kept mentions, in the order of MENTION_TYPES."""
        return [self.examples[kind] for kind in MENTION_TYPES if kind in self.examples]

    def merge(self, later: "MentionExamples") -> None:
        """For each mention type, keep this partial's mention if it has one, else `later`'s."""
        for kind, example in later.examples.items():
            self.examples.setdefault(kind, example)

    def state(self) -> dict:
        """The partial as plain data: per mention type, the kept mention as a dict (antecedent heads sorted)."""
        return {"examples": {kind: mention_example_state(example) for kind, example in self.examples.items()}}

    @classmethod
    def from_state(cls, state: dict) -> "MentionExamples":
        """The keeper back from `state()`."""
        keeper = cls()
        keeper.examples = {kind: mention_example(example) for kind, example in state["examples"].items()}
        return keeper


def mention_example_state(example: MentionExample) -> dict:
    """A kept mention as plain data: window and scored mention as dicts, mentions as dicts, maps as they are."""
    state = dataclasses.asdict(example)
    state["scored"]["antecedent_heads"] = sorted(example.scored.antecedent_heads)
    return state


def mention_example(state: dict) -> MentionExample:
    """The MentionExample of `mention_example_state`."""
    window, scored = state["window"], state["scored"]
    return MentionExample(
        window=CorefWindow(window["words"], window["feats"], [Mention(**item) for item in window["mentions"]]),
        scored=ScoredMention(Mention(**scored["mention"]), [Mention(**item) for item in scored["candidates"]],
                             set(scored["antecedent_heads"])),
        attention_maps=state["attention_maps"],
    )


def read_coref_scores(path: str | Path) -> CorefScores:
    """The coreference scores of a word-level attention pickle or shard directory, in one pass."""
    data, accumulator = maps.open_attention(path), CorefAccumulator()
    maps.feed(data, [accumulator], f"reading {Path(path).name}", check=check_coref_example)
    return accumulator.result()


