"""Dependency syntax in single heads (paper section 4.2: Table 1 and Figure 5), and the report of the analysis.

Every head, read in both directions, is a parser (DESIGN.md section 4): in direction `dep->head` the predicted
head of word i (1-based) is the other word j it attends to most, argmax over the word columns of A[l, h, i];
in direction `head->dep` it is the word that attends to i most, the same with A[l, h] transposed. A word's
prediction is correct when it equals its gold head, so a root word (gold head 0) is never right by a head.

All words of a pickle are scored at once: the predictions of all heads in both directions for all words are
concatenated into one `[2, N, W]` array (W words in all), compared with the gold heads, and summed per relation.
Relations are the labels as written (`nmod:poss`), or with `universal=True` their universal part (`nmod`).

The paper's special case for Stanford `poss` (its heads mark the possessive `'s` rather than the possessor,
and the paper counts that as correct) applies only to words labelled exactly `poss` that are followed by a
possessive marker in the same sentence: such a word is scored by the prediction for the marker. A possessor at
the end of a sentence is scored normally (the original code raised IndexError there).
"""

import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from matplotlib import pyplot as plt
from matplotlib.figure import Figure
from tqdm import tqdm

import utils
from analysis import figures
from analysis.behaviour import head_name

DIRECTIONS = ("dep->head", "head->dep")
BASELINE_OFFSETS = np.array([-3, -2, -1, 1, 2, 3])
ALL_RELATIONS = "all"
TABLE_EXCLUDED = ("root", "punct")
PUNCT = "punct"
POSSESSIVE = "poss"
POSSESSIVE_MARKERS = ("'s", "'", "s'")
FIGURE_RELATIONS = 6  # Figure 5 shows the table's most frequent relations
FIGURE_MAX_WORDS = 20  # on the first example of at most this many words that has the relation
PROBE_NAMES = {
    "right_branching": "Right-branching",
    "words_distances": "Words + distances (GloVe)",
    "attention_only": "Attention only",
    "attention_glove": "Attention + GloVe",
}


@dataclass
class DependencyData:
    """Gold trees and every head's predicted heads for the words of one attention pickle, concatenated.

    Word w of the concatenation is word `positions[w]` (1-based) of a sentence of `lengths[w]` words.
    """

    predictions: np.ndarray  # int16 [2 directions, N heads, W]: predicted head (1-based word position)
    heads: np.ndarray  # int32 [W]: gold head, 0 = root
    relations: np.ndarray  # str [W]
    positions: np.ndarray  # int32 [W]
    lengths: np.ndarray  # int32 [W]
    possessive_rule: np.ndarray  # bool [W]: scored by the next word's prediction (label `poss` + marker)
    grid: tuple[int, int]  # (layers, heads)
    n_examples: int
    # relation -> (example, attns) of the first example of at most FIGURE_MAX_WORDS words that has it (Figure 5)
    figure_examples: dict[str, tuple[dict, np.ndarray]]


def check_dependency_example(path: str | Path, index: int, example: dict, attns: np.ndarray) -> None:
    """InputError unless the example has a word-level map and a well-formed gold tree over its words."""
    words, heads, relns = (example.get(name) for name in ("words", "heads", "relns"))
    for name, value in (("words", words), ("heads", heads), ("relns", relns)):
        if not isinstance(value, list) or not value:
            raise utils.example_error(path, index, name, "missing or not a non-empty list")
    if not all(isinstance(word, str) for word in words):
        raise utils.example_error(path, index, "words", "not a list of strings")
    if not all(isinstance(reln, str) for reln in relns):
        raise utils.example_error(path, index, "relns", "not a list of strings")
    n_words = len(words)
    for name, value in (("heads", heads), ("relns", relns)):
        if len(value) != n_words:
            raise utils.example_error(path, index, name, f"has {len(value)} entries for {n_words} words")
    for position, head in enumerate(heads, start=1):
        if isinstance(head, bool) or not isinstance(head, int | np.integer) or not 0 <= head <= n_words:
            raise utils.example_error(path, index, "heads", f"word {position}'s head {head!r} is not in [0, {n_words}]")
        if head == position:
            raise utils.example_error(path, index, "heads", f"word {position} is its own head")
    if attns.shape[2] != n_words + 2:
        raise utils.example_error(
            path, index, "attns", f"maps of size {attns.shape[2]} are not word-level for {n_words} words "
            f"(expected {n_words + 2}: [CLS], the words, [SEP]; run extract_attention.py --word_level)")


