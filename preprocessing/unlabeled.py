"""Raw text -> BERT pre-training style `[CLS] A [SEP] B [SEP]` segments, in the model's own pair template
(`<s> A </s></s> B </s>` for RoBERTa; bert/special_tokens.py).

Input: one sentence a line, documents separated by blank lines (the last document needs no
trailing blank line). Each document is cut into chunks as BERT pre-training does: sentences are
accumulated until they hold `max_num_tokens` WordPiece tokens or the document ends; A is the
first `a_end` sentences of the chunk (`a_end` uniform in [1, sentences - 1]) and B the rest, so B
is always the true continuation of A (never a random sentence from another document). A pair
longer than `max_num_tokens` is trimmed, one token at a time, from the longer side (B on a tie)
at its front or back with equal chance.

`original_segments` (the script's --original) reproduces the original script's segments exactly,
draw for draw on Python 3's `random` seeded with 0 (under Python 2 `randint` and `shuffle` draw
differently; `random()` agrees), reading lines as Python 3's text mode cuts them. Ours
(`build_segments`, the default) departs from it in four ways:

- a one-sentence chunk (a one-sentence document, the last sentence of a document, or one sentence
  long enough to fill a chunk alone) is split at a random token boundary, A being the sentence's
  first part and B the rest, where the original left B empty and dropped the rest of the document.
  A one-sentence chunk of a single token cannot be split; it is skipped and counted;
- the last document is processed even without a trailing blank line (the original never processed
  a document that the end of the file closed);
- the segments are not shuffled: they stay in document order (the original shuffled them all);
- the random draws come from numpy's seeded generator (`--seed`), not Python's `random`.
"""

import random
from collections.abc import Callable, Iterable, Iterator
from itertools import chain
from pathlib import Path

import numpy as np

from bert.special_tokens import BERT_PAIR_TEMPLATE, PairTemplate
from utils import InputError, OptionError, opened_input


def _decoded_lines(path: str | Path) -> Iterator[str]:
    """Each line of a UTF-8 text file, decoded and unstripped; a non-UTF-8 line is an InputError naming the file and
    the line."""
    with opened_input(path) as stream:
        for line_number, raw_line in enumerate(stream, start=1):
            try:
                line = raw_line.decode("utf-8")
            except UnicodeDecodeError as error:
                raise InputError(f"{path}: line {line_number}: not UTF-8 ({error.reason})") from None
            yield line


def read_documents(path: str | Path) -> Iterator[list[str]]:
    """Yield each document of a text file as its list of non-blank lines (sentences), in order."""
    document: list[str] = []
    for raw_line in _decoded_lines(path):
        line = raw_line.strip()
        if line:
            document.append(line)
        elif document:
            yield document
            document = []
    if document:
        yield document


def read_lines(path: str | Path) -> Iterator[str]:
    """Each line of a UTF-8 text file, stripped, cut as Python 3's text mode cuts them (at \\n, \\r\\n and a lone
    \\r), which is how the original script read its input."""
    for raw_line in _decoded_lines(path):
        text = raw_line.replace("\r\n", "\n").replace("\r", "\n")
        pieces = text.split("\n")
        if text.endswith("\n"):
            pieces.pop()
        yield from (piece.strip() for piece in pieces)


