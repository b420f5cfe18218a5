"""The paper's figures: 1, 2, 4 and 6 (general analysis), 5 (syntax), and the attention-lines plot they share;
with the `--paper` preset, Figures 1 and 5 exactly as the original notebooks drew them (analysis/paper.py).

Layers are shown 1-based and heads as 1-based `layer-head`, as in the paper. The callers choose the
matplotlib backend (the script uses "Agg"). Importing this module sets seaborn's theme (STYLE), as the original
notebooks did; it changes how figures look, never what they show.
"""

from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib.colors
import numpy as np
import seaborn as sns
from matplotlib import pyplot as plt
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure

import utils
from analysis.coref.scoring import MentionExample
from analysis.general.behaviour import BEHAVIOURS, behaviour_names
from analysis.general.statistics import GeneralStatistics, ShownExample
from analysis.heads import HeadGrid, pair_label
from analysis.report.page import MIN_LINE_WEIGHT
from analysis.report.paper import LINE_COLOR, WORD_COLOR, RelationPanel, hide_special_columns, last_tokens
from analysis.syntax.dependency_data import RelationExample
from bert.special_tokens import BERT_SPECIAL_TOKENS, SpecialTokens

# seaborn's styling, set once for every figure (the original notebooks set "darkgrid" too): grey panels with white
# grid lines, its "deep" palette as the colour cycle (C0, C1, ...).
STYLE = {"style": "darkgrid", "palette": "deep", "context": "notebook"}
sns.set_theme(**STYLE)
plt.rcParams["svg.hashsalt"] = "attention-analysis"  # the same SVG ids on every run, so equal figures are equal files

# (colour, marker) of each behaviour in Figure 6: seaborn's "deep" colours, the original notebook's markers.
_DEEP = sns.color_palette("deep").as_hex()
BEHAVIOUR_STYLES = {
    "other": ("#a0a8ac", "o"),
    "next": (_DEEP[3], ">"),
    "prev": (_DEEP[0], "<"),
    "broad": (_DEEP[1], "^"),
    "cls": (_DEEP[4], "$C$"),
    "sep": (_DEEP[2], "$S$"),
    "punct": (_DEEP[9], "s"),
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
    key_highlight_lines: bool = False,
    title: str | None = None,
    min_weight: float = MIN_LINE_WEIGHT,
    max_linewidth: float = 2.5,
    original_style: bool = False,
    fontsize: float = 8.0,
) -> None:
    """Draw one head's attention `[n, n]` on one example as lines from query tokens (left) to keys (right).

    A line's opacity is the square root of its weight (so that broad heads stay visible) and its width
    `0.2 + max_linewidth * weight` points; with `original_style`, as the original notebooks drew them, its opacity
    is the weight itself and its width 1 point. Weights below `min_weight` are not drawn. Tokens at the `highlight`
    positions are bold in `highlight_color`, and so are the lines leaving them; keys at the `key_highlight`
    positions are bold in `key_highlight_color` on the right, and with `key_highlight_lines` so are the lines
    into them.
    """
    n = len(tokens)
    weights = np.clip(np.asarray(attention, dtype=np.float64), 0.0, 1.0)
    queries, keys = np.nonzero(weights >= min_weight)
    kind = np.zeros(len(queries), dtype=int)  # 0 plain, 1 from a highlighted query, 2 into a highlighted key
    if key_highlight_lines:
        kind[np.isin(keys, key_highlight)] = 2
    kind[np.isin(queries, highlight)] = 1
    order = np.argsort(kind > 0, kind="stable")  # highlighted lines on top
    queries, keys, kind = queries[order], keys[order], kind[order]
    line_weights = weights[queries, keys]
    colors = np.array([matplotlib.colors.to_rgba(value) for value in (color, highlight_color, key_highlight_color)])
    rgba = colors[kind]
    rgba[:, 3] = line_weights if original_style else np.sqrt(line_weights)
    widths = np.ones_like(line_weights) if original_style else 0.2 + max_linewidth * line_weights
    starts = np.stack([np.zeros_like(queries), -queries], axis=1)  # [lines, 2]: (x, y) of the query token
    ends = np.stack([np.ones_like(keys), -keys], axis=1)
    segments = np.stack([starts, ends], axis=1)  # [lines, 2 points, 2]
    ax.add_collection(LineCollection(segments, colors=rgba, linewidths=widths))
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
    part = f", its first {n} of {example.length:,} tokens" if example.length else ""
    figure.suptitle(f"Attention of single heads on example {example.index}{part} (heads are 1-based layer-head)")
    return figure


