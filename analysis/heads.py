"""Head naming and the grid check: the one place that converts between the three names of a head.

Data is 0-based everywhere: arrays are `[layers, heads]` and a head's flat index is `layer * n_heads + head`.
People read heads 1-based as `layer-head`, the paper's convention: in a 12-head grid, flat index 13 is the
pair (1, 1) and the label "2-2".
"""

from typing import NamedTuple

import numpy as np


def pair_label(layer: int, head: int) -> str:
    """The 1-based `layer-head` label of a 0-based (layer, head) pair."""
    return f"{layer + 1}-{head + 1}"


class HeadGrid(NamedTuple):
    """The (layers, heads) grid of a model's attention; compares equal to the plain tuple."""

    n_layers: int
    n_heads: int

    @classmethod
    def of(cls, attention_maps: object) -> "HeadGrid":
        """The grid of maps `[layers, heads, n, n]`; ValueError for anything else."""
        shape = getattr(attention_maps, "shape", None)
        if not isinstance(attention_maps, np.ndarray) or len(shape) != 4 or shape[2] != shape[3]:
            raise ValueError(f"expected an array [layers, heads, n, n], got {shape or type(attention_maps).__name__}")
        return cls(int(shape[0]), int(shape[1]))

    def __str__(self) -> str:
        return f"{self.n_layers} x {self.n_heads}"

    @property
    def size(self) -> int:
        """How many heads in all, N = layers * heads."""
        return self.n_layers * self.n_heads

    def expect(self, other: "HeadGrid") -> None:
        """ValueError unless `other` is this grid (maps of one model have one grid)."""
        if tuple(other) != tuple(self):
            raise ValueError(f"maps of {HeadGrid(*other)} heads after maps of {self} heads")

    def flat(self, layer: int, head: int) -> int:
        """The flat index of a 0-based (layer, head) pair."""
        return layer * self.n_heads + head

    def pair(self, flat_index: int) -> tuple[int, int]:
        """The 0-based (layer, head) pair of a flat index."""
        layer, head = divmod(int(flat_index), self.n_heads)
        return layer, head

    def label(self, flat_index: int) -> str:
        """The 1-based `layer-head` label of a flat index."""
        return pair_label(*self.pair(flat_index))

    def parse(self, label: str) -> int:
        """The flat index of a 1-based `layer-head` label; ValueError when malformed or off the grid."""
        layer, _, head = label.strip().partition("-")
        if not (layer.isdigit() and head.isdigit()) or not (
            1 <= int(layer) <= self.n_layers and 1 <= int(head) <= self.n_heads
        ):
            raise ValueError(f"'{label}' is not a head LAYER-HEAD (1-based) of a {self} grid")
        return self.flat(int(layer) - 1, int(head) - 1)
