"""Dependency treebanks -> JSON lists of `{"words", "heads", "relns"}` (plus `"id"` where the source has one).

Two input formats:
- `conll`: the original repository's `.txt` format, one word a line as `word head-reln`, a blank line between
  sentences. Fields are separated by spaces or tabs (other Unicode spaces belong to the word). The head is the
  digits before the first `-` of the last field, the relation everything after it, so relations may hold `-` or
  `:` and words may hold `-`.
- `conllu`: CoNLL-U. Multiword-token ranges (ids like `1-2`) and empty nodes (ids like `8.1`) are not words of
  the basic tree and are skipped; `# sent_id = ...` is kept as `"id"`.

Heads are 1-based word positions, 0 meaning the root. Relation labels are kept exactly as written, UD subtypes
such as `nmod:poss` or `obl:unmarked` included: the analyses decide whether to merge them. Every head must lie in
[0, number of words] and differ from the word's own position; anything else is an InputError naming the file
and line.
"""

from pathlib import Path

import numpy as np

from utils import InputError, read_bytes

FORMATS = {"conll": ".txt", "conllu": ".conllu"}
CONLLU_FIELDS = 10


def read_lines(path: Path) -> list[str]:
    """The lines of a UTF-8 text file (split on `\\n` only, `\\r` dropped); non-UTF-8 names the line."""
    raw = read_bytes(path)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line_number = raw.count(b"\n", 0, error.start) + 1
        raise InputError(f"{path}: line {line_number}: not UTF-8 ({error.reason})") from None
    return [line.rstrip("\r") for line in text.split("\n")]


class _SentenceBuilder:
    """Collects one sentence's words and checks its heads when it ends."""

    def __init__(self, path: Path):
        self.path = path
        self.sentences: list[dict] = []
        self._start()

    def _start(self) -> None:
        """Begin an empty sentence."""
        self.sentence_id: str | None = None
        self.words: list[str] = []
        self.heads: list[int] = []
        self.relns: list[str] = []
        self.line_numbers: list[int] = []

    def add(self, word: str, head: int, reln: str, line_number: int) -> None:
        """Append one word of the current sentence."""
        self.words.append(word)
        self.heads.append(head)
        self.relns.append(reln)
        self.line_numbers.append(line_number)

    def end(self) -> None:
        """Close the current sentence (nothing happens when it has no words) after checking its heads."""
        if not self.words:
            self._start()
            return
        size = len(self.words)
        for position, head in enumerate(self.heads, start=1):
            if head > size or head == position:
                problem = "is the word's own position" if head == position else f"is outside [0, {size}]"
                raise InputError(f"{self.path}: line {self.line_numbers[position - 1]}: head {head} {problem}")
        stuck = word_off_the_tree(self.heads)
        if stuck is not None:
            raise InputError(f"{self.path}: line {self.line_numbers[stuck - 1]}: word {stuck} does not reach the "
                             "root by its heads (a cycle)")
        sentence = {"words": self.words, "heads": self.heads, "relns": self.relns}
        if self.sentence_id is not None:
            sentence = {"id": self.sentence_id, **sentence}
        self.sentences.append(sentence)
        self._start()


def word_off_the_tree(heads: list[int]) -> int | None:
    """The first word (1-based) that does not reach the root (0) by following heads, or None for a tree.

    `heads` must lie in [0, len(heads)]. After len(heads) steps every word on a path to the root is at 0.
    """
    parents = np.array([0, *heads])
    ancestors = parents.copy()
    for _ in range(len(heads)):
        ancestors = parents[ancestors]
    stuck = np.flatnonzero(ancestors[1:])
    return int(stuck[0]) + 1 if len(stuck) else None


def _head(text: str, path: Path, line_number: int) -> int:
    """Parse a head index (ASCII digits only)."""
    if not (text.isascii() and text.isdigit()):
        raise InputError(f"{path}: line {line_number}: malformed head {text!r} (expected a non-negative integer)")
    return int(text)


def parse_conll(path: str | Path) -> list[dict]:
    """Sentences of a `word head-reln` file (the original repository's format)."""
    path = Path(path)
    builder = _SentenceBuilder(path)
    for line_number, line in enumerate(read_lines(path), start=1):
        word, _, head_reln = line.replace("\t", " ").strip(" ").rpartition(" ")
        if not head_reln:
            builder.end()
            continue
        word = word.rstrip(" ")
        head_text, dash, reln = head_reln.partition("-")
        if not word or not dash or not reln:
            raise InputError(f"{path}: line {line_number}: malformed line {line!r} (expected 'word head-reln')")
        builder.add(word, _head(head_text, path, line_number), reln, line_number)
    builder.end()
    return builder.sentences


def parse_conllu(path: str | Path) -> list[dict]:
    """Sentences of a CoNLL-U file: basic-tree words only, with `# sent_id` kept as "id"."""
    path = Path(path)
    builder = _SentenceBuilder(path)
    for line_number, line in enumerate(read_lines(path), start=1):
        if not line.strip(" \t"):
            builder.end()
            continue
        if line.startswith("#"):
            key, equals, value = line[1:].partition("=")
            if equals and key.strip() == "sent_id":
                builder.sentence_id = value.strip()
            continue
        fields = line.split("\t")
        if len(fields) != CONLLU_FIELDS:
            raise InputError(
                f"{path}: line {line_number}: malformed line (expected {CONLLU_FIELDS} tab-separated fields, "
                f"got {len(fields)})"
            )
        word_id = fields[0]
        if "-" in word_id or "." in word_id:
            continue
        if word_id != str(len(builder.words) + 1):
            raise InputError(
                f"{path}: line {line_number}: malformed word id {word_id!r} (expected {len(builder.words) + 1})"
            )
        if not fields[7] or fields[7] == "_":
            raise InputError(f"{path}: line {line_number}: missing relation")
        builder.add(fields[1], _head(fields[6], path, line_number), fields[7], line_number)
    builder.end()
    return builder.sentences


PARSERS = {"conll": parse_conll, "conllu": parse_conllu}


def find_splits(data_dir: str | Path, splits: list[str], data_format: str = "auto") -> dict[str, tuple[Path, str]]:
    """The input file and format of each split present in `data_dir`, as {split: (path, format)}.

    `data_format` is `conll`, `conllu`, or `auto` (whichever of `<split>.txt` / `<split>.conllu` exists; both is an
    error). A split without a file is left out; no file for any split is an InputError.
    """
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise InputError(f"{data_dir}: no such directory")
    formats = list(FORMATS) if data_format == "auto" else [data_format]
    found = {}
    for split in splits:
        candidates = [(data_dir / f"{split}{FORMATS[name]}", name) for name in formats]
        present = [(path, name) for path, name in candidates if path.is_file()]
        if len(present) > 1:
            raise InputError(f"{present[0][0]} and {present[1][0]} both exist; choose one with --format")
        if present:
            found[split] = present[0]
    if not found:
        looked_for = ", ".join(f"{split}{FORMATS[name]}" for split in splits for name in formats)
        raise InputError(f"{data_dir}: no split file found (looked for {looked_for})")
    return found
