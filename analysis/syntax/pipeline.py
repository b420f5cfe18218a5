"""The syntax analysis end to end: Table 1 (best head per relation), Figure 5 and, with probes, Table 3;
writes syntax.json, syntax.md and the figure.

Each input file is read once: the training file (when heads are chosen on it or the probes train on it) feeds
the head scores and the probe features in one pass, and so does the evaluation file, which also gives Figure 5
its sentences (with `--paper`, the paper's dev examples, kept in the same pass).
"""

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import provenance
import utils
from analysis.engines import maps
from analysis.heads import HeadGrid, pair_label
from analysis.options import AnalysisOptions, CorpusOptions, ProbeSettings, SyntaxOptions
from analysis.report import figures, page, paper
from analysis.syntax import scoring
from analysis.syntax.dependency_data import (
    FIGURE_MAX_WORDS,
    IndexedExamples,
    RelationExamples,
    check_dependency_example,
)

FIGURE_RELATIONS = 6  # Figure 5 shows the table's most frequent relations
PROBE_NAMES = {
    "right_branching": "Right-branching",
    "words_distances": "Words + distances (GloVe)",
    "attention_only": "Attention only",
    "attention_glove": "Attention + GloVe",
}


@dataclass
class SyntaxData:
    """What one pass over a word-level attention file gives: head scores, figure sentences, probe features."""

    dependencies: scoring.DependencyCounts
    relation_examples: RelationExamples
    probe_data: object | None  # probes.ProbeData when the probes run
    kept_examples: IndexedExamples  # the examples at the `keep` positions
    map_kind: str = "attn"  # what the maps are: `attn`, `norm` or `rollout` (maps.AttentionData)


def read_syntax_data(source: str | Path | maps.AttentionData, universal: bool = False, glove: object | None = None,
                     keep: Sequence[int] = (), probe_settings: ProbeSettings | None = None) -> SyntaxData:
    """Read a word-level attention pickle or shard directory (a path, or data already opened) once; with GloVe
    vectors, also the probe features (enough sentences for `probe_settings` checked before the bar closes); the
    examples at the `keep` positions are kept whole (the paper's Figure 5)."""
    data = source if isinstance(source, maps.AttentionData) else maps.open_attention(source)
    dependencies, relation_examples = scoring.DependencyAccumulator(universal), RelationExamples(universal)
    kept = IndexedExamples(keep, universal, purpose="the paper's Figure 5 (--paper)")
    accumulators = [dependencies, relation_examples, kept]
    if glove is not None:
        from analysis.syntax import probes  # imports Keras: only when the probes run

        accumulators.append(probes.ProbeFeatures(glove))
    def check_count(count: int) -> None:
        """Enough training sentences for the probes (when they train on this file)."""
        if probe_settings is not None:
            from analysis.syntax.probes import check_training_size

            check_training_size(count, probe_settings, data.path)

    maps.feed(data, accumulators, f"reading {data.path.name}", check=check_dependency_example, check_count=check_count)
    probe_data = accumulators[-1].result() if glove is not None else None
    return SyntaxData(dependencies.result(), relation_examples, probe_data, kept, data.map_kind)


def open_paper_data(path: str | Path, options: SyntaxOptions) -> maps.AttentionData:
    """With `options.paper`: the evaluation data opened (its first example read) and checked before any long pass:
    a 12 x 12 grid, and no `--figure-relations`, which the preset fixes; InputError otherwise."""
    if options.figure_relations:
        raise utils.InputError("--paper fixes Figure 5's relations and sentences: leave out --figure-relations")
    data = maps.open_attention(path)
    paper.check_grid(data.grid, path)
    return data


def table_markdown(table: Sequence[dict], select_on: str) -> str:
    """Table 1 as Markdown: 1-based `layer-head`, percentages."""
    protocol = ("chosen and scored on the same data, as in the paper" if select_on == "same"
                else f"chosen on {select_on}, scored on this data")
    lines = [
        f"Best single head per relation vs. best offset baseline (heads and offsets {protocol}). "
        "Heads are 1-based `layer-head`; the baseline predicts word i + offset.",
        "",
        "| relation | count | head | direction | accuracy | baseline | baseline accuracy |",
        "|---|---:|---|---|---:|---:|---:|",
    ]
    for row in table:
        head = pair_label(row["layer"], row["head"])
        accuracies = f"{100 * row['accuracy']:.1f} | {row['baseline_offset']:+d} | {100 * row['baseline_accuracy']:.1f}"
        lines.append(f"| {row['relation']} | {row['count']} | {head} | {row['direction']} | {accuracies} |")
    return "\n".join(lines) + "\n"


