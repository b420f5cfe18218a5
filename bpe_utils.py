"""Token-level -> word-level attention, as in the paper.

Attention *to* a word split into several pieces is the sum of the attention to its pieces, so rows
still sum to 1; attention *from* it is, by default, the mean over its pieces' rows (the paper's
definition; the original code silently took the first piece's row).
"""

import numpy as np

WORD_LEVEL_MODES = ("mean", "first", "max")


def word_starts(pieces_per_word: list[int]) -> np.ndarray:
    """Token index where each group begins, for the classifier token (`[CLS]`, `<s>`), the words, the separator
    (`[SEP]`, `</s>`): int [n_words + 2]."""
    return np.concatenate([[0], 1 + np.cumsum([0, *pieces_per_word])])


def word_level_attention(attention_maps: np.ndarray, pieces_per_word: list[int], mode: str = "mean") -> np.ndarray:
    """Word-level maps [..., n_words + 2, n_words + 2] from token maps [..., n_tokens, n_tokens].

    The tokens must be the classifier token (`[CLS]`, `<s>`), then the pieces of each word in order, then the
    separator (`[SEP]`, `</s>`). Modes for the
    attention_maps *from* a split word: `mean` of its pieces' rows, the `first` piece's row, or the
    element-wise `max` of its pieces' rows renormalised to sum to 1.
    """
    if mode not in WORD_LEVEL_MODES:
        raise ValueError(f"word-level mode must be one of {WORD_LEVEL_MODES}, got {mode!r}")
    starts = word_starts(pieces_per_word)
    if starts[-1] != attention_maps.shape[-1] - 1:
        raise ValueError(f"{sum(pieces_per_word)} word pieces do not fit {attention_maps.shape[-1]} tokens")
    return from_words(np.add.reduceat(attention_maps, starts, axis=-1), starts, mode)


def from_words(to_words: np.ndarray, starts: np.ndarray, mode: str) -> np.ndarray:
    """The rows of the groups of token rows beginning at `starts` (the last group runs to the end) of maps whose
    columns are already words [..., token rows, words], pooled by `mode` (see word_level_attention)."""
    if mode == "first":
        return to_words[..., starts, :]
    if mode == "max":
        pooled = np.maximum.reduceat(to_words, starts, axis=-2)
        return pooled / pooled.sum(axis=-1, keepdims=True)
    pieces = np.diff(np.append(starts, to_words.shape[-2]))
    return np.add.reduceat(to_words, starts, axis=-2) / pieces[:, None]


class WordRowsByBlocks:
    """The rows of a word-level map (word_level_attention) from blocks of consecutive token rows [heads, rows,
    n_tokens], as a long input is read (Encoder.streamed_maps): each word's row once its last piece's row has come,
    with the values word_level_attention gives the whole map (a word's token rows are pooled together even when a
    block boundary splits them)."""

    def __init__(self, pieces_per_word: list[int], mode: str = "mean") -> None:
        self.starts = word_starts(pieces_per_word)
        self.ends = np.append(self.starts[1:], self.starts[-1] + 1)  # the token after each group
        self.mode = mode
        self.pending: np.ndarray | None = None  # word-column rows of the tokens of an unfinished word
        self.next_token = 0

    def add(self, block: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(positions in the word-level map of the groups this block finishes, int [k]; their rows [heads, k,
        n_words + 2]) from the block of token rows that follows the last one."""
        rows = np.add.reduceat(block, self.starts, axis=-1)
        first_token = self.next_token - (0 if self.pending is None else self.pending.shape[-2])
        if self.pending is not None:
            rows = np.concatenate([self.pending, rows], axis=-2)
        self.next_token += block.shape[-2]
        finished = np.flatnonzero((self.starts >= first_token) & (self.ends <= self.next_token))
        done = int(self.ends[finished[-1]]) - first_token if len(finished) else 0
        self.pending = rows[..., done:, :] if done < rows.shape[-2] else None
        return finished, from_words(rows[..., :done, :], self.starts[finished] - first_token, self.mode)
