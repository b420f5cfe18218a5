"""The general analysis end to end: statistics, behaviours, embedding, figures, general.json and general.md."""

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import utils
from analysis import behaviour, figures, general

# Figure 1's default heads: the strongest of each of these behaviours (score key, caption).
FIGURE1_CRITERIA = (
    ("next", "attends to next token"),
    ("prev", "attends to previous token"),
    ("sep", "attends to [SEP]"),
    ("entropy", "attends broadly"),
)
SUMMARY_COLUMNS = ("broad", "next", "prev", "cls", "sep", "punct")


@dataclass
class Options:
    """What to show: Figure 1's example and heads, named heads of Figure 6, behaviour thresholds, MDS seed.

    Heads are 1-based `layer-head` names; `named_heads` is "paper" (BERT-base's heads from the paper)
    or "LAYER-HEAD=NAME,...", and by default marks Figure 1's heads.
    """

    example_index: int | None = None
    figure_heads: Sequence[str] = ()
    named_heads: str | None = None
    seed: int = 0
    broad_entropy: float = behaviour.BROAD_ENTROPY
    position_threshold: float = behaviour.POSITION_THRESHOLD
    token_threshold: float = behaviour.TOKEN_THRESHOLD

    def thresholds(self) -> dict[str, float]:
        """The keyword arguments of behaviour.behaviour_labels."""
        return {
            "broad_entropy": self.broad_entropy,
            "position_threshold": self.position_threshold,
            "token_threshold": self.token_threshold,
        }


def strongest_heads(statistics: general.GeneralStatistics) -> list[tuple[int, str]]:
    """(flat index, caption) of the head scoring highest on each FIGURE1_CRITERIA, all distinct."""
    chosen: list[tuple[int, str]] = []
    scores = {**statistics.avg_attn, "entropy": statistics.entropy}
    for key, caption in FIGURE1_CRITERIA:
        ranking = np.argsort(-scores[key].ravel(), kind="stable")
        flat_index = int(next(index for index in ranking if index not in {head for head, _ in chosen}))
        unit = "nats" if key == "entropy" else "avg. attention"
        chosen.append((flat_index, f"{caption}\n({scores[key].ravel()[flat_index]:.2f} {unit})"))
    return chosen


def parse_named_heads(spec: str, grid: tuple[int, int]) -> dict[int, str]:
    """Flat index -> name, from "paper" or "LAYER-HEAD=NAME,..." (1-based); ValueError when malformed."""
    if spec == "paper":
        if grid != (12, 12):
            raise ValueError(f"the paper's heads are BERT-base's 12 x 12, not {grid[0]} x {grid[1]}")
        return {(layer - 1) * 12 + head - 1: name for (layer, head), name in behaviour.PAPER_BERT_BASE_HEADS.items()}
    named = {}
    for item in spec.split(","):
        head, equals, name = item.partition("=")
        if not equals or not name.strip():
            raise ValueError(f"'{item}' is not LAYER-HEAD=NAME")
        named[behaviour.parse_head(head, grid)] = name.strip()
    return named


def summary_markdown(statistics: general.GeneralStatistics, labels: np.ndarray, source: str, options: Options) -> str:
    """general.md: per layer, the mean attention to special tokens and the heads of each behaviour."""
    n_layers, n_heads = statistics.grid
    lines = [
        "# General attention analysis",
        "",
        f"Source: `{source}`: {statistics.n_examples} examples with attention maps, {n_layers} layers x "
        f"{n_heads} heads. Heads are written 1-based as `layer-head`.",
        "",
        f"Entropy of uniform attention over these examples: {statistics.uniform_entropy:.2f} nats.",
        f"Behaviours: next / previous token when that average attention > {options.position_threshold}; "
        f"[CLS] / [SEP] / `.` `,` when > {options.token_threshold}; broadly when the mean entropy > "
        f"{options.broad_entropy} nats.",
        "",
        "## Per layer",
        "",
        "Attention columns are the layer's mean over heads of the average attention to [CLS], [SEP] and `.` `,`;",
        "entropy is the layer's mean entropy (nats); the other columns list the heads with each behaviour.",
        "",
        "| layer | to [CLS] | to [SEP] | to `.` `,` | entropy | "
        + " | ".join(behaviour.BEHAVIOUR_NAMES[key] for key in SUMMARY_COLUMNS)
        + " |",
        "|" + "---:|" * 5 + "---|" * len(SUMMARY_COLUMNS),
    ]
    for layer in range(n_layers):
        means = [statistics.avg_attn[key][layer].mean() for key in ("cls", "sep", "punct")]
        heads = [
            ", ".join(f"{layer + 1}-{head + 1}" for head in np.flatnonzero(labels[layer] == key)) or "-"
            for key in SUMMARY_COLUMNS
        ]
        cells = [str(layer + 1), *(f"{mean:.2f}" for mean in means), f"{statistics.entropy[layer].mean():.2f}", *heads]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def run(attn_path: str, outdir: str, distances_path: str | None = None, options: Options | None = None) -> dict:
    """Compute everything from an attention pickle (and head distances), write OUTDIR's files; returns the JSON."""
    options = options or Options()
    checked: dict = {}

    def check_grid(n_layers: int, n_heads: int) -> None:
        """Check the distances and the head options against the first example's grid, before the long pass."""
        grid = (n_layers, n_heads)
        if distances_path is not None:
            checked["distances"] = behaviour.read_head_distances(distances_path, grid)
        try:
            checked["figure_heads"] = [behaviour.parse_head(name, grid) for name in options.figure_heads]
            checked["named_heads"] = parse_named_heads(options.named_heads, grid) if options.named_heads else None
        except ValueError as error:
            raise utils.InputError(f"{attn_path}: {error}") from None

    statistics, shown = general.collect(attn_path, options.example_index, check_grid)
    labels = behaviour.behaviour_labels(statistics.avg_attn, statistics.entropy, **options.thresholds())
    figure_heads = [(index, behaviour.BEHAVIOUR_NAMES[labels.ravel()[index]]) for index in checked["figure_heads"]]
    figure_heads = figure_heads or strongest_heads(statistics)
    output = {**statistics.to_json(), "behaviour": labels.tolist()}

    figures.save_figure(figures.plot_example_heads(shown, figure_heads), outdir, "figure1_example_heads")
    figures.save_figure(figures.plot_token_attention(statistics), outdir, "figure2_token_attention")
    figures.save_figure(figures.plot_entropies(statistics), outdir, "figure4_entropies")
    if distances_path is not None:
        points = behaviour.embed_heads(checked["distances"], options.seed)
        named_heads = checked["named_heads"] or {index: "(Fig. 1)" for index, _ in figure_heads}
        figures.save_figure(figures.plot_head_embedding(points, labels, named_heads), outdir, "figure6_head_embedding")
        output["mds"] = points.tolist()
    utils.write_json(Path(outdir) / "general.json", output)
    utils.write_text(Path(outdir) / "general.md", summary_markdown(statistics, labels, attn_path, options))
    return output
