"""Dependency data in word-level attention files: the checks every reader applies, relation labels, the
possessive rule, and the example sentences kept for figures.

An example has "words", gold "heads" (1-based, 0 = root) and "relns", and word-level maps
`[layers, heads, n_words + 2, n_words + 2]` whose rows and columns are the classifier token, the words, the separator
(`[CLS]`, the words, `[SEP]` for BERT; `<s>`, the words, `</s>` for RoBERTa: the example's "special_tokens").
"""

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import utils
from analysis.engines.maps import ExampleError, example_roles, example_tokens
from preprocessing.depparse import word_off_the_tree

PUNCT = "punct"
POSSESSIVE = "poss"
POSSESSIVE_MARKERS = ("'s", "'", "s'")
FIGURE_MAX_WORDS = 20  # figures show sentences of at most this many words


def check_dependency_example(example: dict, attention_maps: np.ndarray) -> None:
    """ExampleError unless the example has a word-level map, a well-formed gold tree over its words and, when it
    records them, well-formed special tokens (maps.example_roles)."""
    words, heads, relns = (example.get(name) for name in ("words", "heads", "relns"))
    for name, value in (("words", words), ("heads", heads), ("relns", relns)):
        if not isinstance(value, list) or not value:
            raise ExampleError(name, "missing or not a non-empty list")
    for name, value in (("words", words), ("relns", relns)):
        if not all(isinstance(item, str) for item in value):
            raise ExampleError(name, "not a list of strings")
    n_words = len(words)
    for name, value in (("heads", heads), ("relns", relns)):
        if len(value) != n_words:
            raise ExampleError(name, f"has {len(value)} entries for {n_words} words")
    for position, head in enumerate(heads, start=1):
        if isinstance(head, bool) or not isinstance(head, int | np.integer) or not 0 <= head <= n_words:
            raise ExampleError("heads", f"word {position}'s head {head!r} is not in [0, {n_words}]")
        if head == position:
            raise ExampleError("heads", f"word {position} is its own head")
    stuck = word_off_the_tree(heads)
    if stuck is not None:
        raise ExampleError("heads", f"word {stuck} does not reach the root by its heads (a cycle)")
    if attention_maps.shape[2] != n_words + 2:
        raise ExampleError("attns", f"maps of size {attention_maps.shape[2]} are not word-level for {n_words} words "
                           f"(expected {n_words + 2}: the classifier token, the words, the separator; run "
                           "extract_attention.py --word_level)")
    example_roles(example)


def relation_labels(relns: Iterable[str], universal: bool) -> list[str]:
    """The labels as written, or their universal part before ':' (`nmod:poss` -> `nmod`)."""
    return [reln.split(":")[0] if universal else reln for reln in relns]


def possessive_rule(words: Sequence[str], relations: Sequence[str]) -> np.ndarray:
    """bool `[n_words]`: words labelled exactly `poss` whose next word (in this sentence) is a possessive marker."""
    following = [*words[1:], None]
    pairs = zip(relations, following, strict=True)
    return np.array([reln == POSSESSIVE and after in POSSESSIVE_MARKERS for reln, after in pairs], dtype=bool)


@dataclass
class RelationExample:
    """One sentence shown in a figure: its words, gold heads, relation labels, maps `[L, H, n + 2, n + 2]` and the
    labels of the maps' rows, n + 2 strings: the classifier token, the words, the separator (maps.example_tokens)."""

    words: list[str]
    heads: list[int]
    relations: list[str]
    attention_maps: np.ndarray
    tokens: list[str]


def relation_example(example: dict, attention_maps: np.ndarray, universal: bool) -> RelationExample:
    """An example of a word-level attention file (checked: check_dependency_example) as a figure's sentence."""
    labels = relation_labels(example["relns"], universal)
    tokens = example_tokens(example, attention_maps.shape[-1])
    return RelationExample(example["words"], example["heads"], labels, attention_maps, tokens)


