"""The general analysis end to end: statistics, behaviours, embedding, figures, general.json and general.md."""

import dataclasses
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import provenance
import utils
from analysis.engines import maps
from analysis.general import behaviour
from analysis.general import statistics as general_statistics
from analysis.heads import HeadGrid, pair_label
from analysis.options import AnalysisOptions, CorpusOptions, GeneralOptions
from analysis.report import figures, page, paper
from bert.extraction import STREAMED_TOKENS
from bert.special_tokens import RECORD_FIELD, SpecialTokens

# Figure 1's default heads: the strongest of each of these behaviours (score key, caption; {cls} and {sep} stand for
# the data's strings of the roles).
FIGURE1_CRITERIA = (
    ("next", "attends to next token"),
    ("prev", "attends to previous token"),
    ("sep", "attends to {sep}"),
    ("entropy", "attends broadly"),
)
SUMMARY_COLUMNS = ("broad", "next", "prev", "cls", "sep", "punct")
SPECIAL_TOKEN_KEYS = ("cls", "sep", "punct")


@dataclass
class CheckedHeads:
    """The head options and head distances, checked against the data's grid before the long pass."""

    figure_heads: list[int]  # flat indices
    named_heads: dict[int, str] | None
    distances: np.ndarray | None  # float64 [N, N]


def check_heads(
    options: GeneralOptions, grid: HeadGrid, source: str | Path, distances_path: str | Path | None = None
) -> CheckedHeads:
    """Parse the head options and read the head distances for the data's grid; InputError (naming `source`, the
    attention data) when they do not fit.

    With `options.paper`, the paper's heads (analysis/paper.py) on a 12 x 12 grid only, and none of the options
    that the preset fixes."""
    if options.paper:
        if options.example_index is not None or options.figure_heads or options.named_heads:
            raise utils.InputError("--paper fixes Figure 1's example and heads and Figure 6's named heads: leave out "
                                   "--example-index, --figure-heads and --named-heads")
        paper.check_grid(grid, source)
    try:
        figure_heads = [grid.parse(label) for label in options.figure_heads]
        named_spec = "paper" if options.paper else options.named_heads
        named_heads = parse_named_heads(named_spec, grid) if named_spec else None
    except ValueError as error:
        raise utils.InputError(f"{source}: {error}") from None
    distances = behaviour.read_head_distances(distances_path, grid) if distances_path is not None else None
    return CheckedHeads(figure_heads, named_heads, distances)