def truncated_lengths(len_a: int, len_b: int, max_num_tokens: int) -> tuple[int, int]:
    """Lengths of A and B after trimming the longer side (B on a tie) one token at a time to fit."""
    if len_a + len_b <= max_num_tokens:
        return len_a, len_b
    # Trimming the longer side first makes the two sides meet at ceil / floor of half the budget.
    kept_a = min(len_a, max(max_num_tokens - len_b, (max_num_tokens + 1) // 2))
    return kept_a, max_num_tokens - kept_a


def _trim(tokens: list[str], kept: int, rng: np.random.Generator) -> list[str]:
    """Keep `kept` consecutive tokens: each removed token comes off the front or the back with equal chance."""
    removed = len(tokens) - kept
    if removed == 0:
        return tokens
    from_front = int(rng.binomial(removed, 0.5))
    return tokens[from_front : from_front + kept]


def _pair(chunk: list[list[str]], rng: np.random.Generator) -> tuple[list[str], list[str]]:
    """Split a chunk into A and B at a random sentence boundary (a token boundary when it is one sentence)."""
    if len(chunk) == 1:
        split = int(rng.integers(1, len(chunk[0])))
        return chunk[0][:split], chunk[0][split:]
    a_end = int(rng.integers(1, len(chunk)))
    return list(chain.from_iterable(chunk[:a_end])), list(chain.from_iterable(chunk[a_end:]))


def chunks(sentences: list[list[str]], max_num_tokens: int) -> Iterator[list[list[str]]]:
    """The chunks of a document as BERT pre-training cuts them: consecutive sentences, each chunk closed once it
    holds `max_num_tokens` tokens or the document ends."""
    chunk: list[list[str]] = []
    chunk_length = 0
    for index, sentence in enumerate(sentences):
        chunk.append(sentence)
        chunk_length += len(sentence)
        if chunk_length >= max_num_tokens or index == len(sentences) - 1:
            yield chunk
            chunk, chunk_length = [], 0


def document_segments(
    document: list[list[str]], max_num_tokens: int, rng: np.random.Generator,
    template: PairTemplate = BERT_PAIR_TEMPLATE,
) -> tuple[list[list[str]], int]:
    """`[CLS] A [SEP] B [SEP]` segments (by `template`) of one tokenized document (sentences, each a list of tokens).

    Returns the segments and the number of chunks skipped (one sentence of one token); empty sentences are ignored.
    """
    segments = []
    skipped = 0
    for chunk in chunks([sentence for sentence in document if sentence], max_num_tokens):
        if sum(map(len, chunk)) < 2:
            skipped += 1
            continue
        tokens_a, tokens_b = _pair(chunk, rng)
        kept_a, kept_b = truncated_lengths(len(tokens_a), len(tokens_b), max_num_tokens)
        segments.append(template.pair(_trim(tokens_a, kept_a, rng), _trim(tokens_b, kept_b, rng)))
    return segments, skipped


def _check_sizes(max_sequence_length: int, num_segments: int, template: PairTemplate) -> None:
    """OptionError unless a segment has room for the template's special tokens and two tokens, and at least one is
    asked for."""
    if max_sequence_length < template.overhead + 2:
        raise OptionError("max_sequence_length", f"{max_sequence_length} is not in [{template.overhead + 2}, inf]: "
                          f"a segment needs {' '.join(template.pair(['A'], ['B']))}, at least 2 tokens")
    if num_segments < 1:
        raise OptionError("num_docs", f"{num_segments} is not in [1, inf]")


def build_segments(
    documents: Iterable[list[list[str]]], max_sequence_length: int, num_segments: int, seed: int = 0,
    template: PairTemplate = BERT_PAIR_TEMPLATE,
) -> tuple[list[list[str]], int]:
    """The first `num_segments` segments of tokenized documents (reading stops there) and the chunks skipped.

    Each segment has at most `max_sequence_length` tokens; the same documents and seed give the same segments.
    """
    _check_sizes(max_sequence_length, num_segments, template)
    rng = np.random.default_rng(seed)
    segments: list[list[str]] = []
    skipped = 0
    for document in documents:
        new_segments, new_skipped = document_segments(document, max_sequence_length - template.overhead, rng, template)
        segments.extend(new_segments[: num_segments - len(segments)])
        skipped += new_skipped
        if len(segments) == num_segments:
            break
    return segments, skipped


# ------------------------------------------------------------------------------------------ the original's segments

ORIGINAL_SEED = 0  # the original called random.seed(0) once, before reading


def _closed_documents(lines: Iterable[str], tokenize: Callable[[str], list[str]]) -> Iterator[list[list[str]]]:
    """Tokenized documents, each yielded at the blank line that closes it; one closed by the end of input is not.

    A line whose tokens are none (control characters only, say) is neither a sentence nor a document break.
    """
    document: list[list[str]] = []
    for raw_line in lines:
        line = raw_line.strip()
        if not line:
            if document:
                yield document
            document = []
        elif tokens := tokenize(line):
            document.append(tokens)


def _original_truncation(
    tokens_a: list[str], tokens_b: list[str], max_num_tokens: int, rng: random.Random
) -> tuple[list[str], list[str]]:
    """The original's trimming: while the pair is too long, the longer side (B on a tie) loses its first token when
    `rng.random() < 0.5`, else its last; one draw per token removed."""
    spans = [[0, len(tokens_a)], [0, len(tokens_b)]]  # [start, end) kept of A and of B
    while sum(end - start for start, end in spans) > max_num_tokens:
        span_a, span_b = spans
        longer = span_a if span_a[1] - span_a[0] > span_b[1] - span_b[0] else span_b
        if rng.random() < 0.5:
            longer[0] += 1
        else:
            longer[1] -= 1
    return tokens_a[slice(*spans[0])], tokens_b[slice(*spans[1])]


def _original_document_segments(
    document: list[list[str]], max_num_tokens: int, rng: random.Random, template: PairTemplate
) -> list[list[str]]:
    """The original's segments of one tokenized document: it stops at the first chunk whose A or B is empty (a
    one-sentence chunk), dropping the rest of the document."""
    segments = []
    for chunk in chunks(document, max_num_tokens):
        a_end = rng.randint(1, len(chunk) - 1) if len(chunk) >= 2 else 1
        tokens_a, tokens_b = _original_truncation(
            list(chain.from_iterable(chunk[:a_end])), list(chain.from_iterable(chunk[a_end:])), max_num_tokens, rng
        )
        if not tokens_a or not tokens_b:
            break
        segments.append(template.pair(tokens_a, tokens_b))
    return segments


def original_segments(
    lines: Iterable[str], tokenize: Callable[[str], list[str]], max_sequence_length: int, num_segments: int,
    template: PairTemplate = BERT_PAIR_TEMPLATE,
) -> list[list[str]]:
    """The original script's segments of text lines, in its shuffled order, draw for draw on `random.Random(0)`.

    Documents are read until `num_segments` segments are made (the document that reaches the count is processed
    whole, drawing all its numbers, and cut there); then the segments are shuffled.
    """
    _check_sizes(max_sequence_length, num_segments, template)
    rng = random.Random(ORIGINAL_SEED)
    segments: list[list[str]] = []
    for document in _closed_documents(lines, tokenize):
        max_num_tokens = max_sequence_length - template.overhead
        segments.extend(_original_document_segments(document, max_num_tokens, rng, template))
        if len(segments) >= num_segments:
            del segments[num_segments:]
            break
    rng.shuffle(segments)
    return segments
