"""Dependency syntax in single heads (paper section 4.2, Table 1): scoring every head and the offset baselines.

Every head, read in both directions, is a parser (docs/definitions.md): in direction `dep->head` the predicted
head of word i (1-based) is the other word j it attends to most, argmax over the word columns of A[l, h, i];
in direction `head->dep` it is the word that attends to i most, the same with A[l, h] transposed. A word's
prediction is correct when it equals its gold head, so a root word (gold head 0) is never right by a head.

Each example is scored as it comes: the predictions of all heads in both directions for its words, `[2, N, n]`,
are compared with the gold heads and counted per relation; only the counts are kept (DependencyCounts), so memory
does not grow with the corpus, and the counts of two runs of examples add up.
Relations are the labels as written (`nmod:poss`), or with `universal=True` their universal part (`nmod`).

The paper's special case for Stanford `poss` (its heads mark the possessive `'s` rather than the possessor,
and the paper counts that as correct) applies only to words labelled exactly `poss` that are followed by a
possessive marker in the same sentence: such a word is scored by the prediction for the marker. A possessor at
the end of a sentence is scored normally (the original code raised IndexError there).
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from analysis.engines import maps
from analysis.heads import HeadGrid
from analysis.syntax.dependency_data import PUNCT, check_dependency_example, possessive_rule, relation_labels
from bpe_utils import WordRowsByBlocks

DIRECTIONS = ("dep->head", "head->dep")
BASELINE_OFFSETS = np.array([-3, -2, -1, 1, 2, 3])
ALL_RELATIONS = "all"
TABLE_EXCLUDED = ("root", PUNCT)


@dataclass
class DependencyCounts:
    """Per relation (sorted as np.unique sorts them), the words and how many of them each head, in each direction,
    and each offset baseline gets right; and the right-branching baseline's counts. All counts int64."""

    relations: list[str]  # [R] labels, sorted
    words: np.ndarray  # [R]: words with the relation
    head_correct: np.ndarray  # [2 * N, R]: row direction * N + flat head (dep->head first)
    baseline_correct: np.ndarray  # [K, R]: offset BASELINE_OFFSETS[k]
    right_branching_scored: int  # words not labelled punct
    right_branching_correct: int  # of those, right in the right-branching parse
    grid: HeadGrid
    n_examples: int
    n_words: int


def head_predictions(attention_maps: np.ndarray) -> np.ndarray:
    """Predicted heads `[2, L * H, n_words]` (1-based) of every head, both directions, from a word-level map.

    `attention_maps` is `[L, H, n_words + 2, n_words + 2]`; the classifier and separator tokens (first and last) and
    each word itself are never predicted.
    """
    n_layers, n_heads, n, _ = attention_maps.shape
    word_maps = attention_maps[:, :, 1:-1, 1:-1].reshape(n_layers * n_heads, n - 2, n - 2)
    scores = np.stack([word_maps, word_maps.swapaxes(1, 2)]).astype(np.float32)
    diagonal = np.arange(n - 2)
    scores[:, :, diagonal, diagonal] = -np.inf
    return (scores.argmax(-1) + 1).astype(np.int16)


