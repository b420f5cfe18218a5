"""CoNLL-U with coreference (`Entity=` in MISC, the CorefUD / GUM notation) -> windows of words with their mentions.

Reading:
- A document starts at `# newdoc id = X`; a file without any newdoc line is one document named after the file
  (its stem), and words before the first newdoc line form such a document too. Sentences end at blank lines.
- Multiword-token ranges (ids like `1-2`) and empty nodes (ids like `3.1`) are not words and are skipped,
  brackets on them included (CorefUD puts brackets on words only). Each word keeps its form (column 2), UPOS
  (column 4), FEATS (column 6, `_` when empty) and head (column 7, 1-based within the sentence, 0 = root).
- The `Entity=` value of MISC (column 10) is read bracket by bracket, left to right: `(ID-attributes` opens a
  mention on this word, `(ID-attributes)` and `(ID)` are one-word mentions, `ID)` closes the most recently
  opened mention of entity ID that is still open (so `7)7)` closes two nested mentions of entity 7). Several
  brackets may stand in one value: `(52-time-giv:inact-nnnnn-cf3-1-coref)101)`. The attributes are ignored;
  the entity is ID, a string of ASCII digits, unique within its document only.
- Notation variants: GUM (UD_English-GUM 2.16) uses only the forms above, with 7 or 8 attributes, the last one
  sometimes a Wikipedia identity such as `Francisco_de_Zurbarán`. CorefUD's discontinuous mentions (`[1/2]` after
  the id) do not occur in it and are refused with an error rather than guessed at; other MISC keys (`Bridge`,
  `SplitAnte`, ...) are ignored.
- A mention may close in a later sentence than it opened (none does in GUM): such a mention is dropped and
  counted (`Document.n_cross_sentence`), so that every mention kept lies within one sentence.

Every problem is an InputError naming the file and line: a line without exactly 10 tab-separated fields, a word
id out of sequence, a head that is not a number or lies outside [0, words of the sentence] or is the word's own
position, an `Entity` value that is not brackets, a bracket id that is not a number, a closing bracket without an
open mention of its entity, a mention still open at the end of its document (the line where it opened), a mention
none of whose words has a head outside it (a cycle), and non-UTF-8 text.

Head word of a mention: the first word of the span whose head lies outside the span (the root counts as outside).
Type: the head word's UPOS `PRON` -> pronoun, `PROPN` -> proper, anything else -> nominal.

Windows: a document's sentences in order, packed greedily: a window takes the next sentence while `[CLS]` + the
WordPiece tokens of its words (each word tokenized on its own, as word-level extraction does) + `[SEP]` fit
`max_sequence_length`; a sentence that alone does not fit forms its own window. A mention crossing a window border
is dropped and counted. Each window becomes one example: `{"doc_id", "window", "words", "upos", "feats",
"mentions"}`, the mentions `{"start", "end", "head", "entity", "type"}` with 0-based word positions in the window
(`end` exclusive), sorted by (start, end) (the same span twice: in the order the two close).
"""

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from bert.model_tokenizer import ModelTokenizer
from preprocessing.depparse import CONLLU_FIELDS, read_lines
from utils import InputError

TYPES = ("pronoun", "proper", "nominal")
TYPE_BY_UPOS = {"PRON": "pronoun", "PROPN": "proper"}
SPECIAL_TOKENS_PER_WINDOW = 2  # [CLS] and [SEP]
_BRACKET = re.compile(
    r"\((?P<opened>[^-()\[\]]*)(?P<open_part>\[[^\]]*\])?(?P<attributes>-[^()]*)?(?P<one_word>\))?"
    r"|(?P<closed>[^()\[\]]+)(?P<close_part>\[[^\]]*\])?\)"
)


@dataclass(frozen=True)
class Mention:
    """A mention within one document: word positions `start`..`end` (exclusive) and its head word's position."""

    start: int
    end: int
    head: int
    entity: str
    type: str


@dataclass
class Document:
    """One document: its words over all sentences, where each sentence starts, and the mentions kept (sorted by
    (start, end), as each sentence's mentions are sorted and lie within it)."""

    doc_id: str
    words: list[str] = field(default_factory=list)
    upos: list[str] = field(default_factory=list)
    feats: list[str] = field(default_factory=list)
    sentence_starts: list[int] = field(default_factory=list)
    mentions: list[Mention] = field(default_factory=list)
    n_cross_sentence: int = 0


@dataclass
class _OpenMention:
    """A mention whose closing bracket has not been read yet."""

    entity: str
    start: int
    sentence: int
    line_number: int


@dataclass
class _ClosedMention:
    """A mention of the current sentence, waiting for the sentence's heads to find its head word."""

    entity: str
    start: int
    end: int
    line_number: int


