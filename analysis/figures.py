"""The paper's figures: 1, 2, 4 and 6 (general analysis), 5 (syntax), and the attention-lines plot they share.

Layers are shown 1-based and heads as 1-based `layer-head`, as in the paper. The callers choose the
matplotlib backend (the script uses "Agg").
"""

from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib.colors
import numpy as np
from matplotlib import pyplot as plt
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure

import utils
from analysis.behaviour import BEHAVIOUR_NAMES, BEHAVIOURS
from analysis.coref import MentionExample
from analysis.dependency_data import RelationExample
from analysis.general import GeneralStatistics, ShownExample
from analysis.heads import HeadGrid, pair_label
from bert.tokenization import with_special_tokens

# (colour, marker) of each behaviour in Figure 6.
BEHAVIOUR_STYLES = {
    "other": ("#a0a8ac", "o"),
    "next": ("#d62728", ">"),
    "prev": ("#1f77b4", "<"),
    "broad": ("#ff7f0e", "^"),
    "cls": ("#9467bd", "$C$"),
    "sep": ("#2ca02c", "$S$"),
    "punct": ("#17becf", "s"),
}


def plot_attention_lines(
    ax: Axes,
    tokens: Sequence[str],
    attention: np.ndarray,
    *,
    highlight: Sequence[int] = (),
    key_highlight: Sequence[int] = (),
    color: str = "#1f77b4",
    highlight_color: str = "#d62728",
    key_highlight_color: str = "#2ca02c",
    title: str | None = None,
    min_weight: float = 0.002,
    max_linewidth: float = 2.5,
    fontsize: float = 8.0,
) -> None:
    """Draw one head's attention `[n, n]` on one example as lines from query tokens (left) to keys (right).

    A line's opacity is the square root of its weight (so that broad heads stay visible) and its width
    `0.2 + max_linewidth * weight` points; weights below `min_weight` are not drawn. Tokens at the `highlight`
    positions are bold in `highlight_color`, and so are the lines leaving them; keys at the `key_highlight`
    positions are bold in `key_highlight_color` on the right.
    """
    n = len(tokens)
    weights = np.clip(np.asarray(attention, dtype=np.float64), 0.0, 1.0)
    queries, keys = np.nonzero(weights >= min_weight)
    is_highlighted = np.isin(queries, highlight)
    order = np.argsort(is_highlighted, kind="stable")  # highlighted lines on top
    queries, keys, is_highlighted = queries[order], keys[order], is_highlighted[order]
    line_weights = weights[queries, keys]
    colors = np.array([matplotlib.colors.to_rgba(color), matplotlib.colors.to_rgba(highlight_color)])
    rgba = colors[is_highlighted.astype(int)]
    rgba[:, 3] = np.sqrt(line_weights)
    starts = np.stack([np.zeros_like(queries), -queries], axis=1)  # [lines, 2]: (x, y) of the query token
    ends = np.stack([np.ones_like(keys), -keys], axis=1)
    segments = np.stack([starts, ends], axis=1)  # [lines, 2 points, 2]
    ax.add_collection(LineCollection(segments, colors=rgba, linewidths=0.2 + max_linewidth * line_weights))
    for x, alignment, marked, marked_color in ((-0.04, "right", set(highlight), highlight_color),
                                               (1.04, "left", set(key_highlight), key_highlight_color)):
        for position, token in enumerate(tokens):
            style = {"color": marked_color, "fontweight": "bold"} if position in marked else {"color": "black"}
            ax.text(x, -position, token, ha=alignment, va="center", fontsize=fontsize, **style)
    ax.set_xlim(-0.5, 1.5)
    ax.set_ylim(-n + 0.5, 0.5)
    ax.axis("off")
    if title:
        ax.set_title(title, fontsize=fontsize + 2)


def plot_example_heads(example: ShownExample, heads: Sequence[tuple[int, str]]) -> Figure:
    """Figure 1: chosen heads on one example, side by side; `heads` holds (0-based flat index, caption)."""
    n = len(example.tokens)
    grid = HeadGrid.of(example.attention_maps)
    figure, axes = plt.subplots(
        1, len(heads), figsize=(2.8 * len(heads), 1.2 + 0.17 * n), squeeze=False, layout="constrained"
    )
    flat_maps = example.attention_maps.reshape(-1, n, n)
    for ax, (flat_index, caption) in zip(axes[0], heads, strict=True):
        title = f"Head {grid.label(flat_index)}\n{caption}"
        plot_attention_lines(ax, example.tokens, flat_maps[flat_index], title=title)
    figure.suptitle(f"Attention of single heads on example {example.index} (heads are 1-based layer-head)")
    return figure