class StreamedSentence:
    """What the syntax analysis keeps of a long sentence read by blocks of token rows (Encoder.streamed_maps): every
    head's predictions in both directions `[2, L * H, n_words]` (head_predictions) from its word-level rows, pooled
    as the file chain pools and stores word-level maps (word_level_attention in float32, then float16). A head's
    prediction for a word's head is the argmax of the word's row; for its dependents, the argmax down its column,
    kept as the rows come in order (the first of equal values wins, as in one argmax)."""

    def __init__(self, pieces_per_word: list[int], word_level_mode: str, grid: HeadGrid) -> None:
        n_words = len(pieces_per_word)
        self.grid = grid
        self.word_rows = [WordRowsByBlocks(pieces_per_word, word_level_mode) for _ in range(grid.n_layers)]
        self.predictions = np.zeros((2, grid.n_layers, grid.n_heads, n_words), np.int16)
        self.column_best = np.full((grid.n_layers, grid.n_heads, n_words), -np.inf, np.float32)

    def add(self, layer: int, start: int, block: np.ndarray) -> None:
        """Take the next block of token rows of layer `layer`: `block` `[1, heads, rows, n]`."""
        positions, rows = self.word_rows[layer].add(block[0])
        words = (positions >= 1) & (positions <= self.predictions.shape[-1])
        scores = rows[:, words, 1:-1].astype(np.float16).astype(np.float32)  # [heads, k, n_words]
        for word, row in zip(positions[words] - 1, scores.transpose(1, 0, 2), strict=True):
            row[:, word] = -np.inf
            self.predictions[0, layer, :, word] = row.argmax(-1) + 1
            better = row > self.column_best[layer]  # [heads, n_words]: word is the first best row so far
            self.column_best[layer][better] = row[better]
            self.predictions[1, layer][better] = word + 1

    def result(self) -> np.ndarray:
        """The predictions `[2, L * H, n_words]` once every row has come."""
        return self.predictions.reshape(2, self.grid.size, -1)


def offset_predictions(n_words: int) -> np.ndarray:
    """Offset baselines `[len(BASELINE_OFFSETS), n_words]`: word i's head is i + k, clipped to [0, n_words]."""
    return np.clip(np.arange(1, n_words + 1) + BASELINE_OFFSETS[:, None], 0, n_words)


def score(predictions: np.ndarray, heads: np.ndarray, possessors: np.ndarray) -> np.ndarray:
    """bool `[..., n]`: one sentence's predictions `[..., n]` equal to its gold heads `[n]`, the `poss` rule
    applied to the words marked in `possessors` (bool `[n]`: scored by the next word's prediction)."""
    correct = predictions == heads
    rule = np.flatnonzero(possessors)
    correct[..., rule] = predictions[..., rule + 1] == heads[rule]
    return correct


def right_branching_correct(heads: np.ndarray, scored: np.ndarray) -> int:
    """How many `scored` words (bool `[n]`) of one sentence with gold `heads` `[n]` the right-branching parse
    (word i's head is i + 1, the last word's the root) gets right."""
    n_words = len(heads)
    predictions = np.where(np.arange(1, n_words + 1) < n_words, np.arange(2, n_words + 2), 0)
    return int((predictions == heads)[scored].sum())


def sentence_counts(predictions: np.ndarray, heads: np.ndarray, words: list[str],
                    labels: list[str]) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    """One sentence's relations (sorted, distinct: R of them) and, per relation, its words (int64 `[R]`) and how
    many of them every head in both directions (`[R, 2 * N]`) and every offset baseline (`[R, K]`) gets right, the
    `poss` rule applied; `predictions` are every head's (head_predictions) `[2, N, n_words]`."""
    possessors = possessive_rule(words, labels)
    n_words = len(heads)
    head_correct = score(predictions.reshape(-1, n_words), heads, possessors).T  # [n, 2N]
    baseline_correct = score(offset_predictions(n_words), heads, possessors).T  # [n, K]
    names, relation_ids = np.unique(labels, return_inverse=True)
    by_relation = np.eye(len(names), dtype=np.int64)[relation_ids]  # [n, R]: one-hot relation of each word
    return names.tolist(), by_relation.sum(0), by_relation.T @ head_correct, by_relation.T @ baseline_correct


