"""Behaviour labels of heads and their 2-D embedding by head distances (paper section 6, Figure 6)."""

from collections.abc import Sequence
from pathlib import Path

import numpy as np

import utils
from analysis.heads import HeadGrid
from bert.special_tokens import BERT_SPECIAL_TOKENS, SpecialTokens

# Labels in increasing precedence: a head meeting several criteria gets the last one, as in the
# original notebook's Figure 6 (e.g. a broad head that puts most attention on [SEP] is a [SEP] head). `cls` and
# `sep` are the roles (bert/special_tokens.py): [CLS]/[SEP] for BERT, <s>/</s> for RoBERTa.
BEHAVIOURS = ("other", "next", "prev", "broad", "cls", "sep", "punct")


def behaviour_names(special_tokens: SpecialTokens = BERT_SPECIAL_TOKENS) -> dict[str, str]:
    """Each of BEHAVIOURS in words, the roles named by the data's strings ("attends to [SEP]", "attends to </s>")."""
    return {
        "other": "other",
        "next": "attends to next token",
        "prev": "attends to previous token",
        "broad": "attends broadly",
        "cls": f"attends to {special_tokens.cls}",
        "sep": f"attends to {special_tokens.sep}",
        "punct": "attends to . and ,",
    }


BEHAVIOUR_NAMES = behaviour_names()  # BERT's


def joined_roles(roles: Sequence[SpecialTokens]) -> SpecialTokens:
    """The roles of several inputs, for labels: each role's distinct strings joined by " / " (`[CLS] / <s>`), so
    that inputs of one tokenizer keep its strings as they are."""
    return SpecialTokens(*(" / ".join(dict.fromkeys(getattr(one, role) for one in roles)) for role in ("cls", "sep")))

# Default thresholds, the original Figure 6's: entropy in nats, the others average attention.
BROAD_ENTROPY = 3.8
POSITION_THRESHOLD = 0.5
TOKEN_THRESHOLD = 0.6

# Heads of BERT-base that the paper found to track linguistic relations, by their 1-based labels.
BERT_BASE_GRID = HeadGrid(12, 12)
PAPER_BERT_BASE_HEADS = {
    "5-4": "Coreference",
    "8-11": "Determiner",
    "8-10": "Direct object",
    "9-6": "Object of prep.",
    "4-10": "Passive auxiliary",
    "7-6": "Possessive",
}


def behaviour_labels(
    avg_attn: dict[str, np.ndarray],
    entropy: np.ndarray,
    *,
    broad_entropy: float = BROAD_ENTROPY,
    position_threshold: float = POSITION_THRESHOLD,
    token_threshold: float = TOKEN_THRESHOLD,
) -> np.ndarray:
    """One of BEHAVIOURS per head, `[layers, heads]` of str.

    A head attends to next / previous token when that average attention exceeds `position_threshold`,
    broadly when its mean entropy (nats) exceeds `broad_entropy`, to the classifier / separator token ([CLS] /
    [SEP], <s> / </s>) / punctuation when that average attention exceeds `token_threshold`. The defaults are the
    original Figure 6's values (0.5, 3.8 nats, 0.6); the entropy threshold suits 128-token segments (uniform
    entropy log 128 = 4.85).
    """
    labels = np.full(entropy.shape, "other", dtype=object)
    criteria = {
        "next": avg_attn["next"] > position_threshold,
        "prev": avg_attn["prev"] > position_threshold,
        "broad": entropy > broad_entropy,
        "cls": avg_attn["cls"] > token_threshold,
        "sep": avg_attn["sep"] > token_threshold,
        "punct": avg_attn["punct"] > token_threshold,
    }
    for label in BEHAVIOURS[1:]:
        labels[criteria[label]] = label
    return labels


def read_head_distances(path: str | Path, grid: HeadGrid) -> np.ndarray:
    """The float64 `[N, N]` head distances pickled at `path`; InputError unless N = layers * heads of `grid`."""
    grid = HeadGrid(*grid)
    distances = utils.read_pickle(path)
    n = grid.size
    if not isinstance(distances, np.ndarray) or distances.shape != (n, n):
        shape = list(getattr(distances, "shape", [])) or type(distances).__name__
        raise utils.InputError(
            f"{path}: expected a [{n}, {n}] array of head distances for the maps' {grid} heads, got {shape}"
        )
    real = np.issubdtype(distances.dtype, np.floating) or np.issubdtype(distances.dtype, np.integer)
    if not real or not np.isfinite(distances).all() or (distances < 0).any():
        raise utils.InputError(f"{path}: head distances must be finite, non-negative real numbers")
    return distances.astype(np.float64)


def embed_heads(head_distances: np.ndarray, seed: int = 0) -> np.ndarray:
    """2-D metric MDS embedding `[N, 2]` of symmetric head distances `[N, N]`, deterministic for a seed."""
    from sklearn.manifold import MDS  # imported here: scikit-learn takes seconds to load, only this needs it

    mds = MDS(
        n_components=2,
        metric="precomputed",
        init="classical_mds",
        max_iter=1000,
        eps=1e-9,
        random_state=seed,
    )
    return mds.fit_transform((head_distances + head_distances.T) / 2)