def head_predictions(attns: np.ndarray) -> np.ndarray:
    """Predicted heads `[2, L * H, n_words]` (1-based) of every head, both directions, from a word-level map.

    `attns` is `[L, H, n_words + 2, n_words + 2]`; [CLS], [SEP] and each word itself are never predicted.
    """
    n_layers, n_heads, n, _ = attns.shape
    word_maps = attns[:, :, 1:-1, 1:-1].reshape(n_layers * n_heads, n - 2, n - 2)
    scores = np.stack([word_maps, word_maps.swapaxes(1, 2)]).astype(np.float32)
    diagonal = np.arange(n - 2)
    scores[:, :, diagonal, diagonal] = -np.inf
    return (scores.argmax(-1) + 1).astype(np.int16)


def possessive_rule(words: Sequence[str], relations: Sequence[str]) -> np.ndarray:
    """bool `[n_words]`: words labelled exactly `poss` whose next word (in this sentence) is a possessive marker."""
    following = [*words[1:], None]
    pairs = zip(relations, following, strict=True)
    return np.array([reln == POSSESSIVE and after in POSSESSIVE_MARKERS for reln, after in pairs], dtype=bool)


def relation_labels(relns: Iterable[str], universal: bool) -> list[str]:
    """The labels as written, or their universal part before ':' (`nmod:poss` -> `nmod`)."""
    return [reln.split(":")[0] if universal else reln for reln in relns]


def read_dependency_data(path: str | Path, universal: bool = False) -> DependencyData:
    """Stream a word-level attention pickle (or shard directory) into gold trees and every head's predictions."""
    predictions, heads, relations, positions, lengths, rule = [], [], [], [], [], []
    figure_examples = {}
    grid = None
    for index, example, attns in tqdm(utils.iter_attention(path), desc=f"reading {Path(path).name}", unit="example"):
        check_dependency_example(path, index, example, attns)
        grid = grid or attns.shape[:2]
        n_words = len(example["words"])
        labels = relation_labels(example["relns"], universal)
        predictions.append(head_predictions(attns))
        heads.append(np.asarray(example["heads"], dtype=np.int32))
        relations.extend(labels)
        positions.append(np.arange(1, n_words + 1, dtype=np.int32))
        lengths.append(np.full(n_words, n_words, dtype=np.int32))
        rule.append(possessive_rule(example["words"], labels))
        if n_words <= FIGURE_MAX_WORDS:
            for label in labels:
                figure_examples.setdefault(label, (example, attns))
    if grid is None:
        raise utils.InputError(f"{path}: no examples with attention maps")
    return DependencyData(
        predictions=np.concatenate(predictions, axis=-1),
        heads=np.concatenate(heads),
        relations=np.array(relations),
        positions=np.concatenate(positions),
        lengths=np.concatenate(lengths),
        possessive_rule=np.concatenate(rule),
        grid=tuple(int(size) for size in grid),
        n_examples=len(heads),
        figure_examples=figure_examples,
    )


def offset_predictions(data: DependencyData) -> np.ndarray:
    """Offset baselines `[len(BASELINE_OFFSETS), W]`: word i's head is i + k, clipped to [0, n_words] (0 = root)."""
    return np.clip(data.positions + BASELINE_OFFSETS[:, None], 0, data.lengths)


def score(predictions: np.ndarray, data: DependencyData) -> np.ndarray:
    """bool `[..., W]`: predictions `[..., W]` equal to the gold heads, the `poss` rule applied."""
    correct = predictions == data.heads
    possessors = np.flatnonzero(data.possessive_rule)
    correct[..., possessors] = predictions[..., possessors + 1] == data.heads[possessors]
    return correct