def mention_type(upos: str) -> str:
    """`pronoun`, `proper` or `nominal`, from the head word's UPOS."""
    return TYPE_BY_UPOS.get(upos, "nominal")


def head_word(heads: list[int], start: int, end: int) -> int | None:
    """The first position in [start, end) whose head (1-based, 0 = root) lies outside the span; None if none."""
    for position in range(start, end):
        if not start < heads[position] <= end:
            return position
    return None


def parse_entity(value: str, path: Path, line_number: int) -> list[tuple[str, str, bool]]:
    """The brackets of an `Entity=` value, in order, as (kind "open" or "close", entity id, one-word mention)."""
    brackets = []
    position = 0
    while position < len(value):
        match = _BRACKET.match(value, position)
        if match is None:
            raise InputError(f"{path}: line {line_number}: malformed Entity value {value!r} at character {position}")
        if match["open_part"] or match["close_part"]:
            raise InputError(f"{path}: line {line_number}: discontinuous mentions ({match[0]!r}) are not supported")
        entity = match["opened"] if match["closed"] is None else match["closed"]
        if not (entity.isascii() and entity.isdigit()):
            raise InputError(f"{path}: line {line_number}: Entity bracket id {entity!r} is not a number")
        brackets.append(("open" if match["closed"] is None else "close", entity, match["one_word"] is not None))
        position = match.end()
    return brackets


def entity_value(misc: str) -> str | None:
    """The value of the `Entity` key of a MISC field, or None."""
    for item in misc.split("|"):
        key, equals, value = item.partition("=")
        if equals and key == "Entity":
            return value
    return None


class _Reader:
    """Reads a CoNLL-U file line by line into Documents."""

    def __init__(self, path: Path):
        self.path = path
        self.documents: list[Document] = []
        self.document = Document(path.stem)
        self.open_mentions: list[_OpenMention] = []
        self._start_sentence()

    def _start_sentence(self) -> None:
        """Begin an empty sentence."""
        self.heads: list[int] = []
        self.line_numbers: list[int] = []
        self.closed: list[_ClosedMention] = []

    @property
    def sentence_start(self) -> int:
        """Document position of the current sentence's first word."""
        return len(self.document.words) - len(self.heads)

    def read(self) -> list[Document]:
        """All documents of the file."""
        for line_number, line in enumerate(read_lines(self.path), start=1):
            if not line.strip(" \t"):
                self.end_sentence()
            elif line.startswith("#"):
                self.comment(line)
            else:
                self.word(line, line_number)
        self.end_document()
        return self.documents

    def comment(self, line: str) -> None:
        """A `# newdoc id = X` (or bare `# newdoc`) line starts a document; other comments are ignored."""
        key, equals, value = line[1:].partition("=")
        if (key.split() == ["newdoc", "id"] and equals) or line[1:].strip() == "newdoc":
            self.end_document()
            self.document = Document(value.strip() if equals else f"{self.path.stem}-{len(self.documents)}")

    def word(self, line: str, line_number: int) -> None:
        """One word line: keep the word, then read its brackets (range and decimal ids are skipped)."""
        fields = line.split("\t")
        if len(fields) != CONLLU_FIELDS:
            raise InputError(f"{self.path}: line {line_number}: malformed line (expected {CONLLU_FIELDS} "
                             f"tab-separated fields, got {len(fields)})")
        word_id, form, _, upos, _, feats, head, _, _, misc = fields
        if "-" in word_id or "." in word_id:
            return
        self.add_word(word_id, form, upos, feats, head, line_number)
        value = entity_value(misc)
        if value:
            self.read_brackets(value, line_number)

    def add_word(self, word_id: str, form: str, upos: str, feats: str, head: str, line_number: int) -> None:
        """Append a word to the current sentence after checking its id and head are numbers."""
        if word_id != str(len(self.heads) + 1):
            raise InputError(f"{self.path}: line {line_number}: malformed word id {word_id!r} "
                             f"(expected {len(self.heads) + 1})")
        if not (head.isascii() and head.isdigit()):
            raise InputError(f"{self.path}: line {line_number}: malformed head {head!r} (expected a non-negative "
                             "integer)")
        self.document.words.append(form)
        self.document.upos.append(upos)
        self.document.feats.append(feats or "_")
        self.heads.append(int(head))
        self.line_numbers.append(line_number)

    def read_brackets(self, value: str, line_number: int) -> None:
        """Open and close mentions on the current word, bracket by bracket."""
        for kind, entity, one_word in parse_entity(value, self.path, line_number):
            if kind == "open":
                position = len(self.document.words) - 1
                self.open_mentions.append(_OpenMention(entity, position, self.sentence_number, line_number))
            if kind == "close" or one_word:
                self.close(entity, line_number)

    @property
    def sentence_number(self) -> int:
        """Index of the current sentence in its document."""
        return len(self.document.sentence_starts)

    def close(self, entity: str, line_number: int) -> None:
        """Close the most recent open mention of `entity` on the current word."""
        for index in range(len(self.open_mentions) - 1, -1, -1):
            if self.open_mentions[index].entity == entity:
                opened = self.open_mentions.pop(index)
                break
        else:
            raise InputError(f"{self.path}: line {line_number}: unbalanced Entity brackets: '{entity})' closes no "
                             f"open mention of entity {entity}")
        if opened.sentence != self.sentence_number:
            self.document.n_cross_sentence += 1
            return
        self.closed.append(_ClosedMention(entity, opened.start, len(self.document.words), opened.line_number))

    def end_sentence(self) -> None:
        """Close the current sentence (nothing happens when it has no words): check heads, find head words."""
        if not self.heads:
            return
        self.check_heads()
        offset = self.sentence_start
        for mention in sorted(self.closed, key=lambda closed: (closed.start, closed.end)):
            head = head_word(self.heads, mention.start - offset, mention.end - offset)
            if head is None:
                raise InputError(f"{self.path}: line {mention.line_number}: no word of the mention of entity "
                                 f"{mention.entity} has its head outside it (a cycle in the heads)")
            self.document.mentions.append(Mention(mention.start, mention.end, offset + head, mention.entity,
                                                  mention_type(self.document.upos[offset + head])))
        self.document.sentence_starts.append(offset)
        self._start_sentence()

    def check_heads(self) -> None:
        """Every head of the current sentence lies in [0, its words] and is not the word itself."""
        size = len(self.heads)
        for position, head in enumerate(self.heads, start=1):
            if head > size or head == position:
                problem = "is the word's own position" if head == position else f"is outside [0, {size}]"
                raise InputError(f"{self.path}: line {self.line_numbers[position - 1]}: head {head} {problem}")

    def end_document(self) -> None:
        """Close the current document: no mention may still be open; a document without words is left out."""
        self.end_sentence()
        if self.open_mentions:
            opened = self.open_mentions[0]
            raise InputError(f"{self.path}: line {opened.line_number}: unbalanced Entity brackets: the mention of "
                             f"entity {opened.entity} opened here is never closed in document "
                             f"{self.document.doc_id!r}")
        if self.document.words:
            self.documents.append(self.document)