def probes_markdown(probe_uas: dict[str, float]) -> str:
    """Table 3 as Markdown: dev UAS (punct ignored) of each probe and baseline, in percent."""
    lines = ["| model | dev UAS (punct ignored) |", "|---|---:|"]
    lines += [f"| {PROBE_NAMES[name]} | {100 * uas:.1f} |" for name, uas in probe_uas.items()]
    return "\n".join(lines) + "\n"


def figure_relations(table: Sequence[dict], options: SyntaxOptions, source: str | Path) -> list[str]:
    """Figure 5's relations: those asked for (InputError unless all are in the table), else the table's
    FIGURE_RELATIONS most frequent."""
    relations = list(options.figure_relations) or [row["relation"] for row in table[1:1 + FIGURE_RELATIONS]]
    missing = sorted(set(relations) - {row["relation"] for row in table})
    if missing:
        raise utils.InputError(f"{source}: relations {', '.join(missing)} are not in the table "
                               f"(fewer than {options.min_count} words, root, punct or absent)")
    return relations


def probe_table(fit_batches: list, holdout_batches: list, dev: SyntaxData, glove: object,
                settings: ProbeSettings) -> dict[str, float]:
    """Table 3: the dev UAS of the right-branching baseline and of the three probes trained on train's batches."""
    from analysis.syntax import probes  # imports Keras: only when the probes run

    dev_batches = probes.make_batches(dev.probe_data, np.arange(len(dev.probe_data.heads)), settings.max_pairs)
    grid, vector_size = dev.dependencies.grid, glove.vectors.shape[1]
    probe_uas = probes.evaluate_probes(fit_batches, holdout_batches, dev_batches, grid, vector_size, settings)
    return {"right_branching": scoring.right_branching_uas(dev.dependencies), **probe_uas}


def run(attn_path: str | Path, outdir: str | Path, train_path: str | Path | None = None,
        options: SyntaxOptions | None = None, probe_settings: ProbeSettings | None = None) -> dict:
    """Table 1, Figure 5 and (with `options.probes`) Table 3 from word-level attention files; writes OUTDIR's
    syntax.json, syntax.md, figure5_relation_heads.png/.svg and (unless `options.no_html`) report.html, and
    returns the JSON."""
    options, probe_settings = options or SyntaxOptions(), probe_settings or ProbeSettings()
    utils.check_output_dir(outdir)
    if train_path is None and (options.probes or options.select_on == "train"):
        raise utils.InputError("the probes and --select-on train need the training data (--train-attn-data-file)")
    reads_train = train_path is not None and (options.select_on == "train" or options.probes)
    dev_source: str | Path | maps.AttentionData = attn_path
    if options.paper:
        dev_source = open_paper_data(attn_path, options)
        if reads_train:  # opened again after the training pass, so that memory holds one file at a time
            dev_source = attn_path
    glove = None
    if options.probes:
        from analysis.syntax import probes  # imports Keras: only when the probes run

        glove = probes.load_glove()
    select = train = None
    if reads_train:
        train = read_syntax_data(train_path, options.universal_relations, glove,
                                 probe_settings=probe_settings if options.probes else None)
        select = train.dependencies if options.select_on == "train" else None
        if options.probes:
            fit_batches, holdout_batches = probes.split_batches(train.probe_data, probe_settings)
            train.probe_data = None  # the batches hold what is needed; free the features before reading dev
    keep = paper.figure5_indices() if options.paper else ()
    dev = read_syntax_data(dev_source, options.universal_relations, glove, keep)
    paper_examples = dev.kept_examples.result(attn_path) if options.paper else None
    if train is not None and train.dependencies.grid != dev.dependencies.grid:
        raise utils.InputError(f"{train_path}: {train.dependencies.grid} layers x heads, but {attn_path} has "
                               f"{dev.dependencies.grid}")
    probe_uas = probe_table(fit_batches, holdout_batches, dev, glove, probe_settings) if options.probes else None
    recorded = {"syntax": options, "probes": probe_settings if options.probes else None}
    record = provenance.run_record(recorded, inputs={"attn_data_file": attn_path,
                                                               "select_attn_data_file": train_path})
    return write_outputs(outdir, dev.dependencies, dev.relation_examples, options, attn_path, map_kind=dev.map_kind,
                         run=record, select=select, probes=probe_uas, train_path=train_path,
                         paper_examples=paper_examples)


