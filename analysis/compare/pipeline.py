"""Compare models (compare_models.py, docs/definitions.md "Comparing models"): attention files of several models (or
map kinds, or a model and its `--random-init` control) over the same examples, read in lockstep, once.

Word-level maps compare across tokenizers (the same words give the same rows and columns); token-level maps compare
where the tokens are equal. The head distance of every pair of heads of all files is the one of head_distances.py,
on the same kernel: each example's maps of every file are stacked into one grid of N heads. Each file also gets its
general statistics (per layer, side by side) and, when the examples carry them, its Table 1 or Table 2.
"""

import dataclasses
import itertools
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

import provenance
import utils
from analysis.coref import scoring as coref_scoring
from analysis.engines.maps import ExampleError, checked_grid, example_roles, example_tokens
from analysis.general import behaviour
from analysis.general.head_distances import HeadDistances
from analysis.general.statistics import StatisticsAccumulator
from analysis.heads import HeadGrid
from analysis.syntax import scoring as syntax_scoring
from analysis.syntax.dependency_data import check_dependency_example

DISTANCES_FILE = "cross_head_distances.pkl"
LAYER_KEYS = ("cls", "sep", "punct", "self", "next", "prev")


@dataclasses.dataclass
class ComparedModel:
    """One input file: its label and path, its grid and map kind, and its accumulators (statistics always; the
    dependency or coreference scores when its examples carry trees or mentions)."""

    label: str
    path: Path
    grid: HeadGrid | None = None
    map_kind: str = "attn"
    statistics: StatisticsAccumulator = dataclasses.field(default_factory=StatisticsAccumulator)
    dependencies: syntax_scoring.DependencyAccumulator | None = None
    coreference: coref_scoring.CorefAccumulator | None = None
    shown: tuple[list[str], np.ndarray] | None = None  # the first compared example: its row labels and maps


def compared_rows(example: dict, path: Path, index: int) -> tuple[str, list[str]]:
    """What an example's maps have rows for: ("words", the words) at word level, else ("tokens", the tokens); its
    record of the special tokens checked (maps.example_roles)."""
    attention_maps = example["attns"]
    n = attention_maps.shape[-1]
    words = example.get("words")
    try:
        example_roles(example)
        if isinstance(words, list) and len(words) + 2 == n:
            return "words", list(words)
        return "tokens", example_tokens(example, n)
    except ExampleError as error:
        raise utils.example_error(path, index, error.field, error.problem) from None


def aligned_examples(models: Sequence[ComparedModel]) -> Iterator[tuple[int, list[dict]]]:
    """The examples of every file in lockstep, those with maps in all of them; InputError naming the first example
    that differs (another count, other words or tokens, word level against token level)."""
    first = models[0]
    streams = [utils.iter_examples(model.path) for model in models]
    for index, examples in enumerate(itertools.zip_longest(*streams)):
        short = [model for model, example in zip(models, examples, strict=True) if example is None]
        if short:
            raise utils.InputError(f"{short[0].path}: has {index} examples, {first.path} has more (the files must "
                                   "hold the same examples in the same order)")
        if any("attns" not in example for example in examples):
            continue
        for model, example in zip(models, examples, strict=True):
            model.grid = checked_grid(example["attns"], model.grid, model.path, index)
        rows = [compared_rows(example, model.path, index) for model, example in zip(models, examples, strict=True)]
        for model, (field, labels) in zip(models[1:], rows[1:], strict=True):
            if (field, labels) != rows[0]:
                raise utils.example_error(model.path, index, field, f"differs from {first.path}'s example {index} "
                                          f"({rows[0][0]} {rows[0][1][:8]!r} against {field} {labels[:8]!r})")
        yield index, examples


def open_models(paths: Sequence[str | Path], labels: Sequence[str] | None) -> list[ComparedModel]:
    """One ComparedModel per file, labelled (by default the files' names without extension, made unique)."""
    if len(paths) < 2:
        raise utils.OptionError("attn_data_file", "give two files or more to compare")
    labels = list(labels) if labels else [Path(path).name.removesuffix(".pkl") for path in paths]
    if len(labels) != len(paths):
        raise utils.OptionError("labels", f"{len(labels)} labels for {len(paths)} files")
    if len(set(labels)) != len(labels):
        labels = [f"{label}#{position + 1}" for position, label in enumerate(labels)]
    return [ComparedModel(label, Path(utils.check_input_file(path) if not Path(path).is_dir() else path))
            for label, path in zip(labels, paths, strict=True)]


def feed(models: list[ComparedModel]) -> HeadDistances:
    """Read the files once, in lockstep: every model's accumulators and the distances of all heads together."""
    distances = None
    with utils.progress_bar(aligned_examples(models), desc="comparing", unit=" ex") as aligned:
        for index, examples in aligned:
            stacked = [example["attns"].reshape(-1, *example["attns"].shape[-2:]) for example in examples]
            if distances is None:
                distances = HeadDistances(HeadGrid(1, sum(len(maps) for maps in stacked)))
                for model, example in zip(models, examples, strict=True):
                    start_scores(model, example)
            distances.update(np.concatenate(stacked)[None])
            for model, example in zip(models, examples, strict=True):
                add_example(model, index, example)
    if distances is None:
        raise utils.InputError(f"{models[0].path}: no example has maps in every file")
    return distances


