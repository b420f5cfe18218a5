"""The paper's own figures (`--paper`): the heads, examples, words and MDS settings that the original notebooks used
for Figures 1, 5 and 6, in one place (the scripts, the notebooks and the tests read them from here).

Heads are 1-based `layer-head` labels; example indices are positions in the attention file, 0-based, as the list
positions of the original's released files (`unlabeled_attn.pkl` for Figure 1, `dev_attn.pkl` for Figure 5). They
only mean something on BERT-base maps of those files, so the preset refuses any grid but 12 x 12.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import utils
from analysis.general.behaviour import BERT_BASE_GRID, PAPER_BERT_BASE_HEADS
from analysis.heads import HeadGrid
from bert.special_tokens import BERT_SPECIAL_TOKENS, SpecialTokens

GRID = BERT_BASE_GRID

# Figure 1: one Wikipedia example, its last tokens only, four heads (label -> caption; {sep} stands for the data's
# separator token, [SEP] on BERT-base).
FIGURE1_EXAMPLE = 581
FIGURE1_TOKENS = 15
FIGURE1_CUT_LABEL = "..."  # the first label shown stands for the tokens cut off before it
FIGURE1_HEADS = {
    "1-1": "attends broadly",
    "3-1": "attends to next token",
    "8-7": "attends to {sep}",
    "11-6": "attends to periods",
}


@dataclass(frozen=True)
class RelationPanel:
    """One panel of Figure 5: a head drawn on two dev examples, the named words coloured.

    `color_keys`: the words are coloured on the attended (right) side, with the lines into them (the original's
    `color_from=False`); otherwise on the attending (left) side, with the lines out of them. `hide_special`:
    the classifier and separator columns (`[CLS]`, `[SEP]`) are set to 0 and each row renormalised (the original's
    `hide_sep=True`).
    """

    title: str
    head: str  # 1-based layer-head
    examples: tuple[int, int]  # dev positions
    words: tuple[str, ...]
    color_keys: bool = False
    hide_special: bool = False


FIGURE5_PANELS = (
    RelationPanel("Direct object", "8-10", (42, 1286), ("funds", "plans", "line")),
    RelationPanel("Noun premodifiers", "8-11", (13, 1671), ("language", "law", "fight", "time", "executive"),
                  color_keys=True),
    RelationPanel("Possessive", "7-6", (111, 244), ("his", "'s", "its")),
    RelationPanel("Passive auxiliary", "4-10", (192, 680), ("been", "was")),
    RelationPanel("Object of prep", "9-6", (975, 979), ("in", "with", "to", "of", "at"), hide_special=True),
)

# Figure 6: the original's metric MDS (random starts, its tolerance and iterations; the seed is --seed), and the
# heads the paper named.
MDS_SETTINGS = {"init": "random", "n_init": 5, "eps": 1e-10, "max_iter": 1000}
NAMED_HEADS = PAPER_BERT_BASE_HEADS

# The original notebooks' colours: lines blue, the named words and their lines red.
LINE_COLOR = "#0000ff"
WORD_COLOR = "#cc0000"


def check_grid(grid: Sequence[int], path: str | Path) -> None:
    """InputError unless `grid` is BERT-base's 12 x 12, the only grid the paper's heads and examples belong to."""
    if tuple(grid) != tuple(GRID):
        raise utils.InputError(f"{path}: --paper draws the paper's figures of BERT-base, whose maps have {GRID} "
                               f"heads; these have {HeadGrid(*grid)}")


def figure1_heads(grid: Sequence[int] = GRID,
                  special_tokens: SpecialTokens = BERT_SPECIAL_TOKENS) -> list[tuple[int, str]]:
    """Figure 1's heads as (0-based flat index, caption), the roles named by the data's `special_tokens`."""
    roles = special_tokens.record()
    return [(HeadGrid(*grid).parse(label), caption.format(**roles)) for label, caption in FIGURE1_HEADS.items()]


def named_heads(grid: Sequence[int] = GRID) -> dict[int, str]:
    """Figure 6's named heads: 0-based flat index -> name."""
    return {HeadGrid(*grid).parse(label): name for label, name in NAMED_HEADS.items()}


def embed_heads(head_distances: np.ndarray, seed: int = 0) -> np.ndarray:
    """Figure 6's 2-D embedding `[N, 2]` of head distances `[N, N]` as the original notebook made it: metric MDS of
    the symmetrised distances with MDS_SETTINGS, its random starts drawn from `seed` (the original left them
    unseeded)."""
    from sklearn.manifold import MDS  # imported here: scikit-learn takes seconds to load, only this needs it

    mds = MDS(n_components=2, metric="precomputed", random_state=seed, **MDS_SETTINGS)
    return mds.fit_transform((head_distances + head_distances.T) / 2)


def figure5_indices() -> list[int]:
    """The dev positions of every Figure 5 example, in increasing order."""
    return sorted({index for panel in FIGURE5_PANELS for index in panel.examples})


def last_tokens(tokens: Sequence[str], attention_maps: np.ndarray,
                count: int = FIGURE1_TOKENS) -> tuple[list[str], np.ndarray]:
    """Figure 1's cut: the last `count` tokens and the maps `[..., count, count]` between them, each row
    renormalised to sum to 1 (float64). When tokens were cut off, the first label becomes FIGURE1_CUT_LABEL."""
    kept = list(tokens[-count:])
    if len(tokens) > count:
        kept[0] = FIGURE1_CUT_LABEL
    crop = np.asarray(attention_maps, dtype=np.float64)[..., -count:, -count:]
    return kept, renormalised(crop)


def hide_special_columns(attention_maps: np.ndarray) -> np.ndarray:
    """Maps `[..., n, n]` with the first and last columns (the classifier and separator tokens of a word-level map)
    set to 0 and each row renormalised (float64); a row that had nothing else stays 0."""
    hidden = np.array(attention_maps, dtype=np.float64)
    hidden[..., :, [0, -1]] = 0.0
    return renormalised(hidden)


def renormalised(attention_maps: np.ndarray) -> np.ndarray:
    """Each row of `attention_maps` `[..., n, n]` divided by its sum (rows summing to 0 are left at 0)."""
    sums = attention_maps.sum(axis=-1, keepdims=True)
    return np.divide(attention_maps, sums, out=np.zeros_like(attention_maps), where=sums > 0)
