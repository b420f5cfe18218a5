"""The general analysis end to end: statistics, behaviours, embedding, figures, general.json and general.md."""

from dataclasses import dataclass
from pathlib import Path

import numpy as np

import provenance
import utils
from analysis import behaviour, figures, general, maps, paper, report_page
from analysis.heads import HeadGrid, pair_label
from analysis.options import GeneralOptions

# Figure 1's default heads: the strongest of each of these behaviours (score key, caption).
FIGURE1_CRITERIA = (
    ("next", "attends to next token"),
    ("prev", "attends to previous token"),
    ("sep", "attends to [SEP]"),
    ("entropy", "attends broadly"),
)
SUMMARY_COLUMNS = ("broad", "next", "prev", "cls", "sep", "punct")


@dataclass
class CheckedHeads:
    """The head options and head distances, checked against the data's grid before the long pass."""

    figure_heads: list[int]  # flat indices
    named_heads: dict[int, str] | None
    distances: np.ndarray | None  # float64 [N, N]


def check_heads(
    options: GeneralOptions, data: maps.AttentionData, distances_path: str | Path | None
) -> CheckedHeads:
    """Parse the head options and read the head distances for the data's grid; InputError when they do not fit.

    With `options.paper`, the paper's heads (analysis/paper.py) on a 12 x 12 grid only, and none of the options
    that the preset fixes."""
    grid = data.grid
    if options.paper:
        if options.example_index is not None or options.figure_heads or options.named_heads:
            raise utils.InputError("--paper fixes Figure 1's example and heads and Figure 6's named heads: leave out "
                                   "--example-index, --figure-heads and --named-heads")
        paper.check_grid(grid, data.path)
    try:
        figure_heads = [grid.parse(label) for label in options.figure_heads]
        named_spec = "paper" if options.paper else options.named_heads
        named_heads = parse_named_heads(named_spec, grid) if named_spec else None
    except ValueError as error:
        raise utils.InputError(f"{data.path}: {error}") from None
    distances = behaviour.read_head_distances(distances_path, grid) if distances_path is not None else None
    return CheckedHeads(figure_heads, named_heads, distances)


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


def parse_named_heads(spec: str, grid: HeadGrid) -> dict[int, str]:
    """Flat index -> name, from "paper" or "LAYER-HEAD=NAME,..." (1-based); ValueError when malformed."""
    grid = HeadGrid(*grid)
    if spec == "paper":
        if grid != behaviour.BERT_BASE_GRID:
            raise ValueError(f"the paper's heads are BERT-base's {behaviour.BERT_BASE_GRID}, not {grid}")
        return {grid.parse(label): name for label, name in behaviour.PAPER_BERT_BASE_HEADS.items()}
    named = {}
    for item in spec.split(","):
        head, equals, name = item.partition("=")
        if not equals or not name.strip():
            raise ValueError(f"'{item}' is not LAYER-HEAD=NAME")
        named[grid.parse(head)] = name.strip()
    return named


def summary_markdown(
    statistics: general.GeneralStatistics, labels: np.ndarray, source: str | Path, options: GeneralOptions
) -> str:
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
            ", ".join(pair_label(layer, head) for head in np.flatnonzero(labels[layer] == key)) or "-"
            for key in SUMMARY_COLUMNS
        ]
        cells = [str(layer + 1), *(f"{mean:.2f}" for mean in means), f"{statistics.entropy[layer].mean():.2f}", *heads]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def figure1_heads(statistics: general.GeneralStatistics, labels: np.ndarray, figure_heads: list[int],
                  use_paper: bool = False) -> list[tuple[int, str]]:
    """Figure 1's (flat index, caption): the paper's with `use_paper`, else `figure_heads` captioned by their
    behaviour, else the strongest heads."""
    if use_paper:
        return paper.figure1_heads(statistics.grid)
    chosen = [(index, behaviour.BEHAVIOUR_NAMES[labels.ravel()[index]]) for index in figure_heads]
    return chosen or strongest_heads(statistics)


def collect(data: maps.AttentionData, example_index: int | None = None,
            page_examples: int = report_page.MAX_EXAMPLES) -> tuple[
        general.GeneralStatistics, general.ShownExample, report_page.HeadViewExamples | None]:
    """In one pass: the statistics, Figure 1's example (`example_index`, by default the first with maps) and up to
    `page_examples` examples for the report page's head view (Figure 1's first; None when 0)."""
    statistics, shown = general.StatisticsAccumulator(), general.ExampleKeeper(example_index)
    kept = report_page.HeadViewExamples(example_index, max_examples=page_examples) if page_examples else None
    maps.feed(data, [statistics, shown, *([kept] if kept else [])], "general statistics")
    return statistics.result(), shown.result(data.path), kept


def run(attn_path: str | Path, outdir: str | Path, distances_path: str | Path | None = None,
        options: GeneralOptions | None = None) -> dict:
    """Compute everything from attention data (and head distances), write OUTDIR's files (report.html too, unless
    `options.no_html`); returns the JSON."""
    options = options or GeneralOptions()
    utils.check_output_dir(outdir)
    data = maps.open_attention(attn_path)
    checked = check_heads(options, data, distances_path)
    example_index = paper.FIGURE1_EXAMPLE if options.paper else options.example_index
    statistics, shown, page_examples = collect(data, example_index,
                                               page_examples=0 if options.no_html else report_page.MAX_EXAMPLES)
    labels = behaviour.behaviour_labels(statistics.avg_attn, statistics.entropy, **options.thresholds())
    figure_heads = figure1_heads(statistics, labels, checked.figure_heads, options.paper)
    output = {"map": data.map_kind, **statistics.to_json(), "behaviour": labels.tolist()}

    plot_figure1 = figures.plot_paper_example_heads if options.paper else figures.plot_example_heads
    figures.save_figure(plot_figure1(shown, figure_heads), outdir, "figure1_example_heads")
    figures.save_figure(figures.plot_token_attention(statistics), outdir, "figure2_token_attention")
    figures.save_figure(figures.plot_entropies(statistics), outdir, "figure4_entropies")
    points = None
    if checked.distances is not None:
        embed = paper.embed_heads if options.paper else behaviour.embed_heads
        points = embed(checked.distances, options.seed)
        named_heads = checked.named_heads or {index: "(Fig. 1)" for index, _ in figure_heads}
        figures.save_figure(figures.plot_head_embedding(points, labels, named_heads), outdir, "figure6_head_embedding")
        output["mds"] = points.tolist()
    inputs = {"attn_data_file": attn_path, "head_distances": distances_path}
    output["run"] = provenance.run_record(options, inputs=inputs)
    if not options.no_html:
        page = report_page.general_page(statistics, labels, points, page_examples, figure_heads, attn_path)
        report_page.write_page(outdir, page)
    utils.write_json(Path(outdir) / "general.json", output)
    utils.write_text(Path(outdir) / "general.md", summary_markdown(statistics, labels, attn_path, options))
    return output
