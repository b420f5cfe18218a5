"""The coreference analysis end to end: Table 2 (the best head against three baselines), a heat map of every
head's accuracy and the best head on example mentions; writes coref.json, coref.md and the figures.

The best head is chosen on the selection data (`select_on="train"`) or on the evaluation data itself (the paper's
protocol), by its accuracy over all scored mentions, and reported on the evaluation data.
"""

from pathlib import Path

import numpy as np

import provenance
import utils
from analysis import coref, figures, maps, report_page
from analysis.heads import pair_label
from analysis.options import CorefOptions

BASELINE_NAMES = {
    "nearest": "Nearest mention",
    "head_word_match": "Head-word match",
    "rule_based": "Rule-based (four sieves)",
}


def read_evaluation(path: str | Path) -> tuple[coref.CorefScores, list[coref.MentionExample], str]:
    """The scores of the evaluation data, the mentions its figure shows and the kind of map the data holds
    (maps.AttentionData.map_kind), in one pass."""
    data, scores, examples = maps.open_attention(path), coref.CorefAccumulator(), coref.MentionExamples()
    maps.feed(data, [scores, examples], f"reading {data.path.name}", check=coref.check_coref_example)
    return scores.result(), examples.result(), data.map_kind


def fraction(value: float) -> float | None:
    """A JSON accuracy: None where there was nothing to score (NaN)."""
    return None if np.isnan(value) else float(value)


def percent(value: float) -> str:
    """An accuracy in percent for Markdown, `-` where there was nothing to score."""
    return "-" if np.isnan(value) else f"{100 * value:.1f}"


def table_json(scores: coref.CorefScores, layer: int, head: int, select_on: str) -> dict:
    """The keys of coref.json: counts, baselines, every head's accuracies and the best head."""
    by_category = dict(enumerate(coref.CATEGORIES))
    return {
        "n_mentions": int(scores.counts[0]),
        "n_by_type": {kind: int(scores.counts[1 + index]) for index, kind in enumerate(coref.MENTION_TYPES)},
        "baselines": {name: {by_category[column]: fraction(value) for column, value in enumerate(row)}
                      for name, row in zip(coref.BASELINES, scores.baselines, strict=True)},
        "head_accuracy": {category: np.where(np.isnan(values), None, values).tolist()
                          for category, values in zip(coref.CATEGORIES, scores.heads, strict=True)},
        "best_head": {"layer": layer, "head": head, "label": pair_label(layer, head), "selected_on": select_on,
                      "accuracy": {category: fraction(scores.heads[index, layer, head])
                                   for index, category in by_category.items()}},
    }


def table_markdown(scores: coref.CorefScores, layer: int, head: int, select_on: str) -> str:
    """Table 2 as Markdown: accuracy (%) of the baselines and the best head, overall and by mention type."""
    protocol = ("chosen and scored on the same data, as in the paper" if select_on == "same"
                else "chosen on the selection data, scored on this data")
    header = " | ".join(f"{category} ({count})" for category, count in zip(coref.CATEGORIES, scores.counts,
                                                                         strict=True))
    lines = [f"Antecedent-selection accuracy (%) of the baselines and of the best head ({protocol}; heads are "
             "1-based `layer-head`). In parentheses: scored mentions.", "",
             f"| model | {header} |", "|---|" + "---:|" * len(coref.CATEGORIES)]
    for name, row in zip(coref.BASELINES, scores.baselines, strict=True):
        lines.append(f"| {BASELINE_NAMES[name]} | " + " | ".join(percent(value) for value in row) + " |")
    head_row = scores.heads[:, layer, head]
    lines.append(f"| Head {pair_label(layer, head)} | " + " | ".join(percent(value) for value in head_row) + " |")
    return "\n".join(lines) + "\n"


def run(attn_path: str | Path, outdir: str | Path, select_path: str | Path | None = None,
        options: CorefOptions | None = None) -> dict:
    """Table 2 and the figures from word-level attention files of coreference windows; writes OUTDIR's coref.json,
    coref.md, coref_head_accuracy.png/.svg, coref_best_head.png/.svg and (unless `options.no_html`) report.html,
    and returns the JSON."""
    options = options or CorefOptions()
    utils.check_output_dir(outdir)
    if options.select_on == "train" and select_path is None:
        raise utils.InputError("--select-on train needs the selection data (--select-attn-data-file)")
    select = coref.read_coref_scores(select_path) if options.select_on == "train" else None
    scores, examples, map_kind = read_evaluation(attn_path)
    if select is not None and select.grid != scores.grid:
        raise utils.InputError(f"{select_path}: {select.grid} layers x heads, but {attn_path} has {scores.grid}")
    if scores.counts[0] == 0 or (select is not None and select.counts[0] == 0):
        raise utils.InputError(f"{select_path if select is not None and select.counts[0] == 0 else attn_path}: "
                               "no mention has an antecedent in its window: nothing to score")
    layer, head = (select or scores).best_head()
    output = {"source": str(attn_path), "map": map_kind, "grid": list(scores.grid),
              **table_json(scores, layer, head, options.select_on)}
    markdown = ["# Coreference in attention heads", "",
                f"Source: `{attn_path}`: {scores.grid.n_layers} layers x {scores.grid.n_heads} heads.", "",
                "## Table 2", "", table_markdown(scores, layer, head, options.select_on)]
    accuracy_map = figures.plot_head_grid(scores.heads[0], "Antecedent-selection accuracy of each head\n"
                                          "(all scored mentions; best boxed)", "accuracy")
    figures.save_figure(accuracy_map, outdir, "coref_head_accuracy")
    if examples:
        figures.save_figure(figures.plot_mention_heads(examples, layer, head), outdir, "coref_best_head")
    output["run"] = provenance.run_record(options, inputs={
        "attn_data_file": attn_path, "select_attn_data_file": select_path})
    if not options.no_html:
        report_page.write_page(outdir, report_page.coref_page(output, examples, grid=scores.grid, source=attn_path,
                                                              baseline_names=BASELINE_NAMES))
    utils.write_json(Path(outdir) / "coref.json", output)
    utils.write_text(Path(outdir) / "coref.md", "\n".join(markdown))
    return output