def plot_paper_example_heads(example: ShownExample, heads: Sequence[tuple[int, str]]) -> Figure:
    """The paper's Figure 1 as the original notebook drew it: `heads` (flat index, caption) on the example's last
    tokens (paper.last_tokens: rows renormalised after the cut, the first label "..."), lines 1 point wide whose
    opacity is the weight; no line leaves or enters the "..." position, which stands for the tokens cut off."""
    grid = HeadGrid.of(example.attention_maps)
    tokens, crop = last_tokens(example.tokens, example.attention_maps)
    drawn = crop.reshape(grid.size, len(tokens), len(tokens)).copy()
    if len(example.tokens) > len(tokens):
        drawn[:, 0, :] = drawn[:, :, 0] = 0.0
    figure, axes = plt.subplots(1, len(heads), figsize=(2.8 * len(heads), 1.4 + 0.22 * len(tokens)), squeeze=False,
                                layout="constrained")
    for ax, (flat_index, caption) in zip(axes[0], heads, strict=True):
        plot_attention_lines(ax, tokens, drawn[flat_index], title=f"Head {grid.label(flat_index)}\n{caption}",
                             color=LINE_COLOR, original_style=True, fontsize=9.0)
    figure.suptitle(f"The paper's Figure 1: example {example.index}, its last {len(tokens)} tokens "
                    "(heads are 1-based layer-head)")
    return figure


def _plot_by_layer(ax: Axes, values: np.ndarray, offset: float, color: str, label: str) -> None:
    """One head per point at its 1-based layer (shifted by `offset`), and a line through the layer means."""
    n_layers, n_heads = values.shape
    layers = np.arange(1, n_layers + 1)
    ax.scatter(np.repeat(layers + offset, n_heads), values.ravel(), s=12, color=color, alpha=0.45, linewidths=0)
    ax.plot(layers + offset, values.mean(1), color=color, marker="o", markersize=4, label=f"{label} (layer mean)")


def _layer_axis(ax: Axes, n_layers: int, ylabel: str) -> None:
    """1-based integer layer ticks and labels (the theme draws the grid)."""
    ax.set_xticks(np.arange(1, n_layers + 1))
    ax.set_xlim(0.4, n_layers + 0.6)
    ax.set_xlabel("layer")
    ax.set_ylabel(ylabel)


def special_token_series(special_tokens: SpecialTokens) -> list[tuple[str, str]]:
    """Figure 2's first panel's series, (statistic, label), labelled by the data's strings of the roles."""
    return [("cls", special_tokens.cls), ("sep", special_tokens.sep), ("punct", ". or ,")]


