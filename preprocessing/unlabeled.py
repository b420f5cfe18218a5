"""Raw text -> BERT pre-training style `[CLS] A [SEP] B [SEP]` segments.

Input: one sentence a line, documents separated by blank lines (the last document needs no
trailing blank line). Each document is cut into chunks as BERT pre-training does: sentences are
accumulated until they hold `max_num_tokens` WordPiece tokens or the document ends; A is the
first `a_end` sentences of the chunk (`a_end` uniform in [1, sentences - 1]) and B the rest, so B
is always the true continuation of A (never a random sentence from another document). A pair
longer than `max_num_tokens` is trimmed, one token at a time, from the longer side (B on a tie)
at its front or back with equal chance.

Departures from the original, which dropped the rest of a document at any one-sentence chunk:
a chunk of a single sentence (a one-sentence document, the last sentence of a document, or one
sentence long enough to fill a chunk alone) is split at a random token boundary, A being the
sentence's first part and B the rest. A one-sentence chunk of a single token cannot be split;
it is skipped and counted.
"""

from collections.abc import Iterable, Iterator
from itertools import chain
from pathlib import Path

import numpy as np

from bert.tokenization import CLS, SEP
from utils import InputError, opened_input

SPECIAL_TOKENS_PER_SEGMENT = 3  # [CLS], [SEP], [SEP]


def read_documents(path: str | Path) -> Iterator[list[str]]:
    """Yield each document of a text file as its list of non-blank lines (sentences), in order."""
    document: list[str] = []
    with opened_input(path) as stream:
        for line_number, raw_line in enumerate(stream, start=1):
            try:
                line = raw_line.decode("utf-8").strip()
            except UnicodeDecodeError as error:
                raise InputError(f"{path}: line {line_number}: not UTF-8 ({error.reason})") from None
            if line:
                document.append(line)
            elif document:
                yield document
                document = []
    if document:
        yield document


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


def document_segments(
    document: list[list[str]], max_num_tokens: int, rng: np.random.Generator
) -> tuple[list[list[str]], int]:
    """`[CLS] A [SEP] B [SEP]` segments of one tokenized document (sentences, each a list of tokens).

    Returns the segments and the number of chunks skipped (one sentence of one token); empty sentences are ignored.
    """
    sentences = [sentence for sentence in document if sentence]
    segments = []
    skipped = 0
    chunk: list[list[str]] = []
    chunk_length = 0
    for index, sentence in enumerate(sentences):
        chunk.append(sentence)
        chunk_length += len(sentence)
        if chunk_length < max_num_tokens and index < len(sentences) - 1:
            continue
        if chunk_length < 2:
            skipped += 1
        else:
            tokens_a, tokens_b = _pair(chunk, rng)
            kept_a, kept_b = truncated_lengths(len(tokens_a), len(tokens_b), max_num_tokens)
            segments.append([CLS, *_trim(tokens_a, kept_a, rng), SEP, *_trim(tokens_b, kept_b, rng), SEP])
        chunk = []
        chunk_length = 0
    return segments, skipped


def build_segments(
    documents: Iterable[list[list[str]]], max_sequence_length: int, num_segments: int, seed: int = 0
) -> tuple[list[list[str]], int]:
    """The first `num_segments` segments of tokenized documents (reading stops there) and the chunks skipped.

    Each segment has at most `max_sequence_length` tokens; the same documents and seed give the same segments.
    """
    if max_sequence_length < SPECIAL_TOKENS_PER_SEGMENT + 2:
        raise InputError(
            f"max_sequence_length must be at least {SPECIAL_TOKENS_PER_SEGMENT + 2}, got {max_sequence_length}"
        )
    if num_segments < 1:
        raise InputError(f"the number of segments must be at least 1, got {num_segments}")
    rng = np.random.default_rng(seed)
    segments: list[list[str]] = []
    skipped = 0
    for document in documents:
        new_segments, new_skipped = document_segments(document, max_sequence_length - SPECIAL_TOKENS_PER_SEGMENT, rng)
        segments.extend(new_segments[: num_segments - len(segments)])
        skipped += new_skipped
        if len(segments) == num_segments:
            break
    return segments, skipped
