"""Dependency syntax in single heads (paper section 4.2, Table 1): scoring every head and the offset baselines.

Every head, read in both directions, is a parser (docs/definitions.md): in direction `dep->head` the predicted
head of word i (1-based) is the other word j it attends to most, argmax over the word columns of A[l, h, i];
in direction `head->dep` it is the word that attends to i most, the same with A[l, h] transposed. A word's
prediction is correct when it equals its gold head, so a root word (gold head 0) is never right by a head.

All words of a file are scored at once: the predictions of all heads in both directions for all words are
concatenated into one `[2, N, W]` array (W words in all), compared with the gold heads, and summed per relation.
Relations are the labels as written (`nmod:poss`), or with `universal=True` their universal part (`nmod`).

The paper's special case for Stanford `poss` (its heads mark the possessive `'s` rather than the possessor,
and the paper counts that as correct) applies only to words labelled exactly `poss` that are followed by a
possessive marker in the same sentence: such a word is scored by the prediction for the marker. A possessor at
the end of a sentence is scored normally (the original code raised IndexError there).
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from analysis import maps
from analysis.dependency_data import PUNCT, check_dependency_example, possessive_rule, relation_labels
from analysis.heads import HeadGrid

DIRECTIONS = ("dep->head", "head->dep")
BASELINE_OFFSETS = np.array([-3, -2, -1, 1, 2, 3])
ALL_RELATIONS = "all"
TABLE_EXCLUDED = ("root", PUNCT)


@dataclass
class DependencyData:
    """Gold trees and every head's predicted heads for the words of one attention file, concatenated.

    Word w of the concatenation is word `positions[w]` (1-based) of a sentence of `lengths[w]` words.
    """

    predictions: np.ndarray  # int16 [2 directions, N heads, W]: predicted head (1-based word position)
    heads: np.ndarray  # int32 [W]: gold head, 0 = root
    relations: np.ndarray  # str [W]
    positions: np.ndarray  # int32 [W]
    lengths: np.ndarray  # int32 [W]
    possessive_rule: np.ndarray  # bool [W]: scored by the next word's prediction (label `poss` + marker)
    grid: HeadGrid
    n_examples: int


def head_predictions(attns: np.ndarray) -> np.ndarray:
    """Predicted heads `[2, L * H, n_words]` (1-based) of every head, both directions, from a word-level map.

    `attns` is `[L, H, n_words + 2, n_words + 2]`; [CLS], [SEP] and each word itself are never predicted.
    """
    n_layers, n_heads, n, _ = attns.shape
    word_maps = attns[:, :, 1:-1, 1:-1].reshape(n_layers * n_heads, n - 2, n - 2)
    scores = np.stack([word_maps, word_maps.swapaxes(1, 2)]).astype(np.float32)
    diagonal = np.arange(n - 2)
    scores[:, :, diagonal, diagonal] = -np.inf
    return (scores.argmax(-1) + 1).astype(np.int16)


class DependencyAccumulator:
    """Collects the gold trees and every head's predictions of checked dependency examples, one at a time."""

    def __init__(self, universal: bool = False) -> None:
        self.universal = universal
        self.grid: HeadGrid | None = None
        self.predictions: list[np.ndarray] = []
        self.heads: list[np.ndarray] = []
        self.relations: list[str] = []
        self.possessive_rule: list[np.ndarray] = []

    def add(self, index: int, example: dict, attention_maps: np.ndarray) -> None:
        """Add one example (already checked by dependency_data.check_dependency_example)."""
        self.grid = self.grid or HeadGrid.of(attention_maps)
        labels = relation_labels(example["relns"], self.universal)
        self.predictions.append(head_predictions(attention_maps))
        self.heads.append(np.asarray(example["heads"], dtype=np.int32))
        self.relations.extend(labels)
        self.possessive_rule.append(possessive_rule(example["words"], labels))

    def result(self) -> DependencyData:
        """The concatenated data of the examples added (at least one)."""
        lengths = [len(heads) for heads in self.heads]
        return DependencyData(
            predictions=np.concatenate(self.predictions, axis=-1),
            heads=np.concatenate(self.heads),
            relations=np.array(self.relations),
            positions=np.concatenate([np.arange(1, n + 1, dtype=np.int32) for n in lengths]),
            lengths=np.repeat(np.array(lengths, dtype=np.int32), lengths),
            possessive_rule=np.concatenate(self.possessive_rule),
            grid=self.grid,
            n_examples=len(lengths),
        )


def read_dependency_data(path: str | Path, universal: bool = False) -> DependencyData:
    """The dependency data of a word-level attention pickle or shard directory, in one pass."""
    data, accumulator = maps.open_attention(path), DependencyAccumulator(universal)
    maps.feed(data, [accumulator], f"reading {Path(path).name}", check=check_dependency_example)
    return accumulator.result()


def offset_predictions(data: DependencyData) -> np.ndarray:
    """Offset baselines `[len(BASELINE_OFFSETS), W]`: word i's head is i + k, clipped to [0, n_words] (0 = root)."""
    return np.clip(data.positions + BASELINE_OFFSETS[:, None], 0, data.lengths)


def score(predictions: np.ndarray, data: DependencyData) -> np.ndarray:
    """bool `[..., W]`: predictions `[..., W]` equal to the gold heads, the `poss` rule applied."""
    correct = predictions == data.heads
    possessors = np.flatnonzero(data.possessive_rule)
    correct[..., possessors] = predictions[..., possessors + 1] == data.heads[possessors]
    return correct


def relation_accuracies(correct: np.ndarray, relations: np.ndarray) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Per relation: names (`all` first), word counts `[R]` and accuracies `[..., R]` of `correct` `[..., W]`."""
    names, relation_ids = np.unique(relations, return_inverse=True)
    order = np.argsort(relation_ids, kind="stable")
    starts = np.searchsorted(relation_ids[order], np.arange(len(names)))
    counts = np.bincount(relation_ids, minlength=len(names))
    correct_counts = np.add.reduceat(correct[..., order].astype(np.int64), starts, axis=-1)
    all_correct = correct.sum(-1, keepdims=True)
    accuracies = np.concatenate([all_correct / correct.shape[-1], correct_counts / counts], axis=-1)
    return [ALL_RELATIONS, *names.tolist()], np.concatenate([[len(relations)], counts]), accuracies


def all_accuracies(data: DependencyData) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    """Relation names (`all` first), counts `[R]`, head accuracies `[2 * N, R]` and baseline accuracies `[K, R]`.

    Head row `direction * N + flat_head`: rows 0..N-1 are direction dep->head, N..2N-1 head->dep.
    """
    flat_predictions = data.predictions.reshape(-1, data.predictions.shape[-1])
    names, counts, head_accuracies = relation_accuracies(score(flat_predictions, data), data.relations)
    _, _, baseline_accuracies = relation_accuracies(score(offset_predictions(data), data), data.relations)
    return names, counts, head_accuracies, baseline_accuracies


def accuracy_table(
    data: DependencyData, select_data: DependencyData | None = None, min_count: int = 100
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


def right_branching_uas(data: DependencyData) -> float:
    """UAS, ignoring punct, of the right-branching parse: word i's head is i + 1, the last word's is the root."""
    predictions = np.where(data.positions < data.lengths, data.positions + 1, 0)
    scored = data.relations != PUNCT
    return float((predictions[scored] == data.heads[scored]).mean())