def _plot_by_layer(ax: Axes, values: np.ndarray, offset: float, color: str, label: str) -> None:
    """One head per point at its 1-based layer (shifted by `offset`), and a line through the layer means."""
    n_layers, n_heads = values.shape
    layers = np.arange(1, n_layers + 1)
    ax.scatter(np.repeat(layers + offset, n_heads), values.ravel(), s=12, color=color, alpha=0.45, linewidths=0)
    ax.plot(layers + offset, values.mean(1), color=color, marker="o", markersize=4, label=f"{label} (layer mean)")


def _layer_axis(ax: Axes, n_layers: int, ylabel: str) -> None:
    """1-based integer layer ticks, labels and a light grid."""
    ax.set_xticks(np.arange(1, n_layers + 1))
    ax.set_xlim(0.4, n_layers + 0.6)
    ax.set_xlabel("layer")
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)


def plot_token_attention(statistics: GeneralStatistics) -> Figure:
    """Figure 2: average attention per layer to special tokens, [SEP] from [SEP] vs others, and positions."""
    n_layers = statistics.grid[0]
    panels = [
        ("Attention to special tokens", [("cls", "[CLS]"), ("sep", "[SEP]"), ("punct", ". or ,")]),
        ("Attention to [SEP] by kind of query token", [("sep_sep", "[SEP] → [SEP]"), ("rest_sep", "other → [SEP]")]),
        (
            "Attention to relative positions",
            [("self", "same token"), ("next", "next token"), ("prev", "previous token")],
        ),
    ]
    figure, axes = plt.subplots(3, 1, figsize=(7.5, 10.5), sharex=True, layout="constrained")
    for ax, (title, series) in zip(axes, panels, strict=True):
        offsets = np.linspace(-0.2, 0.2, len(series))
        for offset, (key, label), color in zip(offsets, series, ("C0", "C1", "C2"), strict=False):
            _plot_by_layer(ax, statistics.avg_attn[key], offset, color, label)
        _layer_axis(ax, n_layers, "average attention")
        ax.set_ylim(-0.03, 1.03)
        ax.set_title(title)
        ax.legend(loc="upper left", fontsize=8, framealpha=0.9)
        ax.label_outer()
    figure.suptitle(f"Average attention of each head (points) over {statistics.n_examples} examples")
    return figure


def plot_entropies(statistics: GeneralStatistics) -> Figure:
    """Figure 4: entropy of each head's attention, over all queries and from [CLS], with the uniform line."""
    n_layers = statistics.grid[0]
    panels = [
        ("Entropy of attention (mean over queries)", statistics.entropy),
        ("Entropy of attention from [CLS]", statistics.entropy_from_cls),
    ]
    figure, axes = plt.subplots(2, 1, figsize=(7.5, 7.5), sharex=True, layout="constrained")
    for ax, (title, values) in zip(axes, panels, strict=True):
        _plot_by_layer(ax, values, 0.0, "C0", "entropy")
        ax.axhline(statistics.uniform_entropy, color="0.3", linestyle="--", label="uniform attention")
        _layer_axis(ax, n_layers, "entropy (nats)")
        ax.set_ylim(bottom=0.0, top=max(statistics.uniform_entropy, values.max()) * 1.08)
        ax.set_title(title)
        ax.legend(loc="lower right", fontsize=8, framealpha=0.9)
        ax.label_outer()
    figure.suptitle(f"Attention entropies of each head (points) over {statistics.n_examples} examples")
    return figure


def plot_head_embedding(points: np.ndarray, labels: np.ndarray, named_heads: Mapping[int, str] | None = None) -> Figure:
    """Figure 6: heads `[N, 2]` embedded by their distances, coloured by behaviour `[layers, heads]` and by layer.

    `named_heads` maps 0-based flat indices to names, circled and labelled in both panels.
    """
    grid = HeadGrid(*labels.shape)
    flat_labels = labels.ravel()
    figure, (behaviour_ax, layer_ax) = plt.subplots(1, 2, figsize=(13.0, 6.2), layout="constrained")
    for behaviour in BEHAVIOURS:
        chosen = flat_labels == behaviour
        if chosen.any():
            color, marker = BEHAVIOUR_STYLES[behaviour]
            behaviour_ax.scatter(*points[chosen].T, color=color, marker=marker, s=42, label=BEHAVIOUR_NAMES[behaviour])
    layers = np.repeat(np.arange(1, grid.n_layers + 1), grid.n_heads)
    norm = matplotlib.colors.BoundaryNorm(np.arange(0.5, grid.n_layers + 1.5), plt.get_cmap("viridis").N)
    scatter = layer_ax.scatter(*points.T, c=layers, cmap="viridis", norm=norm, s=36)
    figure.colorbar(scatter, ax=layer_ax, ticks=np.arange(1, grid.n_layers + 1), label="layer")
    for ax in (behaviour_ax, layer_ax):
        for flat_index, name in (named_heads or {}).items():
            ax.scatter(*points[flat_index], marker="o", facecolors="none", edgecolors="black", s=160, linewidths=1.2)
            ax.annotate(
                f"{grid.label(flat_index)} {name}",
                points[flat_index],
                xytext=(7, 5),
                textcoords="offset points",
                fontsize=8,
                bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "alpha": 0.75, "linewidth": 0},
            )
        ax.set_aspect("equal", adjustable="datalim")  # distances are read off the plane
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_facecolor("0.97")
    behaviour_ax.set_title("Coloured by behaviour")
    layer_ax.set_title("Coloured by layer (1-based)")
    behaviour_ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.02), ncol=4, fontsize=8, frameon=False)
    figure.suptitle(
        "Attention heads embedded by multidimensional scaling of their Jensen-Shannon distances"
        + ("\n(circled: named heads, 1-based layer-head)" if named_heads else "")
    )
    return figure