def start_scores(model: ComparedModel, example: dict) -> None:
    """On the first example: keep it for the page, and start the scores the examples call for."""
    model.map_kind = str(example.get("map", "attn"))
    model.shown = (example_tokens(example, example["attns"].shape[-1]), example["attns"])  # checked: compared_rows
    if "mentions" in example:
        model.coreference = coref_scoring.CorefAccumulator()
    elif "heads" in example and "relns" in example:
        model.dependencies = syntax_scoring.DependencyAccumulator(False)


def add_example(model: ComparedModel, index: int, example: dict) -> None:
    """Give one example to the model's accumulators (its trees or mentions checked first)."""
    attention_maps = example["attns"]
    try:
        model.statistics.add(index, example, attention_maps)
        if model.dependencies is not None:
            check_dependency_example(example, attention_maps)
            model.dependencies.add(index, example, attention_maps)
        if model.coreference is not None:
            coref_scoring.check_coref_example(example, attention_maps)
            model.coreference.add(index, example, attention_maps)
    except ExampleError as error:
        raise utils.example_error(model.path, index, error.field, error.problem) from None


def head_offsets(models: Sequence[ComparedModel]) -> list[int]:
    """Where each model's heads start among the N heads of all files."""
    return [0, *itertools.accumulate(model.grid.size for model in models)]


def nearest_heads(distances: np.ndarray, models: Sequence[ComparedModel]) -> list[list[tuple[int, int, float]]]:
    """For each of the N heads, its nearest head in every other model: (model, flat index there, distance)."""
    offsets = head_offsets(models)
    nearest = []
    for model_index in range(len(models)):
        for row in distances[offsets[model_index]:offsets[model_index + 1]]:
            nearest.append([(other, int(row[offsets[other]:offsets[other + 1]].argmin()),
                             float(row[offsets[other]:offsets[other + 1]].min()))
                            for other in range(len(models)) if other != model_index])
    return nearest


def layer_means(model: ComparedModel) -> dict:
    """The model's general statistics per layer (means over its heads), against relative depth (layer + 1) / L."""
    statistics = model.statistics.result()
    n_layers = model.grid.n_layers
    means = {key: statistics.avg_attn[key].mean(axis=1).tolist() for key in LAYER_KEYS}
    return {"label": model.label, "depth": [(layer + 1) / n_layers for layer in range(n_layers)], **means,
            "entropy": statistics.entropy.mean(axis=1).tolist()}


def table1_side_by_side(models: Sequence[ComparedModel], min_count: int) -> dict | None:
    """Table 1 of every model side by side: per relation (the first model's rows), each model's best head and its
    accuracy; None when the examples carry no trees."""
    if any(model.dependencies is None for model in models):
        return None
    tables = [{row["relation"]: row for row in syntax_scoring.accuracy_table(model.dependencies.result(), None,
                                                                             min_count)} for model in models]
    rows = []
    for relation, first in tables[0].items():
        cells = [[f"{table[relation]['layer'] + 1}-{table[relation]['head'] + 1}", table[relation]["accuracy"]]
                 if relation in table else [None, None] for table in tables]
        rows.append({"relation": relation, "count": first["count"], "cells": cells})
    return {"columns": [model.label for model in models], "rows": rows}


def table2_side_by_side(models: Sequence[ComparedModel]) -> dict | None:
    """Table 2 of every model side by side: per mention type, each model's best head (chosen on all mentions) and
    its accuracy; None when the examples carry no mentions."""
    if any(model.coreference is None for model in models):
        return None
    scores = [model.coreference.result() for model in models]
    rows = []
    for position, category in enumerate(coref_scoring.CATEGORIES):
        cells = []
        for model_scores in scores:
            layer, head = model_scores.best_head()
            accuracy = model_scores.heads[position, layer, head]
            cells.append([f"{layer + 1}-{head + 1}", None if np.isnan(accuracy) else float(accuracy)])
        rows.append({"type": category, "count": int(scores[0].counts[position]), "cells": cells})
    return {"columns": [model.label for model in models], "rows": rows}


def behaviour_of_heads(models: Sequence[ComparedModel]) -> list[str]:
    """Each of the N heads' behaviour label, from its own model's statistics (the general analysis's thresholds)."""
    labels = []
    for model in models:
        statistics = model.statistics.result()
        labels += behaviour.behaviour_labels(statistics.avg_attn, statistics.entropy).ravel().tolist()
    return labels


def head_labels(models: Sequence[ComparedModel]) -> list[str]:
    """The N heads' labels, `label:layer-head` (1-based)."""
    return [f"{model.label}:{model.grid.label(flat)}" for model in models for flat in range(model.grid.size)]


