"""The coreference analysis end to end: Table 2 (the best head against three baselines), a heat map of every
head's accuracy and the best head on example mentions; writes coref.json, coref.md and the figures.

The best head is chosen on the selection data (`select_on="train"`) or on the evaluation data itself (the paper's
protocol), by its accuracy over all scored mentions, and reported on the evaluation data.
"""

from pathlib import Path

import numpy as np

import provenance
import utils
from analysis.coref import scoring
from analysis.engines import maps
from analysis.heads import HeadGrid, pair_label
from analysis.options import AnalysisOptions, CorefOptions, CorpusOptions
from analysis.report import figures, page

BASELINE_NAMES = {
    "nearest": "Nearest mention",
    "head_word_match": "Head-word match",
    "rule_based": "Rule-based (four sieves)",
}


def read_windows(path: str | Path) -> tuple[dict[str, maps.Accumulator], str]:
    """CorefAnalysis's accumulators fed every window of a word-level attention file in one pass, and the kind of map
    the data holds (maps.AttentionData.map_kind)."""
    data, accumulators = maps.open_attention(path), CorefAnalysis.accumulators()
    maps.feed(data, list(accumulators.values()), f"reading {data.path.name}", check=CorefAnalysis.check)
    return accumulators, data.map_kind


def read_evaluation(path: str | Path) -> tuple[scoring.CorefScores, list[scoring.MentionExample], str]:
    """The scores of the evaluation data, the mentions its figure shows and the kind of map the data holds, in one
    pass."""
    accumulators, map_kind = read_windows(path)
    return accumulators["scores"].result(), accumulators["examples"].result(), map_kind


def fraction(value: float) -> float | None:
    """A JSON accuracy: None where there was nothing to score (NaN)."""
    return None if np.isnan(value) else float(value)


def percent(value: float) -> str:
    """An accuracy in percent for Markdown, `-` where there was nothing to score."""
    return "-" if np.isnan(value) else f"{100 * value:.1f}"


def table_json(scores: scoring.CorefScores, layer: int, head: int, select_on: str) -> dict:
    """The keys of coref.json: counts, baselines, every head's accuracies and the best head."""
    by_category = dict(enumerate(scoring.CATEGORIES))
    return {
        "n_mentions": int(scores.counts[0]),
        "n_by_type": {kind: int(scores.counts[1 + index]) for index, kind in enumerate(scoring.MENTION_TYPES)},
        "baselines": {name: {by_category[column]: fraction(value) for column, value in enumerate(row)}
                      for name, row in zip(scoring.BASELINES, scores.baselines, strict=True)},
        "head_accuracy": {category: np.where(np.isnan(values), None, values).tolist()
                          for category, values in zip(scoring.CATEGORIES, scores.heads, strict=True)},
        "best_head": {"layer": layer, "head": head, "label": pair_label(layer, head), "selected_on": select_on,
                      "accuracy": {category: fraction(scores.heads[index, layer, head])
                                   for index, category in by_category.items()}},
    }


def table_markdown(scores: scoring.CorefScores, layer: int, head: int, select_on: str) -> str:
    """Table 2 as Markdown: accuracy (%) of the baselines and the best head, overall and by mention type."""
    protocol = ("chosen and scored on the same data, as in the paper" if select_on == "same"
                else "chosen on the selection data, scored on this data")
    header = " | ".join(f"{category} ({count})" for category, count in zip(scoring.CATEGORIES, scores.counts,
                                                                         strict=True))
    lines = [f"Antecedent-selection accuracy (%) of the baselines and of the best head ({protocol}; heads are "
             "1-based `layer-head`). In parentheses: scored mentions.", "",
             f"| model | {header} |", "|---|" + "---:|" * len(scoring.CATEGORIES)]
    for name, row in zip(scoring.BASELINES, scores.baselines, strict=True):
        lines.append(f"| {BASELINE_NAMES[name]} | " + " | ".join(percent(value) for value in row) + " |")
    head_row = scores.heads[:, layer, head]
    lines.append(f"| Head {pair_label(layer, head)} | " + " | ".join(percent(value) for value in head_row) + " |")
    return "\n".join(lines) + "\n"