def relation_accuracies(correct: np.ndarray, relations: np.ndarray) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Per relation: names (`all` first), word counts `[R]` and accuracies `[..., R]` of `correct` `[..., W]`."""
    names, relation_ids = np.unique(relations, return_inverse=True)
    order = np.argsort(relation_ids, kind="stable")
    starts = np.searchsorted(relation_ids[order], np.arange(len(names)))
    counts = np.bincount(relation_ids, minlength=len(names))
    correct_counts = np.add.reduceat(correct[..., order].astype(np.int64), starts, axis=-1)
    all_correct = correct.sum(-1, keepdims=True)
    accuracies = np.concatenate([all_correct / correct.shape[-1], correct_counts / counts], axis=-1)
    return [ALL_RELATIONS, *names.tolist()], np.concatenate([[len(relations)], counts]), accuracies


def accuracy_table(
    data: DependencyData, select_data: DependencyData | None = None, min_count: int = 100
) -> list[dict]:
    """Table 1: per relation, the best head (direction included) and the best offset baseline on `data`.

    Heads and offsets are chosen on `select_data` when given (honest: e.g. train), else on `data` itself (the
    paper's protocol). Rows: `all`, then relations with at least `min_count` words in `data`, except root and
    punct (and, with `select_data`, relations absent from it), by decreasing count.
    """
    names, counts, head_accuracies, baseline_accuracies = all_accuracies(data)
    select_names, _, select_heads, select_baselines = all_accuracies(select_data) if select_data else (
        names, counts, head_accuracies, baseline_accuracies)
    select_column = {name: column for column, name in enumerate(select_names)}
    n_flat_heads = data.grid[0] * data.grid[1]
    table = []
    for column, (name, count) in enumerate(zip(names, counts, strict=True)):
        kept = name == ALL_RELATIONS or (count >= min_count and name not in TABLE_EXCLUDED)
        if not kept or name not in select_column:
            continue
        choice = int(select_heads[:, select_column[name]].argmax())
        baseline = int(select_baselines[:, select_column[name]].argmax())
        direction, flat_head = divmod(choice, n_flat_heads)
        table.append({
            "relation": name,
            "count": int(count),
            "layer": flat_head // data.grid[1],
            "head": flat_head % data.grid[1],
            "direction": DIRECTIONS[direction],
            "accuracy": float(head_accuracies[choice, column]),
            "baseline_offset": int(BASELINE_OFFSETS[baseline]),
            "baseline_accuracy": float(baseline_accuracies[baseline, column]),
        })
    return sorted(table, key=lambda row: (row["relation"] != ALL_RELATIONS, -row["count"], row["relation"]))


def all_accuracies(data: DependencyData) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    """Relation names (`all` first), counts `[R]`, head accuracies `[2 * N, R]` and baseline accuracies `[K, R]`.

    Head row `direction * N + flat_head`: rows 0..N-1 are direction dep->head, N..2N-1 head->dep.
    """
    flat_predictions = data.predictions.reshape(-1, data.predictions.shape[-1])
    names, counts, head_accuracies = relation_accuracies(score(flat_predictions, data), data.relations)
    _, _, baseline_accuracies = relation_accuracies(score(offset_predictions(data), data), data.relations)
    return names, counts, head_accuracies, baseline_accuracies


def right_branching_uas(data: DependencyData) -> float:
    """UAS, ignoring punct, of the right-branching parse: word i's head is i + 1, the last word's is the root."""
    predictions = np.where(data.positions < data.lengths, data.positions + 1, 0)
    scored = data.relations != PUNCT
    return float((predictions[scored] == data.heads[scored]).mean())


def table_markdown(table: Sequence[dict], grid: tuple[int, int], select_on: str) -> str:
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
        head = head_name(row["layer"] * grid[1] + row["head"], grid[1])
        accuracies = f"{100 * row['accuracy']:.1f} | {row['baseline_offset']:+d} | {100 * row['baseline_accuracy']:.1f}"
        lines.append(f"| {row['relation']} | {row['count']} | {head} | {row['direction']} | {accuracies} |")
    return "\n".join(lines) + "\n"


def probes_markdown(probe_uas: dict[str, float]) -> str:
    """Table 3 as Markdown: dev UAS (punct ignored) of each probe and baseline, in percent."""
    lines = ["| model | dev UAS (punct ignored) |", "|---|---:|"]
    lines += [f"| {PROBE_NAMES[name]} | {100 * uas:.1f} |" for name, uas in probe_uas.items()]
    return "\n".join(lines) + "\n"


def relation_examples(data: DependencyData, relations: Sequence[str]) -> dict[str, tuple[dict, np.ndarray]]:
    """For each relation, the first example of at most FIGURE_MAX_WORDS words that has it: (example, attns)."""
    return {relation: data.figure_examples[relation] for relation in relations if relation in data.figure_examples}


def plot_relation_heads(
    table: Sequence[dict], examples: dict[str, tuple[dict, np.ndarray]], universal: bool = False
) -> Figure:
    """Figure 5: each relation's best head on an example. The head's own attention is drawn (queries left, keys
    right); the words whose attention should find the other end of the relation are highlighted: the relation's
    dependents for direction dep->head, their heads for head->dep."""
    rows = [row for row in table if row["relation"] in examples]
    longest = max(len(examples[row["relation"]][0]["words"]) for row in rows) + 2
    figure, axes = plt.subplots(1, len(rows), figsize=(2.9 * len(rows), 1.4 + 0.19 * longest), squeeze=False)
    for ax, row in zip(axes[0], rows, strict=True):
        example, attns = examples[row["relation"]]
        labels = relation_labels(example["relns"], universal)
        dependents = [position for position, label in enumerate(labels, start=1) if label == row["relation"]]
        queries = dependents if row["direction"] == DIRECTIONS[0] else [example["heads"][i - 1] for i in dependents]
        tokens = ["[CLS]", *example["words"], "[SEP]"]
        title = (f"{row['relation']}: head {row['layer'] + 1}-{row['head'] + 1}\n"
                 f"{row['direction']}, {100 * row['accuracy']:.1f}% accurate")
        figures.plot_attention_lines(ax, tokens, attns[row["layer"], row["head"]], highlight=queries, title=title)
    figure.suptitle("The best head of each relation (1-based layer-head); in red, the relation's dependents "
                    "(dep->head) or heads (head->dep) and their attention")
    figure.tight_layout()
    return figure


@dataclass
class Options:
    """How to run the analysis: head selection, table filter, labels, Figure 5 and the probes."""

    select_on: str = "same"  # "same" (the paper's protocol) or "train"
    min_count: int = 100
    universal: bool = False
    figure_relations: Sequence[str] = ()  # default: the table's FIGURE_RELATIONS most frequent relations
    probes: bool = False
    probe_training: dict = field(default_factory=dict)  # keyword arguments of probes.evaluate_probes


def run(attn_path: str | Path, outdir: str | Path, train_path: str | Path | None = None,
        options: Options | None = None) -> dict:
    """Table 1, Figure 5 and (with `options.probes`) Table 3 from word-level attention pickles; writes OUTDIR's
    syntax.json, syntax.md and figure5_relation_heads.png/.svg, and returns the JSON."""
    options = options or Options()
    data = read_dependency_data(attn_path, options.universal)
    select_data = read_dependency_data(train_path, options.universal) if options.select_on == "train" else None
    if select_data is not None and select_data.grid != data.grid:
        raise utils.InputError(f"{train_path}: {select_data.grid} layers x heads, but {attn_path} has {data.grid}")
    table = accuracy_table(data, select_data, options.min_count)
    relations = list(options.figure_relations) or [row["relation"] for row in table[1:1 + FIGURE_RELATIONS]]
    missing = sorted(set(relations) - {row["relation"] for row in table})
    if missing:
        raise utils.InputError(f"{attn_path}: relations {', '.join(missing)} are not in the table "
                               f"(fewer than {options.min_count} words, root, punct or absent)")
    output = {"source": str(attn_path), "n_examples": data.n_examples, "grid": list(data.grid),
              "select_on": options.select_on, "min_count": options.min_count,
              "universal_relations": options.universal, "table": table}
    labels = "universal relations (subtypes merged)" if options.universal else "relations as written"
    markdown = [
        "# Dependency syntax in attention heads", "",
        f"Source: `{attn_path}`: {data.n_examples} examples, {len(data.heads)} words, {data.grid[0]} layers x "
        f"{data.grid[1]} heads; {labels}.", "",
        "## Best single heads (Table 1)", "",
        f"Relations with at least {options.min_count} words, root and punct excepted. The `all` row counts every "
        "word, root and punct included (a root word, whose gold head is 0, is never right for a head).", "",
        table_markdown(table, data.grid, options.select_on),
    ]
    if options.probes:
        from analysis import probes  # imports Keras: only when the probes run

        output["probes"] = {"right_branching": right_branching_uas(data),
                            **probes.evaluate_probes(train_path, attn_path, **options.probe_training)}
        markdown += ["## Attention probes (Table 3)", "", f"Trained on `{train_path}`, scored on this data.", "",
                     probes_markdown(output["probes"])]
    examples = relation_examples(data, relations)
    if examples:
        figures.save_figure(plot_relation_heads(table, examples, options.universal), outdir, "figure5_relation_heads")
    else:
        print(f"{attn_path}: no example of at most {FIGURE_MAX_WORDS} words has {', '.join(relations) or 'a relation'}"
              " of the table: no Figure 5", file=sys.stderr)
    utils.write_json(Path(outdir) / "syntax.json", output)
    utils.write_text(Path(outdir) / "syntax.md", "\n".join(markdown))
    return output