def compare_json(models: Sequence[ComparedModel], distances: np.ndarray, n_examples: int, min_count: int) -> dict:
    """compare.json: the models, the heads, each head's nearest head in every other model, the per-layer statistics
    side by side, and the tables side by side when the examples carry trees or mentions."""
    labels = head_labels(models)
    nearest = nearest_heads(distances, models)
    return {
        "n_examples": n_examples,
        "models": [{"label": model.label, "source": str(model.path), "grid": list(model.grid), "map": model.map_kind,
                    "special_tokens": model.statistics.result().special_tokens.record(),
                    "run": provenance.input_record(model.path)} for model in models],
        "heads": labels,
        "nearest": {label: {models[other].label: {"head": models[other].grid.label(flat), "distance": distance}
                            for other, flat, distance in head_nearest}
                    for label, head_nearest in zip(labels, nearest, strict=True)},
        "layers": [layer_means(model) for model in models],
        "table1": table1_side_by_side(models, min_count),
        "table2": table2_side_by_side(models),
    }


def percent(value: float | None) -> str:
    """A fraction as a percentage with one decimal, or a dash."""
    return "–" if value is None else f"{100 * value:.1f}"


def compare_markdown(output: dict) -> str:
    """compare.md: the models, the mean distance to the nearest head in each other model, the layers and the tables
    side by side."""
    labels = [model["label"] for model in output["models"]]
    lines = ["# Comparing models", "", f"{output['n_examples']} examples with maps in every file. Heads are "
             "1-based `label:layer-head`; distances are the paper's head distance (Jensen-Shannon, nats).", "",
             "| model | source | layers x heads | map |", "| --- | --- | --- | --- |"]
    lines += [f"| {model['label']} | `{model['source']}` | {model['grid'][0]} x {model['grid'][1]} | {model['map']} |"
              for model in output["models"]]
    lines += ["", "## Nearest heads", "", "Mean distance from each model's heads to their nearest head in another "
              "model (rows: from, columns: to).", "", "| from \\ to | " + " | ".join(labels) + " |",
              "| --- |" + " ---: |" * len(labels)]
    for label in labels:
        found = [entry for head, entry in output["nearest"].items() if head.split(":")[0] == label]
        means = [f"{np.mean([entry[other]['distance'] for entry in found]):.4f}" if other != label else "–"
                 for other in labels]
        lines.append(f"| {label} | " + " | ".join(means) + " |")
    lines += ["", "## Layers side by side", "", "Mean over a layer's heads; depth is (layer + 1) / layers.", "",
              "| model | depth | " + " | ".join(LAYER_KEYS) + " | entropy |", "| --- |" + " ---: |" * 8]
    for layer in output["layers"]:
        for position, depth in enumerate(layer["depth"]):
            values = " | ".join(f"{layer[key][position]:.3f}" for key in (*LAYER_KEYS, "entropy"))
            lines.append(f"| {layer['label']} | {depth:.2f} | {values} |")
    for name, first in (("table1", "relation"), ("table2", "type")):
        if output[name] is not None:
            title = "Table 1 side by side (best head, accuracy %)" if name == "table1" else (
                "Table 2 side by side (best head on all mentions, accuracy %)")
            lines += ["", f"## {title}", "", f"| {first} | count | " + " | ".join(labels) + " |",
                      "| --- | ---: |" + " ---: |" * len(labels)]
            lines += [f"| {row[first]} | {row['count']} | " + " | ".join(
                f"{head or '–'} {percent(accuracy)}" for head, accuracy in row["cells"]) + " |"
                for row in output[name]["rows"]]
    return "\n".join(lines) + "\n"


def run(paths: Sequence[str | Path], outdir: str | Path, labels: Sequence[str] | None = None, seed: int = 0,
        min_count: int = 100, write_html: bool = True, run_record: dict | None = None) -> dict:
    """Compare the files: write OUTDIR's cross_head_distances.pkl, compare.json, compare.md, the head atlas and
    (with `write_html`) report.html; returns compare.json's content."""
    from analysis.report import figures, page

    models = open_models(paths, labels)
    utils.check_output_dir(outdir)
    accumulated = feed(models)
    distances = accumulated.result()
    output = compare_json(models, distances, accumulated.n_examples, min_count)
    output["run"] = run_record or provenance.run_record({"labels": labels, "seed": seed, "min_count": min_count},
                                                        inputs={f"attn_data_file_{index}": model.path
                                                                for index, model in enumerate(models)})
    behaviours = behaviour_of_heads(models)
    points = behaviour.embed_heads(distances, seed)
    head_model = [index for index, model in enumerate(models) for _ in range(model.grid.size)]
    outdir = Path(outdir)
    utils.write_pickle(outdir / DISTANCES_FILE, distances)
    provenance.write_sidecar(outdir / DISTANCES_FILE, output["run"])
    roles = behaviour.joined_roles([model.statistics.result().special_tokens for model in models])
    figures.save_figure(figures.plot_head_atlas(points, head_model, behaviours, [model.label for model in models],
                                                roles), outdir, "head_atlas")
    if write_html:
        source = " vs ".join(model.label for model in models)
        page.write_page(outdir, page.compare_page(output, points, behaviours, nearest_heads(distances, models),
                                                  [model.shown for model in models], source))
    utils.write_json(outdir / "compare.json", output)
    utils.write_text(outdir / "compare.md", compare_markdown(output))
    return output