class CorefAnalysis(maps.CorpusAnalysis):
    """The coreference analysis as accumulators and outputs (maps.CorpusAnalysis)."""

    name = "coref"
    word_level = True
    check = staticmethod(scoring.check_coref_example)

    def __init__(self, options: CorefOptions, source: str | Path) -> None:
        self.options, self.source = options, source

    @classmethod
    def for_corpus(cls, options: AnalysisOptions, corpus: CorpusOptions, grid: HeadGrid,
                   source: str | Path) -> "CorefAnalysis":
        """Table 2 with the best head chosen on the same windows."""
        return cls(options.coref, source)

    @staticmethod
    def accumulators() -> dict[str, maps.Accumulator]:
        """Fresh accumulators for one run of windows: the scores and the mentions the figure shows."""
        return {"scores": scoring.CorefAccumulator(), "examples": scoring.MentionExamples()}

    @staticmethod
    def streamed_reader(example: dict, grid: HeadGrid, pieces_per_word: list[int],
                        word_level_mode: str) -> scoring.StreamedWindow:
        """Every head's predictions for the scored mentions of a long window, read block by block."""
        size = len(pieces_per_word) + 2
        window = scoring.read_window(example, np.empty((0, 0, size, size), np.float32))
        return scoring.StreamedWindow(window, pieces_per_word, word_level_mode, grid)

    @staticmethod
    def add_streamed(accumulators: dict[str, maps.Accumulator], index: int, example: dict,
                     reader: scoring.StreamedWindow) -> None:
        """Count a long window's mentions; the figure's examples never come from one (its maps are not kept)."""
        grid = HeadGrid(*reader.predictions.shape[:2])
        accumulators["scores"].count(reader.window, reader.scored, grid, reader.predictions)

    def write(self, accumulators: dict[str, maps.Accumulator], outdir: str | Path, map_kind: str, run: dict,
              select: scoring.CorefScores | None = None, select_path: str | Path | None = None) -> dict:
        """Write OUTDIR's coref.json (with the `run` record), coref.md, figures and report.html (unless `no_html`),
        the best head chosen on `select` (scores of `select_path`) when given, else on these scores; returns the
        JSON."""
        scores, examples = accumulators["scores"].result(), accumulators["examples"].result()
        if select is not None and select.grid != scores.grid:
            raise utils.InputError(f"{select_path}: {select.grid} layers x heads, but {self.source} has {scores.grid}")
        for name, checked in ((self.source, scores), (select_path, select)):
            if checked is not None and checked.counts[0] == 0:
                raise utils.InputError(f"{name}: no mention has an antecedent in its window: nothing to score")
        layer, head = (select or scores).best_head()
        output = {"source": str(self.source), "map": map_kind, "grid": list(scores.grid),
                  **table_json(scores, layer, head, self.options.select_on)}
        markdown = ["# Coreference in attention heads", "",
                    f"Source: `{self.source}`: {scores.grid.n_layers} layers x {scores.grid.n_heads} heads.", "",
                    "## Table 2", "", table_markdown(scores, layer, head, self.options.select_on)]
        accuracy_map = figures.plot_head_grid(scores.heads[0], "Antecedent-selection accuracy of each head\n"
                                              "(all scored mentions; best boxed)", "accuracy")
        figures.save_figure(accuracy_map, outdir, "coref_head_accuracy")
        if examples:
            figures.save_figure(figures.plot_mention_heads(examples, layer, head), outdir, "coref_best_head")
        output["run"] = run
        if not self.options.no_html:
            page.write_page(outdir, page.coref_page(
                output, examples, grid=scores.grid, source=self.source, baseline_names=BASELINE_NAMES))
        utils.write_json(Path(outdir) / "coref.json", output)
        utils.write_text(Path(outdir) / "coref.md", "\n".join(markdown))
        return output


def run(attn_path: str | Path, outdir: str | Path, select_path: str | Path | None = None,
        options: CorefOptions | None = None) -> dict:
    """Table 2 and the figures from word-level attention files of coreference windows; writes OUTDIR's coref.json,
    coref.md, coref_head_accuracy.png/.svg, coref_best_head.png/.svg and (unless `options.no_html`) report.html,
    and returns the JSON."""
    options = options or CorefOptions()
    utils.check_output_dir(outdir)
    if options.select_on == "train" and select_path is None:
        raise utils.InputError("--select-on train needs the selection data (--select-attn-data-file)")
    select = scoring.read_coref_scores(select_path) if options.select_on == "train" else None
    accumulators, map_kind = read_windows(attn_path)
    record = provenance.run_record(options, inputs={"attn_data_file": attn_path, "select_attn_data_file": select_path})
    return CorefAnalysis(options, attn_path).write(accumulators, outdir, map_kind, record, select, select_path)