class DependencyAccumulator:
    """Counts, per relation, the words of checked dependency examples and how many each head (in both directions)
    and each offset baseline gets right. Relations get rows in the order they come; `result` sorts them."""

    def __init__(self, universal: bool = False) -> None:
        self.universal = universal
        self.grid: HeadGrid | None = None
        self.rows: dict[str, int] = {}  # relation -> row of the arrays below
        self.words = np.zeros(0, np.int64)  # [R]
        self.head_correct: np.ndarray | None = None  # int64 [R, 2 * N], from the first example on
        self.baseline_correct = np.zeros((0, len(BASELINE_OFFSETS)), np.int64)  # [R, K]
        self.right_branching_scored = 0
        self.right_branching_correct = 0
        self.n_examples = 0
        self.n_words = 0

    def add(self, index: int, example: dict, attention_maps: np.ndarray) -> None:
        """Count one example (already checked by dependency_data.check_dependency_example)."""
        self.count(example, HeadGrid.of(attention_maps), head_predictions(attention_maps))

    def count(self, example: dict, grid: HeadGrid, predictions: np.ndarray) -> None:
        """Count one example, given every head's predictions in both directions `[2, N, n_words]`."""
        if self.grid is None:
            self.grid = grid
            self.head_correct = np.zeros((len(self.rows), 2 * self.grid.size), np.int64)
        labels = relation_labels(example["relns"], self.universal)
        heads = np.asarray(example["heads"], dtype=np.int32)
        names, words, head_correct, baseline_correct = sentence_counts(predictions, heads, example["words"], labels)
        rows = self.relation_rows(names)
        self.words[rows] += words
        self.head_correct[rows] += head_correct
        self.baseline_correct[rows] += baseline_correct
        scored = np.array(labels) != PUNCT
        self.right_branching_scored += int(scored.sum())
        self.right_branching_correct += right_branching_correct(heads, scored)
        self.n_examples += 1
        self.n_words += len(heads)

    def relation_rows(self, relations: list[str]) -> np.ndarray:
        """The rows of distinct `relations`, new ones appended as zero rows (grid known): int `[len(relations)]`."""
        new = [relation for relation in relations if relation not in self.rows]
        for relation in new:
            self.rows[relation] = len(self.rows)
        if new:
            self.words, self.head_correct, self.baseline_correct = (
                np.concatenate([counts, np.zeros((len(new), *counts.shape[1:]), np.int64)])
                for counts in (self.words, self.head_correct, self.baseline_correct))
        return np.array([self.rows[relation] for relation in relations], dtype=np.intp)

    def merge(self, later: "DependencyAccumulator") -> None:
        """Add the counts of `later`, an accumulator of the same options and grid (either side may be empty)."""
        if later.grid is None:
            return
        if self.grid is None:
            self.grid = later.grid
            self.head_correct = np.zeros((len(self.rows), 2 * self.grid.size), np.int64)
        elif later.grid != self.grid:
            raise ValueError(f"a partial of {later.grid} heads after {self.grid}")
        rows = self.relation_rows(list(later.rows))
        self.words[rows] += later.words
        self.head_correct[rows] += later.head_correct
        self.baseline_correct[rows] += later.baseline_correct
        self.right_branching_scored += later.right_branching_scored
        self.right_branching_correct += later.right_branching_correct
        self.n_examples += later.n_examples
        self.n_words += later.n_words

    def state(self) -> dict:
        """The partial as plain data: options, grid (None before the first example), the relations in row order
        and the int64 counts (`words` `[R]`, `head_correct` `[R, 2 * N]`, `baseline_correct` `[R, K]`)."""
        return {
            "universal": self.universal, "grid": None if self.grid is None else tuple(self.grid),
            "relations": list(self.rows), "words": self.words.copy(),
            "head_correct": None if self.head_correct is None else self.head_correct.copy(),
            "baseline_correct": self.baseline_correct.copy(),
            "right_branching_scored": self.right_branching_scored,
            "right_branching_correct": self.right_branching_correct,
            "n_examples": self.n_examples, "n_words": self.n_words,
        }

    @classmethod
    def from_state(cls, state: dict) -> "DependencyAccumulator":
        """The accumulator back from `state()`."""
        accumulator = cls(state["universal"])
        accumulator.grid = None if state["grid"] is None else HeadGrid(*state["grid"])
        accumulator.rows = {relation: row for row, relation in enumerate(state["relations"])}
        accumulator.words = np.array(state["words"], np.int64)
        accumulator.baseline_correct = np.array(state["baseline_correct"], np.int64)
        if state["head_correct"] is not None:
            accumulator.head_correct = np.array(state["head_correct"], np.int64)
        for name in ("right_branching_scored", "right_branching_correct", "n_examples", "n_words"):
            setattr(accumulator, name, int(state[name]))
        return accumulator

    def result(self) -> DependencyCounts:
        """The counts of the examples added (at least one), relations sorted."""
        relations = sorted(self.rows)
        order = np.array([self.rows[relation] for relation in relations], dtype=np.intp)
        return DependencyCounts(
            relations=relations,
            words=self.words[order].copy(),
            head_correct=self.head_correct[order].T.copy(),
            baseline_correct=self.baseline_correct[order].T.copy(),
            right_branching_scored=self.right_branching_scored,
            right_branching_correct=self.right_branching_correct,
            grid=self.grid,
            n_examples=self.n_examples,
            n_words=self.n_words,
        )