class SyntaxAnalysis(maps.CorpusAnalysis):
    """Table 1 and Figure 5 (heads chosen on the same data) as accumulators and outputs (maps.CorpusAnalysis)."""

    name = "syntax"
    word_level = True
    check = staticmethod(check_dependency_example)

    def __init__(self, options: SyntaxOptions, source: str | Path) -> None:
        self.options, self.source = options, source

    @classmethod
    def for_corpus(cls, options: AnalysisOptions, corpus: CorpusOptions, grid: HeadGrid,
                   source: str | Path) -> "SyntaxAnalysis":
        """Table 1 and Figure 5 with heads chosen on the same data."""
        return cls(options.syntax, source)

    def accumulators(self) -> dict[str, maps.Accumulator]:
        """Fresh accumulators for one run of examples: the dependency counts and the sentences Figure 5 shows."""
        universal = self.options.universal_relations
        return {"dependencies": scoring.DependencyAccumulator(universal), "examples": RelationExamples(universal)}

    @staticmethod
    def streamed_reader(example: dict, grid: HeadGrid, pieces_per_word: list[int],
                        word_level_mode: str) -> scoring.StreamedSentence:
        """Every head's predictions for a long sentence, read block by block."""
        return scoring.StreamedSentence(pieces_per_word, word_level_mode, grid)

    @staticmethod
    def add_streamed(accumulators: dict[str, maps.Accumulator], index: int, example: dict,
                     reader: scoring.StreamedSentence) -> None:
        """Count a long sentence; Figure 5's examples never come from one (its maps are not kept)."""
        accumulators["dependencies"].count(example, reader.grid, reader.result())

    def write(self, accumulators: dict[str, maps.Accumulator], outdir: str | Path, map_kind: str, run: dict) -> dict:
        """Write OUTDIR's syntax.json (with the `run` record), syntax.md, Figure 5 and report.html (unless
        `no_html`); returns the JSON."""
        return write_outputs(outdir, accumulators["dependencies"].result(), accumulators["examples"], self.options,
                             self.source, map_kind=map_kind, run=run)


def write_outputs(outdir: str | Path, data: scoring.DependencyCounts, relation_examples: RelationExamples,
                  options: SyntaxOptions, source: str | Path, *, map_kind: str, run: dict,
                  select: scoring.DependencyCounts | None = None, probes: dict[str, float] | None = None,
                  train_path: str | Path | None = None, paper_examples: dict | None = None) -> dict:
    """Write syntax.json (with `map_kind` and the `run` record), syntax.md, Figure 5 and (unless `options.no_html`)
    report.html; returns the JSON. Where they apply: `select`, the counts heads are chosen on; `probes`, Table 3's
    UAS of probes trained on `train_path`; `paper_examples`, the examples of the paper's Figure 5."""
    table = scoring.accuracy_table(data, select, options.min_count)
    relations = figure_relations(table, options, source)
    output = {"source": str(source), "map": map_kind, "n_examples": data.n_examples, "grid": list(data.grid),
              "select_on": options.select_on, "min_count": options.min_count,
              "universal_relations": options.universal_relations, "table": table}
    labels = "universal relations (subtypes merged)" if options.universal_relations else "relations as written"
    markdown = [
        "# Dependency syntax in attention heads", "",
        f"Source: `{source}`: {data.n_examples} examples, {data.n_words} words, {data.grid.n_layers} layers "
        f"x {data.grid.n_heads} heads; {labels}.", "",
        "## Best single heads (Table 1)", "",
        f"Relations with at least {options.min_count} words, root and punct excepted. The `all` row counts every "
        "word, root and punct included (a root word, whose gold head is 0, is never right for a head).", "",
        table_markdown(table, options.select_on),
    ]
    if probes is not None:
        output["probes"] = probes
        markdown += ["## Attention probes (Table 3)", "", f"Trained on `{train_path}`, scored on this data.",
                     "", probes_markdown(output["probes"])]
    examples = relation_examples.result(relations)
    if paper_examples is not None:
        figure5 = figures.plot_paper_relation_heads(paper.FIGURE5_PANELS, paper_examples)
        figures.save_figure(figure5, outdir, "figure5_relation_heads")
    elif examples:
        figures.save_figure(figures.plot_relation_heads(table, examples), outdir, "figure5_relation_heads")
    else:
        print(f"{source}: no example of at most {FIGURE_MAX_WORDS} words has {', '.join(relations) or 'a relation'}"
              " of the table: no Figure 5", file=sys.stderr)
    output["run"] = run
    if not options.no_html:
        page_examples = relation_examples.result(row["relation"] for row in table)
        page.write_page(outdir, page.syntax_page(
            table, page_examples, grid=data.grid, source=source, select_on=options.select_on,
            probes=output.get("probes"), probe_names=PROBE_NAMES))
    utils.write_json(Path(outdir) / "syntax.json", output)
    utils.write_text(Path(outdir) / "syntax.md", "\n".join(markdown))
    return output