class RelationExamples:
    """Keeps, for each relation, the first example of at most `max_words` words that has it."""

    def __init__(self, universal: bool = False, max_words: int = FIGURE_MAX_WORDS) -> None:
        self.universal = universal
        self.max_words = max_words
        self.examples: dict[str, RelationExample] = {}

    def add(self, index: int, example: dict, attention_maps: np.ndarray) -> None:
        """Keep the example for each of its relations that has none yet."""
        if len(example["words"]) > self.max_words:
            return
        kept = relation_example(example, attention_maps, self.universal)
        for label in kept.relations:
            self.examples.setdefault(label, kept)

    def result(self, relations: Iterable[str]) -> dict[str, RelationExample]:
        """The kept example of each of `relations` that has one."""
        return {relation: self.examples[relation] for relation in relations if relation in self.examples}

    def merge(self, later: "RelationExamples") -> None:
        """For each relation, keep this partial's example if it has one, else `later`'s."""
        for relation, example in later.examples.items():
            self.examples.setdefault(relation, example)

    def state(self) -> dict:
        """The partial as plain data: options, the kept sentences once each (as dicts) and, per relation, the
        position of its sentence among them (one sentence serves all the relations it was kept for)."""
        sentences = list({id(example): example for example in self.examples.values()}.values())
        position = {id(example): at for at, example in enumerate(sentences)}
        return {"universal": self.universal, "max_words": self.max_words,
                "sentences": [dataclasses.asdict(example) for example in sentences],
                "by_relation": {relation: position[id(example)] for relation, example in self.examples.items()}}

    @classmethod
    def from_state(cls, state: dict) -> "RelationExamples":
        """The keeper back from `state()`, each sentence one object shared by its relations."""
        keeper = cls(state["universal"], state["max_words"])
        sentences = [RelationExample(**sentence) for sentence in state["sentences"]]
        keeper.examples = {relation: sentences[position] for relation, position in state["by_relation"].items()}
        return keeper


class IndexedExamples:
    """Keeps the examples at the given positions in the file (0-based, skipped examples counted), and no other:
    memory holds those examples only. `purpose` names what they are for in the error of `result`."""

    def __init__(self, indices: Iterable[int], universal: bool = False, purpose: str = "the figure") -> None:
        self.indices = frozenset(indices)
        self.universal = universal
        self.purpose = purpose
        self.examples: dict[int, RelationExample] = {}

    def add(self, index: int, example: dict, attention_maps: np.ndarray) -> None:
        """Keep the example if its position is one of the indices."""
        if index in self.indices:
            self.examples[index] = relation_example(example, attention_maps, self.universal)

    def result(self, path: str | Path) -> dict[int, RelationExample]:
        """Position -> kept example; InputError naming the file when one of the positions had no example with maps."""
        missing = sorted(self.indices - set(self.examples))
        if missing:
            wanted = ", ".join(str(index) for index in sorted(self.indices))
            raise utils.InputError(f"{path}: {self.purpose} draws examples {wanted} (positions in the file, 0-based), "
                                   f"but {', '.join(str(index) for index in missing)} do not exist or have no "
                                   "attention maps")
        return self.examples

    def merge(self, later: "IndexedExamples") -> None:
        """Add the examples `later` kept (the union: each position is in one partial only)."""
        self.examples.update(later.examples)

    def state(self) -> dict:
        """The partial as plain data: options and position -> kept example (as a dict)."""
        return {"indices": sorted(self.indices), "universal": self.universal, "purpose": self.purpose,
                "examples": {index: dataclasses.asdict(example) for index, example in self.examples.items()}}

    @classmethod
    def from_state(cls, state: dict) -> "IndexedExamples":
        """The keeper back from `state()`."""
        keeper = cls(state["indices"], state["universal"], state["purpose"])
        keeper.examples = {index: RelationExample(**example) for index, example in state["examples"].items()}
        return keeper