def plot_token_attention(statistics: GeneralStatistics) -> Figure:
    """Figure 2: average attention per layer to special tokens, to the separator from separators vs others, and
    positions; the roles labelled by the data's strings ([CLS] and [SEP], <s> and </s>)."""
    n_layers = statistics.grid[0]
    sep = statistics.special_tokens.sep
    panels = [
        ("Attention to special tokens", special_token_series(statistics.special_tokens)),
        (f"Attention to {sep} by kind of query token", [("sep_sep", f"{sep} → {sep}"), ("rest_sep", f"other → {sep}")]),
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


MAP_TITLES = {"attn": "attention weights", "norm": "norm-based maps", "rollout": "attention rollout",
              "attn-res-ln": "attention + residual + LayerNorm", "alti": "ALTI", "value-zeroing": "value zeroing"}


def map_title(map_kind: str) -> str:
    """A map kind as a figure names it: `alti-aggregated` is "ALTI, aggregated"."""
    kind, aggregated, _ = map_kind.partition("-aggregated")
    return MAP_TITLES.get(kind, kind) + (", aggregated" if aggregated else "")


def plot_token_attention_by_map(compared: Sequence[tuple[str, str, GeneralStatistics]]) -> Figure:
    """Figure 2's first panel, average attention to the classifier and separator tokens and `. ,` per layer, once per
    (source, map kind, statistics), side by side on one scale: where attention to special tokens goes with weights,
    norms, rollout."""
    figure, axes = plt.subplots(1, len(compared), figsize=(5.2 * len(compared), 4.6), sharey=True,
                                layout="constrained", squeeze=False)
    for ax, (source, map_kind, statistics) in zip(axes[0], compared, strict=True):
        series = special_token_series(statistics.special_tokens)
        for offset, (key, label), color in zip((-0.2, 0.0, 0.2), series, ("C0", "C1", "C2"), strict=True):
            _plot_by_layer(ax, statistics.avg_attn[key], offset, color, label)
        _layer_axis(ax, statistics.grid[0], "average attention")
        ax.set_ylim(-0.03, 1.03)
        ax.set_title(f"{map_title(map_kind)}\n{Path(source).name}, {statistics.n_examples} examples",
                     fontsize=10)
        ax.legend(loc="upper left", fontsize=8, framealpha=0.9)
        ax.label_outer()
    figure.suptitle("Attention to special tokens by kind of map (each head a point)")
    return figure


def plot_entropies(statistics: GeneralStatistics) -> Figure:
    """Figure 4: entropy of each head's attention, over all queries and from the classifier token ([CLS], <s>), with
    the uniform line."""
    n_layers = statistics.grid[0]
    panels = [
        ("Entropy of attention (mean over queries)", statistics.entropy),
        (f"Entropy of attention from {statistics.special_tokens.cls}", statistics.entropy_from_cls),
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


def plot_head_embedding(points: np.ndarray, labels: np.ndarray, named_heads: Mapping[int, str] | None = None,
                        special_tokens: SpecialTokens = BERT_SPECIAL_TOKENS) -> Figure:
    """Figure 6: heads `[N, 2]` embedded by their distances, coloured by behaviour `[layers, heads]` and by layer.

    `named_heads` maps 0-based flat indices to names, circled and labelled in both panels; the behaviours of the
    classifier and separator roles are named by the data's `special_tokens`.
    """
    grid = HeadGrid(*labels.shape)
    flat_labels = labels.ravel()
    names = behaviour_names(special_tokens)
    figure, (behaviour_ax, layer_ax) = plt.subplots(1, 2, figsize=(13.0, 6.2), layout="constrained")
    for behaviour in BEHAVIOURS:
        chosen = flat_labels == behaviour
        if chosen.any():
            color, marker = BEHAVIOUR_STYLES[behaviour]
            behaviour_ax.scatter(*points[chosen].T, color=color, marker=marker, s=42, label=names[behaviour])
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
        plot_attention_lines(ax, example.tokens, example.attention_maps[row["layer"], row["head"]], highlight=queries,
                             title=title)
    figure.suptitle("The best head of each relation (1-based layer-head); in red, the relation's dependents "
                    "(dep->head) or heads (head->dep) and their attention")
    figure.tight_layout()
    return figure


def plot_paper_relation_heads(panels: Sequence[RelationPanel], examples: Mapping[int, RelationExample]) -> Figure:
    """The paper's Figure 5 as the original notebook drew it: each panel's head on its two examples (`examples`:
    file position -> example), side by side and centred on each other, the panel's words in red with their lines
    (out of them on the left, or into them on the right for `color_keys`), the other lines blue; opacity is the
    weight, the classifier and separator columns hidden and rows renormalised for `hide_special`."""
    longest = max(len(examples[index].words) for panel in panels for index in panel.examples) + 2
    columns = min(3, len(panels))
    rows = -(-len(panels) // columns)
    figure = plt.figure(figsize=(5.6 * columns, rows * (1.3 + 0.2 * longest)), layout="constrained")
    cells = figure.subfigures(rows, columns, squeeze=False).ravel()
    for cell, panel in zip(cells, panels, strict=False):
        grid = HeadGrid.of(examples[panel.examples[0]].attention_maps)
        layer, head = grid.pair(grid.parse(panel.head))
        cell.suptitle(f"{panel.title}\nhead {panel.head}", fontsize=11)
        for ax, index in zip(cell.subplots(1, 2), panel.examples, strict=True):
            example = examples[index]
            tokens = example.tokens
            attention = example.attention_maps[layer, head].astype(np.float64)
            attention = hide_special_columns(attention) if panel.hide_special else attention
            named = [position for position, token in enumerate(tokens) if token in panel.words]
            side = {"key_highlight": named, "key_highlight_lines": True} if panel.color_keys else {"highlight": named}
            plot_attention_lines(ax, tokens, attention, color=LINE_COLOR, highlight_color=WORD_COLOR,
                                 key_highlight_color=WORD_COLOR, original_style=True, title=f"dev {index}", **side)
            middle = (len(tokens) - 1) / 2  # centre the shorter sentence on the longer one, as the original did
            ax.set_ylim(-middle - longest / 2, -middle + longest / 2)
    for cell in cells[len(panels):]:
        cell.text(0.5, 0.5, "In red: the named words and their attention\n(Noun premodifiers: the attention to "
                  "them).\nHeads are 1-based layer-head.", ha="center", va="center", fontsize=10)
    figure.suptitle("The paper's Figure 5: heads that track dependency relations, on dev sentences", fontsize=13)
    return figure


def plot_head_grid(values: np.ndarray, title: str, label: str) -> Figure:
    """A heat map of one number per head, `[layers, heads]`, with 1-based layer and head ticks."""
    n_layers, n_heads = values.shape
    figure, ax = plt.subplots(figsize=(1.2 + 0.5 * n_heads, 1.2 + 0.45 * n_layers), layout="constrained")
    image = ax.imshow(values, cmap="viridis", aspect="auto")
    ax.grid(False)  # the theme's grid lines would cross the cells
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
        words = slice(start + 1, stop + 1)  # map positions: the classifier token is 0
        crop = example.attention_maps[layer, head, words, words]
        title = f"{mention.type}: '{' '.join(example.window.words[mention.start:mention.end])}'"
        plot_attention_lines(ax, example.window.words[start:stop], crop, highlight=[mention.head - start],
                             key_highlight=[word - start for word in example.scored.antecedent_heads], title=title)
    figure.suptitle(f"Head {pair_label(layer, head)} on mentions with antecedents (1-based layer-head): in red the "
                    "mention's head word and its attention, in green its antecedents' head words")
    figure.tight_layout()
    return figure


def plot_head_atlas(points: np.ndarray, head_model: Sequence[int], behaviours: Sequence[str],
                    model_labels: Sequence[str], special_tokens: SpecialTokens = BERT_SPECIAL_TOKENS) -> Figure:
    """The head atlas: every head of several models `[N, 2]` embedded by their distances, coloured by model and
    marked by behaviour (Figure 6's markers); `special_tokens` name the roles in the legend (behaviour.joined_roles
    for models of several tokenizers)."""
    names = behaviour_names(special_tokens)
    figure, ax = plt.subplots(figsize=(8.0, 6.6), layout="constrained")
    head_model, behaviours = np.asarray(head_model), np.asarray(behaviours)
    colours = sns.color_palette("deep", len(model_labels))
    for model, (label, colour) in enumerate(zip(model_labels, colours, strict=True)):
        for name in BEHAVIOURS:
            chosen = (head_model == model) & (behaviours == name)
            if chosen.any():
                ax.scatter(*points[chosen].T, color=colour, marker=BEHAVIOUR_STYLES[name][1], s=40, alpha=0.85)
        ax.scatter([], [], color=colour, marker="o", label=label)
    for name in BEHAVIOURS:
        if (behaviours == name).any():
            ax.scatter([], [], color="grey", marker=BEHAVIOUR_STYLES[name][1], label=names[name])
    ax.legend(loc="best", fontsize=8, ncols=2)
    ax.set_aspect("equal", adjustable="datalim")  # distances are read off the plane
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title("Head atlas: every head of every model, placed by head distance")
    return figure


def save_figure(figure: Figure, outdir: str | Path, name: str) -> list[Path]:
    """Write `figure` as OUTDIR/NAME.png and .svg, atomically, and close it; returns the two paths."""
    paths = [Path(outdir) / f"{name}.{extension}" for extension in ("png", "svg")]
    for path in paths:
        with utils.atomic_output(path, "wb") as stream:
            metadata = {"Date": None} if path.suffix == ".svg" else None  # no date: equal figures are equal files
            figure.savefig(stream, format=path.suffix[1:], dpi=150, bbox_inches="tight", metadata=metadata)
    plt.close(figure)
    return paths


def plot_gradient_importance(grad_importance: np.ndarray, avg_attn: np.ndarray, n_examples: int,
                             debug: bool = False, special_tokens: SpecialTokens = BERT_SPECIAL_TOKENS) -> Figure:
    """Figure 3: per layer, the gradient importance of attention to the separator (`special_tokens.sep`), to ". ,"
    and to other tokens `[layers, heads, 3]`, beside the average attention to them (Figure 2's panel) from the same
    forward pass."""
    n_layers = grad_importance.shape[0]
    series = [(special_tokens.sep, "C1"), (". or ,", "C2"), ("other tokens", "C3")]
    panels = [("Gradient importance: mean |dL/dα| per key", grad_importance, "mean |dL/dα|"),
              ("Average attention (as in Figure 2)", avg_attn, "average attention")]
    figure, axes = plt.subplots(1, 2, figsize=(13.0, 4.8), layout="constrained")
    for ax, (title, values, ylabel) in zip(axes, panels, strict=True):
        for offset, (label, color), position in zip(np.linspace(-0.2, 0.2, 3), series, range(3), strict=True):
            _plot_by_layer(ax, values[:, :, position], offset, color, label)
        _layer_axis(ax, n_layers, ylabel)
        ax.set_ylim(bottom=0.0)
        ax.set_title(title)
        ax.legend(loc="upper left", fontsize=8, framealpha=0.9)
    warning = " — RANDOM --debug MODEL, the numbers mean nothing" if debug else ""
    figure.suptitle(f"Gradient importance of each head's attention (points) over {n_examples} examples{warning}")
    return figure
