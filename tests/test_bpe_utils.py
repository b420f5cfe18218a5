"""Word-level attention (bpe_utils): sums to split words, means from them, rows stay distributions."""

import numpy as np
import pytest

from bpe_utils import WordRowsByBlocks, word_level_attention, word_starts


def random_maps(rng: np.random.Generator, layers: int, heads: int, n: int) -> np.ndarray:
    """Row-stochastic float32 maps [layers, heads, n, n]."""
    logits = rng.normal(scale=3.0, size=(layers, heads, n, n))
    maps = np.exp(logits)
    return (maps / maps.sum(axis=-1, keepdims=True)).astype(np.float32)


def test_word_starts():
    np.testing.assert_array_equal(word_starts([1, 3, 2]), [0, 1, 2, 5, 7])


@pytest.mark.parametrize("mode", ["mean", "first", "max"])
def test_rows_sum_to_one(mode):
    maps = random_maps(np.random.default_rng(0), 2, 3, 9)
    words = word_level_attention(maps, [2, 1, 3, 1], mode)
    assert words.shape == (2, 3, 6, 6)
    np.testing.assert_allclose(words.sum(axis=-1), 1.0, atol=1e-6)


@pytest.mark.parametrize("mode", ["mean", "first", "max"])
def test_single_piece_words_leave_maps_unchanged(mode):
    maps = random_maps(np.random.default_rng(1), 3, 2, 7)
    np.testing.assert_allclose(word_level_attention(maps, [1] * 5, mode), maps, atol=1e-6)


def test_hand_computed_split_word():
    """Tokens [CLS] a ##b c [SEP]: word 1 is split into tokens 1 and 2."""
    token_maps = np.array(
        [
            [0.5, 0.1, 0.1, 0.2, 0.1],
            [0.2, 0.2, 0.4, 0.1, 0.1],
            [0.0, 0.6, 0.2, 0.1, 0.1],
            [0.3, 0.3, 0.3, 0.0, 0.1],
            [0.1, 0.1, 0.1, 0.1, 0.6],
        ]
    )[None, None]
    expected_mean = np.array(
        [
            [0.5, 0.2, 0.2, 0.1],
            [0.1, 0.7, 0.1, 0.1],  # from the split word: mean of [0.2, 0.6, 0.1, 0.1] and [0.0, 0.8, 0.1, 0.1]
            [0.3, 0.6, 0.0, 0.1],
            [0.1, 0.2, 0.1, 0.6],
        ]
    )
    np.testing.assert_allclose(word_level_attention(token_maps, [2, 1])[0, 0], expected_mean, atol=1e-12)
    np.testing.assert_allclose(word_level_attention(token_maps, [2, 1], "first")[0, 0, 1], [0.2, 0.6, 0.1, 0.1])
    max_row = np.array([0.2, 0.8, 0.1, 0.1]) / 1.2
    np.testing.assert_allclose(word_level_attention(token_maps, [2, 1], "max")[0, 0, 1], max_row)


def test_pieces_must_fit_the_tokens():
    with pytest.raises(ValueError, match="do not fit"):
        word_level_attention(np.ones((1, 1, 5, 5)) / 5, [2, 2])


@pytest.mark.parametrize("mode", ["mean", "first", "max"])
def test_word_rows_by_blocks_equal_the_whole_word_level_map(mode):
    """Blocks of 1 to n token rows, some splitting a word (one of 5 pieces, longer than a block of 3): every word's
    row comes once, in order, bit for bit the row word_level_attention gives the whole map."""
    rng = np.random.default_rng(3)
    pieces_per_word = [1, 3, 2, 1, 5, 1]
    n = sum(pieces_per_word) + 2
    token_maps = rng.random((2, 3, n, n)).astype(np.float32)
    token_maps /= token_maps.sum(-1, keepdims=True)
    whole = word_level_attention(token_maps, pieces_per_word, mode)
    for rows in (1, 2, 3, 7, n):
        by_blocks = WordRowsByBlocks(pieces_per_word, mode)
        positions, pooled = zip(*(by_blocks.add(token_maps[:, :, start:start + rows]) for start in range(0, n, rows)),
                                strict=True)
        np.testing.assert_array_equal(np.concatenate(positions), np.arange(len(pieces_per_word) + 2))
        np.testing.assert_array_equal(np.concatenate(pooled, axis=-2), whole)