def plot_relation_heads(table: Sequence[dict], examples: Mapping[str, RelationExample]) -> Figure:
    """Figure 5: each relation's best head (a Table 1 row) on an example sentence that has the relation.

    The head's own attention is drawn (queries left, keys right); highlighted are the words whose attention
    should find the other end of the relation: its dependents for direction dep->head, their heads for head->dep.
    """
    rows = [row for row in table if row["relation"] in examples]
    longest = max(len(examples[row["relation"]].words) for row in rows) + 2
    figure, axes = plt.subplots(1, len(rows), figsize=(2.9 * len(rows), 1.4 + 0.19 * longest), squeeze=False)
    for ax, row in zip(axes[0], rows, strict=True):
        example = examples[row["relation"]]
        dependents = [position for position, label in enumerate(example.relations, start=1)
                      if label == row["relation"]]
        queries = dependents if row["direction"] == "dep->head" else [example.heads[i - 1] for i in dependents]
        title = (f"{row['relation']}: head {pair_label(row['layer'], row['head'])}\n"
                 f"{row['direction']}, {100 * row['accuracy']:.1f}% accurate")
        plot_attention_lines(ax, with_special_tokens(example.words), example.attention_maps[row["layer"], row["head"]],
                             highlight=queries, title=title)
    figure.suptitle("The best head of each relation (1-based layer-head); in red, the relation's dependents "
                    "(dep->head) or heads (head->dep) and their attention")
    figure.tight_layout()
    return figure


def plot_head_grid(values: np.ndarray, title: str, label: str) -> Figure:
    """A heat map of one number per head, `[layers, heads]`, with 1-based layer and head ticks."""
    n_layers, n_heads = values.shape
    figure, ax = plt.subplots(figsize=(1.2 + 0.5 * n_heads, 1.2 + 0.45 * n_layers), layout="constrained")
    image = ax.imshow(values, cmap="viridis", aspect="auto")
    ax.set_xticks(np.arange(n_heads), np.arange(1, n_heads + 1))
    ax.set_yticks(np.arange(n_layers), np.arange(1, n_layers + 1))
    ax.set_xlabel("head")
    ax.set_ylabel("layer")
    best_layer, best_head = np.unravel_index(np.nanargmax(values), values.shape)
    ax.add_patch(plt.Rectangle((best_head - 0.5, best_layer - 0.5), 1, 1, fill=False, edgecolor="red", linewidth=2))
    figure.colorbar(image, ax=ax, label=label)
    ax.set_title(title)
    return figure


def plot_mention_heads(examples: Sequence[MentionExample], layer: int, head: int) -> Figure:
    """The head (layer, head) on scored mentions, each cropped to the words from its first antecedent to itself:
    the mention's head word in red (its attention drawn in red), its antecedents' head words in green."""
    figure, axes = plt.subplots(1, len(examples), figsize=(3.3 * len(examples), 6.5), squeeze=False)
    for ax, example in zip(axes[0], examples, strict=True):
        mention = example.scored.mention
        start = max(0, min(example.scored.antecedent_heads) - 2)
        stop = min(len(example.window.words), mention.end + 2)
        words = slice(start + 1, stop + 1)  # map positions: [CLS] is 0
        crop = example.attention_maps[layer, head, words, words]
        title = f"{mention.type}: '{' '.join(example.window.words[mention.start:mention.end])}'"
        plot_attention_lines(ax, example.window.words[start:stop], crop, highlight=[mention.head - start],
                             key_highlight=[word - start for word in example.scored.antecedent_heads], title=title)
    figure.suptitle(f"Head {pair_label(layer, head)} on mentions with antecedents (1-based layer-head): in red the "
                    "mention's head word and its attention, in green its antecedents' head words")
    figure.tight_layout()
    return figure


def save_figure(figure: Figure, outdir: str | Path, name: str) -> list[Path]:
    """Write `figure` as OUTDIR/NAME.png and .svg, atomically, and close it; returns the two paths."""
    paths = [Path(outdir) / f"{name}.{extension}" for extension in ("png", "svg")]
    for path in paths:
        with utils.atomic_output(path, "wb") as stream:
            figure.savefig(stream, format=path.suffix[1:], dpi=150, bbox_inches="tight")
    plt.close(figure)
    return paths
