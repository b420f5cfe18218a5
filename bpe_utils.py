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
    to_words = np.add.reduceat(attention_maps, starts, axis=-1)
    if mode == "first":
        return to_words[..., starts, :]
    if mode == "max":
        from_words = np.maximum.reduceat(to_words, starts, axis=-2)
        return from_words / from_words.sum(axis=-1, keepdims=True)
    pieces = np.diff(np.append(starts, attention_maps.shape[-1]))
    return np.add.reduceat(to_words, starts, axis=-2) / pieces[:, None]