def read_documents(path: str | Path) -> list[Document]:
    """The documents of a CoNLL-U file with `Entity=` coreference."""
    return _Reader(Path(path)).read()


def piece_counter(tokenizer: ModelTokenizer) -> Callable[[str], int]:
    """A function giving the number of the model's tokens of one word as it reads after a space, as word-level
    extraction tokenizes it (cached by form)."""
    return cache(lambda word: len(tokenizer.tokenize_word(word)))


def pack_windows(sentence_lengths: list[int], max_sequence_length: int) -> list[tuple[int, int]]:
    """Greedy packing of sentences (their token counts) into windows, as (first sentence, end sentence) pairs."""
    windows: list[tuple[int, int]] = []
    first, length = 0, SPECIAL_TOKENS_PER_WINDOW
    for index, sentence_length in enumerate(sentence_lengths):
        if index > first and length + sentence_length > max_sequence_length:
            windows.append((first, index))
            first, length = index, SPECIAL_TOKENS_PER_WINDOW
        length += sentence_length
    if sentence_lengths:
        windows.append((first, len(sentence_lengths)))
    return windows


def window_example(document: Document, window: int, start: int, end: int) -> dict:
    """The example of the words `start`..`end` of a document, with the mentions that lie within them."""
    mentions = [
        {"start": mention.start - start, "end": mention.end - start, "head": mention.head - start,
         "entity": mention.entity, "type": mention.type}
        for mention in document.mentions
        if start <= mention.start and mention.end <= end
    ]
    return {"doc_id": document.doc_id, "window": window, "words": document.words[start:end],
            "upos": document.upos[start:end], "feats": document.feats[start:end], "mentions": mentions}


def document_windows(document: Document, count_pieces: Callable[[str], int], max_sequence_length: int = 128,
                     first_window_only: bool = False) -> tuple[list[dict], int]:
    """A document's window examples, and how many mentions were dropped for crossing a window border."""
    starts = [*document.sentence_starts, len(document.words)]
    sentence_lengths = [sum(count_pieces(word) for word in document.words[starts[index]:starts[index + 1]])
                        for index in range(len(document.sentence_starts))]
    windows = pack_windows(sentence_lengths, max_sequence_length)
    examples, n_dropped = [], 0
    for window, (first, end) in enumerate(windows[:1] if first_window_only else windows):
        word_start, word_end = starts[first], starts[end]
        examples.append(window_example(document, window, word_start, word_end))
        n_dropped += sum(word_start <= mention.start < word_end < mention.end for mention in document.mentions)
    return examples, n_dropped
