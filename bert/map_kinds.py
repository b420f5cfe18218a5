"""The kinds of map an attention file can hold (docs/definitions.md, "Beyond attention weights"), by name.

`--map` chooses one of MAP_KINDS; with `--aggregate` a context-mixing kind is stored as `<kind>-aggregated`.
"""

from utils import OptionError

MIXING_KINDS = ("attn-res-ln", "alti", "value-zeroing")  # context mixing, one map a layer (bert/context_mixing.py)
MAP_KINDS = ("attn", "norm", "rollout", *MIXING_KINDS)  # --map; docs/definitions.md, "Beyond attention weights"
AGGREGATED = "-aggregated"  # the suffix of a mixing kind's product across layers (--aggregate)


def stored_map_kind(map_kind: str, aggregate: bool) -> str:
    """What the examples' "map" says: `map_kind`, or with --aggregate `<kind>-aggregated` (mixing kinds only)."""
    if not aggregate:
        return map_kind
    if map_kind not in MIXING_KINDS:
        raise OptionError("aggregate", f"applies to {', '.join(MIXING_KINDS)}, not to --map {map_kind}"
                          + (" (rollout is already a product across layers)" if map_kind == "rollout" else ""))
    return map_kind + AGGREGATED


def maps_per_layer(map_kind: str) -> int | None:
    """1 for a stored kind with one map a layer (rollout, context mixing and their aggregates), else None (one a
    head)."""
    return 1 if map_kind == "rollout" or encoder_map_kind(map_kind) in MIXING_KINDS else None


def encoder_map_kind(map_kind: str) -> str:
    """What the Encoder computes for a stored kind: the weights for rollout, each layer's map for an aggregate."""
    return "attn" if map_kind == "rollout" else map_kind.removesuffix(AGGREGATED)