def strongest_heads(statistics: general_statistics.GeneralStatistics) -> list[tuple[int, str]]:
    """(flat index, caption) of the head scoring highest on each FIGURE1_CRITERIA, all distinct."""
    chosen: list[tuple[int, str]] = []
    scores = {**statistics.avg_attn, "entropy": statistics.entropy}
    roles = statistics.special_tokens.record()
    for key, caption in FIGURE1_CRITERIA:
        ranking = np.argsort(-scores[key].ravel(), kind="stable")
        flat_index = int(next(index for index in ranking if index not in {head for head, _ in chosen}))
        unit = "nats" if key == "entropy" else "avg. attention"
        chosen.append((flat_index, f"{caption.format(**roles)}\n({scores[key].ravel()[flat_index]:.2f} {unit})"))
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
    statistics: general_statistics.GeneralStatistics, labels: np.ndarray, source: str | Path, options: GeneralOptions
) -> str:
    """general.md: per layer, the mean attention to special tokens and the heads of each behaviour."""
    n_layers, n_heads = statistics.grid
    cls, sep = markdown_text(statistics.special_tokens.cls), markdown_text(statistics.special_tokens.sep)
    names = behaviour.behaviour_names(SpecialTokens(cls, sep))  # the roles as Markdown shows them
    lines = [
        "# General attention analysis",
        "",
        f"Source: `{source}`: {statistics.n_examples} examples with attention maps, {n_layers} layers x "
        f"{n_heads} heads. Heads are written 1-based as `layer-head`.",
        "",
        f"Entropy of uniform attention over these examples: {statistics.uniform_entropy:.2f} nats.",
        f"Behaviours: next / previous token when that average attention > {options.position_threshold}; "
        f"{cls} / {sep} / `.` `,` when > {options.token_threshold}; broadly when the mean entropy > "
        f"{options.broad_entropy} nats.",
        "",
        "## Per layer",
        "",
        f"Attention columns are the layer's mean over heads of the average attention to {cls}, {sep} and `.` `,`;",
        "entropy is the layer's mean entropy (nats); the other columns list the heads with each behaviour.",
        "",
        f"| layer | to {cls} | to {sep} | to `.` `,` | entropy | "
        + " | ".join(names[key] for key in SUMMARY_COLUMNS)
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


def markdown_text(text: str) -> str:
    """A token's string as Markdown shows it literally: as it is (`[CLS]`), or as code when it holds characters
    that Markdown or HTML would read (`<s>` would open a strikethrough)."""
    if not any(character in text for character in "<>&*_`|\\"):
        return text
    return "`" + text.replace("`", "'").replace("|", "\\|") + "`"


def roles_text(statistics: Sequence[general_statistics.GeneralStatistics], role: str) -> str:
    """The strings of one role (`cls` or `sep`) of several inputs, for Markdown: each distinct one, joined by "or"."""
    strings = dict.fromkeys(getattr(one.special_tokens, role) for one in statistics)
    return " or ".join(markdown_text(string) for string in strings)


def by_map_markdown(compared: list[tuple[str | Path, str, general_statistics.GeneralStatistics]]) -> str:
    """Per layer, the mean over heads of the average attention to the classifier and separator tokens and `. ,`,
    for each (source, map kind, statistics) side by side."""
    cls, sep = (roles_text([statistics for _, _, statistics in compared], role) for role in ("cls", "sep"))
    lines = ["## Attention to special tokens by kind of map", "",
             f"Layer means over heads of the average attention to {cls} / {sep} / `.` `,`; one column per input.", "",
             "| layer | " + " | ".join(f"{kind} (`{Path(path).name}`)" for path, kind, _ in compared) + " |",
             "|---:|" + "---:|" * len(compared)]
    for layer in range(min(statistics.grid[0] for _, _, statistics in compared)):
        cells = [" / ".join(f"{statistics.avg_attn[key][layer].mean():.2f}" for key in SPECIAL_TOKEN_KEYS)
                 for _, _, statistics in compared]
        lines.append(f"| {layer + 1} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def figure1_heads(statistics: general_statistics.GeneralStatistics, labels: np.ndarray, figure_heads: list[int],
                  use_paper: bool = False) -> list[tuple[int, str]]:
    """Figure 1's (flat index, caption): the paper's with `use_paper`, else `figure_heads` captioned by their
    behaviour, else the strongest heads."""
    if use_paper:
        return paper.figure1_heads(statistics.grid, statistics.special_tokens)
    names = behaviour.behaviour_names(statistics.special_tokens)
    chosen = [(index, names[labels.ravel()[index]]) for index in figure_heads]
    return chosen or strongest_heads(statistics)


class GeneralAnalysis(maps.CorpusAnalysis):
    """The general analysis as accumulators and outputs (maps.CorpusAnalysis)."""

    name = "general"
    word_level = False

    def __init__(self, options: GeneralOptions, grid: HeadGrid, source: str | Path,
                 distances_path: str | Path | None = None, distance_examples: int | None = None) -> None:
        """Check the options against the grid (InputError naming `source`). With `distance_examples`, the head
        distances are computed in the same pass (streaming), over the first that many examples with maps, instead
        of being read from `distances_path`; 0 means none."""
        self.options, self.grid, self.source = options, HeadGrid(*grid), source
        self.checked = check_heads(options, self.grid, source, distances_path)
        self.distance_examples = distance_examples
        self.example_index = paper.FIGURE1_EXAMPLE if options.paper else options.example_index
        self.last_fed: dict[str, int] = {}  # accumulator name -> the last example index it is to see (all: absent)

    @classmethod
    def for_corpus(cls, options: AnalysisOptions, corpus: CorpusOptions, grid: HeadGrid,
                   source: str | Path) -> "GeneralAnalysis":
        """The general analysis with its head distances over the first `corpus.distance_examples` examples."""
        return cls(options.general, grid, source, distance_examples=corpus.distance_examples)

    def settings(self) -> dict:
        """The options and the number of examples the head distances cover."""
        return {"options": self.options, "distance_examples": self.distance_examples}

    @property
    def with_distances(self) -> bool:
        """Whether the head distances are computed in this pass."""
        return bool(self.distance_examples)

    def plan(self, indices_with_maps: Sequence[int], streamed: Sequence[int] = ()) -> None:
        """Knowing which examples will have maps, let the example keepers (Figure 1, the head view) keep only those
        that can be shown, so that partials of later shards do not carry examples (megabytes each) never shown, and
        feed the head distances only their first `distance_examples` that are not `streamed` (long inputs, read by
        blocks: the head distances compare whole maps, docs/scale.md); InputError, before any work, when Figure 1's
        example will have no maps."""
        if self.example_index is not None and self.example_index not in set(indices_with_maps):
            raise utils.InputError(f"{self.source}: example {self.example_index} (Figure 1's) does not exist or is "
                                   "too long to have maps")
        last_shown = max([*indices_with_maps[: page.MAX_EXAMPLES], self.example_index or 0])
        self.last_fed = {"shown": last_shown}
        long_inputs = set(streamed)
        whole = [index for index in indices_with_maps if index not in long_inputs]
        if self.with_distances and not whole:
            print(f"head distances: not computed, as every example is a long input (over {STREAMED_TOKENS} tokens, "
                  "read by blocks); no Figure 6", file=sys.stderr)
            self.distance_examples = 0
        elif self.with_distances and self.distance_examples < len(whole):
            self.last_fed["distances"] = whole[self.distance_examples - 1]

    def streamed_reader(self, example: dict, grid: HeadGrid, pieces_per_word: list[int] | None = None,
                        word_level_mode: str = "mean") -> general_statistics.StreamedExample:
        """The statistics' row sums and the shown maps of a long input, read block by block (token level)."""
        tokens = maps.example_tokens(example, len(example["tokens"]))
        return general_statistics.StreamedExample(tokens, tuple(grid), maps.example_roles(example))

    def add_streamed(self, accumulators: dict[str, maps.Accumulator], index: int, example: dict,
                     reader: general_statistics.StreamedExample) -> None:
        """Add a long input's statistics, and its first tokens' maps to the example keepers; the head distances
        never see it."""
        statistics = reader.row_sums.statistics()
        accumulators["statistics"].add_statistics(statistics, reader.row_sums.n, maps.example_roles(example))
        shown = {"tokens": reader.shown_tokens, RECORD_FIELD: example[RECORD_FIELD],
                 general_statistics.SHOWN_OF: reader.row_sums.n}
        for name in ("shown", "page_examples"):
            if name in accumulators and self.feeds(name, index):
                accumulators[name].add(index, shown, reader.shown_maps)

    def feeds(self, name: str, index: int) -> bool:
        """Whether the accumulator `name` is to see example `index` (see plan)."""
        return index <= self.last_fed.get(name, index)

    def accumulators(self) -> dict[str, maps.Accumulator]:
        """Fresh accumulators for one run of examples: statistics, Figure 1's example, the head view's examples and,
        `with_distances`, the head distances."""
        accumulators = {"statistics": general_statistics.StatisticsAccumulator(),
                        "shown": general_statistics.ExampleKeeper(self.example_index)}
        if not self.options.no_html:
            accumulators["page_examples"] = page.HeadViewExamples(self.example_index,
                                                                         last_index=self.last_fed.get("shown"))
        if self.with_distances:
            from analysis.general.head_distances import (
                HeadDistances,  # numba: only when the distances are computed here
            )

            accumulators["distances"] = HeadDistances(self.grid)
        return accumulators

    def write(self, accumulators: dict[str, maps.Accumulator], outdir: str | Path, map_kind: str, run: dict,
              compared: Sequence[tuple[str | Path, str, general_statistics.GeneralStatistics]] = ()) -> dict:
        """Write OUTDIR's general.json (with the `run` record), general.md, figures, report.html (unless
        `no_html`) and, `with_distances`, head_distances.pkl; `compared`: (source, map kind, statistics) of other
        maps drawn beside these (general_report.run). Returns the JSON."""
        distances = self.checked.distances
        if self.with_distances:
            distances = accumulators["distances"].result()
            utils.write_pickle(Path(outdir) / DISTANCES_FILE, distances)
            provenance.write_sidecar(Path(outdir) / DISTANCES_FILE, run)
        statistics, shown = accumulators["statistics"].result(), accumulators["shown"].result(self.source)
        return write_outputs(outdir, statistics, shown, accumulators.get("page_examples"),
                             dataclasses.replace(self.checked, distances=distances), self.options, self.source,
                             map_kind=map_kind, run=run, compared=compared)


DISTANCES_FILE = "head_distances.pkl"


def collect(data: maps.AttentionData, example_index: int | None = None,
            page_examples: int = page.MAX_EXAMPLES) -> tuple[
        general_statistics.GeneralStatistics, general_statistics.ShownExample, page.HeadViewExamples | None]:
    """In one pass: the statistics, Figure 1's example (`example_index`, by default the first with maps) and up to
    `page_examples` examples for the report page's head view (Figure 1's first; None when 0)."""
    statistics, shown = general_statistics.StatisticsAccumulator(), general_statistics.ExampleKeeper(example_index)
    kept = page.HeadViewExamples(example_index, max_examples=page_examples) if page_examples else None
    maps.feed(data, [statistics, shown, *([kept] if kept else [])], "general statistics")
    return statistics.result(), shown.result(data.path), kept


def write_outputs(outdir: str | Path, statistics: general_statistics.GeneralStatistics,
                  shown: general_statistics.ShownExample, page_examples: page.HeadViewExamples | None,
                  checked: CheckedHeads, options: GeneralOptions, source: str | Path, *, map_kind: str, run: dict,
                  compared: Sequence[tuple[str | Path, str, general_statistics.GeneralStatistics]] = ()) -> dict:
    """The figures, general.json (with `map_kind` and the `run` record), general.md and, with `page_examples`,
    report.html; `compared`: (source, map kind, statistics) of other maps drawn beside these. Returns the JSON."""
    labels = behaviour.behaviour_labels(statistics.avg_attn, statistics.entropy, **options.thresholds())
    figure_heads = figure1_heads(statistics, labels, checked.figure_heads, options.paper)
    output = {"map": map_kind, **statistics.to_json(), "behaviour": labels.tolist()}
    plot_figure1 = figures.plot_paper_example_heads if options.paper else figures.plot_example_heads
    figures.save_figure(plot_figure1(shown, figure_heads), outdir, "figure1_example_heads")
    figures.save_figure(figures.plot_token_attention(statistics), outdir, "figure2_token_attention")
    figures.save_figure(figures.plot_entropies(statistics), outdir, "figure4_entropies")
    compared = [(source, map_kind, statistics), *compared]
    if len(compared) > 1:
        figures.save_figure(figures.plot_token_attention_by_map(compared), outdir, "figure2_by_map")
        output["compared"] = [{"source": str(path), "map": kind, "n_examples": other.n_examples,
                               "avg_attn": {key: other.avg_attn[key].tolist() for key in SPECIAL_TOKEN_KEYS},
                               "special_tokens": other.special_tokens.record()}
                              for path, kind, other in compared[1:]]
    points = None
    if checked.distances is not None:
        embed = paper.embed_heads if options.paper else behaviour.embed_heads
        points = embed(checked.distances, options.seed)
        named_heads = checked.named_heads or {index: "(Fig. 1)" for index, _ in figure_heads}
        figure6 = figures.plot_head_embedding(points, labels, named_heads, statistics.special_tokens)
        figures.save_figure(figure6, outdir, "figure6_head_embedding")
        output["mds"] = points.tolist()
    output["run"] = run
    if page_examples is not None:
        html = page.general_page(statistics, labels, points, page_examples, figure_heads, source)
        page.write_page(outdir, html)
    utils.write_json(Path(outdir) / "general.json", output)
    markdown = summary_markdown(statistics, labels, source, options)
    if len(compared) > 1:
        markdown += "\n" + by_map_markdown(compared)
    utils.write_text(Path(outdir) / "general.md", markdown)
    return output


def run(attn_path: str | Path, outdir: str | Path, distances_path: str | Path | None = None,
        options: GeneralOptions | None = None, compared_paths: Sequence[str | Path] = ()) -> dict:
    """Compute everything from attention data (and head distances), write OUTDIR's files (report.html too, unless
    `options.no_html`); returns the JSON. The statistics of each of `compared_paths` (other kinds of map, such as
    norm-based maps of the same examples) go beside the data's in `figure2_by_map` and under "compared"."""
    options = options or GeneralOptions()
    utils.check_output_dir(outdir)
    data = maps.open_attention(attn_path)
    analysis = GeneralAnalysis(options, data.grid, attn_path, distances_path)
    opened = [maps.open_attention(path) for path in compared_paths]  # every input checked before the long passes
    accumulators = analysis.accumulators()
    maps.feed(data, list(accumulators.values()), "general statistics")
    compared = []
    for other in opened:
        statistics = general_statistics.StatisticsAccumulator()
        maps.feed(other, [statistics], f"general statistics of {other.path.name}")
        compared.append((other.path, other.map_kind, statistics.result()))
    inputs = {"attn_data_file": attn_path, "head_distances": distances_path,
              **{f"compared_{number}": path for number, path in enumerate(compared_paths, start=1)}}
    run_record = provenance.run_record(options, inputs=inputs)
    return analysis.write(accumulators, outdir, data.map_kind, run_record, compared)