def read_dependency_data(path: str | Path, universal: bool = False) -> DependencyCounts:
    """The dependency counts of a word-level attention pickle or shard directory, in one pass."""
    data, accumulator = maps.open_attention(path), DependencyAccumulator(universal)
    maps.feed(data, [accumulator], f"reading {Path(path).name}", check=check_dependency_example)
    return accumulator.result()


def all_accuracies(data: DependencyCounts) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    """Relation names (`all` first), counts `[R]`, head accuracies `[2 * N, R]` and baseline accuracies `[K, R]`.

    Head row `direction * N + flat_head`: rows 0..N-1 are direction dep->head, N..2N-1 head->dep. The `all` column
    counts every word.
    """
    counts = np.concatenate([[data.words.sum()], data.words])
    head_correct = np.concatenate([data.head_correct.sum(1, keepdims=True), data.head_correct], axis=1)
    baseline_correct = np.concatenate([data.baseline_correct.sum(1, keepdims=True), data.baseline_correct], axis=1)
    return [ALL_RELATIONS, *data.relations], counts, head_correct / counts, baseline_correct / counts


def accuracy_table(
    data: DependencyCounts, select_data: DependencyCounts | None = None, min_count: int = 100
) -> list[dict]:
    """Table 1: per relation, the best head (direction included) and the best offset baseline on `data`.

    Heads and offsets are chosen on `select_data` when given (honest: e.g. train), else on `data` itself (the
    paper's protocol). Rows: `all`, then relations with at least `min_count` words in `data`, except root and
    punct (and, with `select_data`, relations absent from it), by decreasing count.
    """
    names, counts, head_accuracies, baseline_accuracies = all_accuracies(data)
    select_names, _, select_heads, select_baselines = all_accuracies(select_data) if select_data else (
        names, counts, head_accuracies, baseline_accuracies)
    select_column = {name: column for column, name in enumerate(select_names)}
    table = []
    for column, (name, count) in enumerate(zip(names, counts, strict=True)):
        kept = name == ALL_RELATIONS or (count >= min_count and name not in TABLE_EXCLUDED)
        if not kept or name not in select_column:
            continue
        choice = int(select_heads[:, select_column[name]].argmax())
        baseline = int(select_baselines[:, select_column[name]].argmax())
        direction, flat_head = divmod(choice, data.grid.size)
        layer, head = data.grid.pair(flat_head)
        table.append({
            "relation": name,
            "count": int(count),
            "layer": layer,
            "head": head,
            "direction": DIRECTIONS[direction],
            "accuracy": float(head_accuracies[choice, column]),
            "baseline_offset": int(BASELINE_OFFSETS[baseline]),
            "baseline_accuracy": float(baseline_accuracies[baseline, column]),
        })
    return sorted(table, key=lambda row: (row["relation"] != ALL_RELATIONS, -row["count"], row["relation"]))


def right_branching_uas(data: DependencyCounts) -> float:
    """UAS, ignoring punct, of the right-branching parse: word i's head is i + 1, the last word's is the root (NaN
    when every word is punct)."""
    if data.right_branching_scored == 0:
        return float("nan")
    return data.right_branching_correct / data.right_branching_scored
