"""The report page: each analysis as one self-contained, interactive HTML file (`report.html`).

A page is one file: its data (JSON in a `<script type="application/json">`), its scripts and its styles are
inline, and its Content-Security-Policy forbids every network request, so it opens from disk, offline, and inside
Jupyter (`notebook_frame`). The scripts are hand-written, one file per concern, in `analysis/report/assets/`.

Data is kept compact:
- per-head statistics are rounded to 4 significant digits;
- attention maps are stored as the opacity the page draws, `sqrt(weight)`, in 255 steps: one byte a weight
  (base64), so a line's drawn opacity is exact to 1/510 and weights down to 4e-6 survive;
- the head view keeps a few examples only (`HeadViewExamples`: at most MAX_EXAMPLES examples, each cropped to
  MAX_TOKENS tokens, MAX_WEIGHTS weights in all), and the page says what it left out.

`index_page` links every report.html below a directory (report_index.py).
"""

import base64
import dataclasses
import html
import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

import utils
from analysis.coref.scoring import MentionExample
from analysis.engines import maps
from analysis.general.behaviour import BEHAVIOURS, behaviour_names, joined_roles
from analysis.general.statistics import GeneralStatistics
from analysis.heads import HeadGrid
from analysis.syntax.dependency_data import FIGURE_MAX_WORDS, RelationExample
from bert.special_tokens import BERT_SPECIAL_TOKENS, RECORD_FIELD, SpecialTokens, example_special_tokens

PAGE_NAME = "report.html"
ASSETS = Path(__file__).with_name("assets")
SHARED_SCRIPTS = ("common.js", "attention.js", "charts.js")  # before the page's own script, in this order
SCRIPTS = {"index": ("common.js", "index.js")}  # a page's scripts when not the shared ones and its own
WEIGHT_STEPS = 255  # a weight w is stored as round(255 * sqrt(w)), one byte
MIN_LINE_WEIGHT = 0.002  # lighter lines are not drawn, on the pages as in the figures
SIGNIFICANT_DIGITS = 4
DRAWING = {"weight_steps": WEIGHT_STEPS, "min_weight": MIN_LINE_WEIGHT}  # for the scripts, with the special tokens
MAX_EXAMPLES = 5  # head view: examples kept
MAX_TOKENS = 128  # head view: tokens kept of each example (longer ones are cropped)
MAX_WEIGHTS = 4 * 2**20  # head view: attention weights kept in all (layers x heads x n x n, summed over examples)
CONTENT_SECURITY_POLICY = ("default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
                           "img-src data: blob:")


# ---------------------------------------------------------------------------- compact data


def encode_weights(attention: np.ndarray) -> str:
    """Attention weights (any shape, in [0, 1]) as base64 of the bytes round(255 * sqrt(w)), in C order."""
    steps = np.rint(np.sqrt(np.clip(np.asarray(attention, np.float32), 0.0, 1.0)) * WEIGHT_STEPS)
    return base64.b64encode(steps.astype(np.uint8).tobytes()).decode("ascii")


def rounded(values: Any, digits: int = SIGNIFICANT_DIGITS) -> Any:
    """Numbers (nested lists or arrays) rounded to `digits` significant digits, as plain lists; NaN and None
    become None."""
    if isinstance(values, np.ndarray | list | tuple):
        return [rounded(value, digits) for value in values]
    if values is None or not np.isfinite(values):
        return None
    return float(f"{float(values):.{digits}g}")


# ---------------------------------------------------------------------------- the head view's examples


@dataclasses.dataclass
class HeadViewExample:
    """One example of the head view: its index in the file, its tokens (cropped) and its maps, encoded."""

    index: int
    tokens: list[str]
    n_tokens: int  # before cropping
    weights: str  # encode_weights of the maps [layers, heads, n, n], n = len(tokens)
    size: int  # how many weights: layers * heads * n * n

    def to_json(self) -> dict:
        """The example as the page reads it."""
        return {"index": self.index, "tokens": self.tokens, "n_tokens": self.n_tokens, "weights": self.weights}


class HeadViewExamples:
    """Keeps the examples of the head view: the one at `first_index` (Figure 1's; shown first) and the first ones
    of the file, at most `max_examples` in all (a place stays free for Figure 1's), each cropped to its first
    `max_tokens` tokens; of these the page shows, in file order, those within `max_weights` weights in all (the
    first one and Figure 1's whatever their size).

    The weight budget is applied when the examples are asked for (`kept`), not as they come, so that partials
    merged in file order keep what one pass keeps. Memory: at most `max_examples` examples, one byte a weight.
    """

    def __init__(self, first_index: int | None = None, max_examples: int = MAX_EXAMPLES,
                 max_tokens: int = MAX_TOKENS, max_weights: int = MAX_WEIGHTS, last_index: int | None = None) -> None:
        """`last_index`, when known (streaming knows which examples will have maps): no later example can be kept,
        so later ones are only counted, and partials of later shards stay empty."""
        self.first_index, self.last_index = first_index, last_index
        self.max_examples, self.max_tokens, self.max_weights = max_examples, max_tokens, max_weights
        self.first: HeadViewExample | None = None  # the example at first_index, once seen
        self.candidates: list[HeadViewExample] = []  # the first other examples, in file order
        self.n_seen = 0

    @property
    def n_candidates(self) -> int:
        """How many examples besides Figure 1's are kept: `max_examples`, less the place kept for Figure 1's."""
        return max(self.max_examples - (self.first_index is not None), 0)

    def add(self, index: int, example: dict, attention_maps: np.ndarray) -> None:
        """Keep the example if it is Figure 1's or one of the first `n_candidates` others."""
        self.n_seen += 1
        beyond = self.last_index is not None and index > self.last_index
        if beyond or (index != self.first_index and len(self.candidates) >= self.n_candidates):
            return
        n_layers, n_heads, n = attention_maps.shape[:3]
        shown = min(n, self.max_tokens)
        tokens = maps.example_tokens(example, n)[:shown]
        weights = encode_weights(attention_maps[:, :, :shown, :shown])
        kept = HeadViewExample(index, tokens, n, weights, n_layers * n_heads * shown * shown)
        if index == self.first_index:
            self.first = kept
        else:
            self.candidates.append(kept)

    @property
    def kept(self) -> list[HeadViewExample]:
        """The examples shown: Figure 1's first, then, in file order, the others that stay within the budget of
        weights (counted in file order, Figure 1's included; the first example is shown whatever its size)."""
        in_file_order = sorted([*self.candidates, *([self.first] if self.first else [])], key=lambda kept: kept.index)
        shown, n_weights = [], 0
        for example in in_file_order:
            if example is self.first or not shown or n_weights + example.size <= self.max_weights:
                shown.append(example)
                n_weights += example.size
        return sorted(shown, key=lambda example: example is not self.first)

    def merge(self, later: "HeadViewExamples") -> None:
        """Fold in `later`, of the same options, whose examples come after this partial's."""
        self.first = self.first or later.first
        self.candidates = [*self.candidates, *later.candidates][:self.n_candidates]
        self.n_seen += later.n_seen

    def state(self) -> dict:
        """The partial as plain data: options, how many examples were seen, and the kept examples as dicts."""
        return {"first_index": self.first_index, "max_examples": self.max_examples, "max_tokens": self.max_tokens,
                "max_weights": self.max_weights, "last_index": self.last_index, "n_seen": self.n_seen,
                "first": None if self.first is None else dataclasses.asdict(self.first),
                "candidates": [dataclasses.asdict(example) for example in self.candidates]}

    @classmethod
    def from_state(cls, state: dict) -> "HeadViewExamples":
        """The keeper back from `state()`."""
        keeper = cls(state["first_index"], state["max_examples"], state["max_tokens"], state["max_weights"],
                     state["last_index"])
        keeper.first = None if state["first"] is None else HeadViewExample(**state["first"])
        keeper.candidates = [HeadViewExample(**example) for example in state["candidates"]]
        keeper.n_seen = int(state["n_seen"])
        return keeper

    def to_json(self, special_tokens: SpecialTokens = BERT_SPECIAL_TOKENS) -> dict:
        """The examples and the note saying what was left out (the data's `special_tokens` named in it)."""
        return {"examples": [example.to_json() for example in self.kept], "note": self.note(special_tokens)}

    def note(self, special_tokens: SpecialTokens = BERT_SPECIAL_TOKENS) -> str:
        """What the head view leaves out, in a sentence (empty when nothing)."""
        parts, kept = [], self.kept
        if len(kept) < self.n_seen:
            parts.append(f"showing {len(kept)} of {self.n_seen} examples with maps (the page keeps at most "
                         f"{self.max_examples} examples and {self.max_weights:,} attention weights)")
        cropped = [example for example in kept if example.n_tokens > len(example.tokens)]
        if cropped:
            listed = ", ".join(f"example {example.index} ({example.n_tokens} tokens)" for example in cropped)
            parts.append(f"cropped to their first {self.max_tokens} tokens: {listed} (rows keep their weights, so "
                         f"they sum to less than 1 unless {special_tokens.cls}/{special_tokens.sep} are hidden)")
        sentence = "; ".join(parts)
        return sentence[:1].upper() + sentence[1:] + ("." if parts else "")


# ---------------------------------------------------------------------------- each page's data


def behaviours_json(special_tokens: SpecialTokens) -> list[list[str]]:
    """[label, name] of each behaviour, the roles named by the data's strings (behaviour.behaviour_names)."""
    names = behaviour_names(special_tokens)
    return [[label, names[label]] for label in BEHAVIOURS]


def data_roles(data: Mapping[str, Any]) -> SpecialTokens:
    """The roles a page's data records under "special_tokens" (BERT's when it records none)."""
    return example_special_tokens(data)


def drawing(roles: Sequence[SpecialTokens]) -> dict:
    """What the scripts share with the figures (DRAWING) and the strings of every role of `roles` (the tokens the
    head view hides)."""
    strings = dict.fromkeys(string for one in roles for string in (one.cls, one.sep))
    return {**DRAWING, "special_tokens": list(strings)}


def general_page(statistics: GeneralStatistics, labels: np.ndarray, points: np.ndarray | None,
                 head_view: HeadViewExamples, figure_heads: Sequence[tuple[int, str]], source: str | Path) -> str:
    """The general analysis page: head view, model view, Figures 2, 4 and 6 (when `points`, the MDS embedding
    `[N, 2]`, is given). `figure_heads` are Figure 1's (flat index, caption); the roles are the statistics'."""
    data = {
        "source": str(source), "grid": list(statistics.grid), "n_examples": statistics.n_examples,
        "avg_attn": {key: rounded(values) for key, values in statistics.avg_attn.items()},
        "entropy": rounded(statistics.entropy), "entropy_from_cls": rounded(statistics.entropy_from_cls),
        "uniform_entropy": rounded(statistics.uniform_entropy), "behaviour": labels.tolist(),
        "behaviours": behaviours_json(statistics.special_tokens),
        "mds": None if points is None else rounded(points),
        "figure_heads": [[int(index), caption.replace("\n", " ")] for index, caption in figure_heads],
        "head_view": head_view.to_json(statistics.special_tokens), RECORD_FIELD: statistics.special_tokens.record(),
    }
    return page_html("General attention analysis", "general", data)


def relation_examples_json(table: Sequence[dict], examples: Mapping[str, RelationExample]) -> tuple[list, list]:
    """The sentences the syntax page shows, and for each table row the index of its sentence (or None).

    Each sentence carries only the maps of the heads its rows show, encoded. The `all` row shows the sentence of
    the first other row that has one.
    """
    sentences: list[dict] = []
    by_identity: dict[int, int] = {}
    row_sentences = []
    for row in table:
        example = examples.get(row["relation"]) or next(
            (examples[other["relation"]] for other in table if other["relation"] in examples), None)
        if example is None:
            row_sentences.append(None)
            continue
        if id(example) not in by_identity:
            by_identity[id(example)] = len(sentences)
            sentences.append({"tokens": list(example.tokens), "heads": list(example.heads),
                              "relations": list(example.relations), "maps": {}})
        sentence = sentences[by_identity[id(example)]]
        flat = HeadGrid.of(example.attention_maps).flat(row["layer"], row["head"])
        sentence["maps"].setdefault(str(flat), encode_weights(example.attention_maps[row["layer"], row["head"]]))
        row_sentences.append(by_identity[id(example)])
    return sentences, row_sentences


def syntax_page(table: Sequence[dict], examples: Mapping[str, RelationExample], *, grid: Sequence[int],
                source: str | Path, select_on: str, probes: Mapping[str, float] | None = None,
                probe_names: Mapping[str, str] | None = None) -> str:
    """The syntax page: Table 1 (sortable; a row opens its head on a sentence with the relation), Table 3."""
    sentences, row_sentences = relation_examples_json(table, examples)
    roles = [SpecialTokens(sentence["tokens"][0], sentence["tokens"][-1]) for sentence in sentences]  # word-level rows
    rows = [{**{key: row[key] for key in ("relation", "count", "layer", "head", "direction", "baseline_offset")},
             "accuracy": rounded(row["accuracy"]), "baseline_accuracy": rounded(row["baseline_accuracy"]),
             "sentence": sentence} for row, sentence in zip(table, row_sentences, strict=True)]
    data = {
        "source": str(source), "grid": list(grid), "select_on": select_on, "table": rows, "sentences": sentences,
        "max_words": FIGURE_MAX_WORDS,
        "probes": None if probes is None else [[(probe_names or {}).get(name, name), rounded(uas)]
                                               for name, uas in probes.items()],
    }
    if roles:
        data[RECORD_FIELD] = joined_roles(roles).record()
    return page_html("Dependency syntax in attention heads", "syntax", data, roles or None)


def mention_json(example: MentionExample) -> dict:
    """One mention of the coreference page: the words from two before its first antecedent's head word to two
    after it (as in its figure), with every head's maps on them."""
    mention, antecedents = example.scored.mention, sorted(example.scored.antecedent_heads)
    start, stop = max(0, antecedents[0] - 2), min(len(example.window.words), mention.end + 2)
    crop = example.attention_maps[:, :, start + 1:stop + 1, start + 1:stop + 1]  # map positions: the classifier is 0
    return {"type": mention.type, "text": " ".join(example.window.words[mention.start:mention.end]),
            "tokens": example.window.words[start:stop], "mention_head": mention.head - start,
            "antecedent_heads": [word - start for word in antecedents], "weights": encode_weights(crop)}


def coref_page(table: Mapping[str, Any], examples: Sequence[MentionExample], *, grid: Sequence[int],
               source: str | Path, baseline_names: Mapping[str, str]) -> str:
    """The coreference page: Table 2, every head's accuracy as a heat map, a chosen head on example mentions.
    `table` holds coref.json's keys (coref_report.table_json)."""
    data = {
        "source": str(source), "grid": list(grid), "n_mentions": table["n_mentions"], "n_by_type": table["n_by_type"],
        "baselines": [[baseline_names.get(name, name), {key: rounded(value) for key, value in values.items()}]
                      for name, values in table["baselines"].items()],
        "head_accuracy": {key: rounded(values) for key, values in table["head_accuracy"].items()},
        "best_head": table["best_head"], "mentions": [mention_json(example) for example in examples],
    }
    return page_html("Coreference in attention heads", "coref", data)


def compare_page(output: Mapping[str, Any], points: np.ndarray, behaviours: Sequence[str],
                 nearest: Sequence[Sequence[tuple[int, int, float]]], shown: Sequence[tuple[list[str], np.ndarray]],
                 source: str) -> str:
    """The page of compare_models.py: the head atlas (`points` `[N, 2]`, each head's behaviour and its nearest head
    in every other model as (model, flat index, distance)), the same sentence in each model (`shown`: one (row
    labels, maps) per model), the layers and tables side by side of `output` (compare.json)."""
    models = output["models"]
    head_model = [index for index, model in enumerate(models) for _ in range(HeadGrid(*model["grid"]).size)]
    head_flat = [flat for model in models for flat in range(HeadGrid(*model["grid"]).size)]
    roles = [data_roles(model) for model in models]
    kept = HeadViewExamples(max_examples=len(shown), max_weights=sum(maps.size for _, maps in shown))  # one each
    for index, (tokens, attention_maps) in enumerate(shown):
        kept.add(index, {"tokens": tokens}, attention_maps)
    layers = [{key: value if key == "label" else rounded(value) for key, value in model.items()}
              for model in output["layers"]]
    described = [{**{key: model[key] for key in ("label", "source", "grid", "map")}, RECORD_FIELD: one.record()}
                 for model, one in zip(models, roles, strict=True)]
    data = {"source": source, "models": described, RECORD_FIELD: joined_roles(roles).record(),
            "heads": output["heads"], "head_model": head_model, "head_flat": head_flat,
            "behaviour": list(behaviours), "behaviours": behaviours_json(joined_roles(roles)),
            "mds": rounded(points), "nearest": [[[other, flat, rounded(distance)] for other, flat, distance in row]
                                                for row in nearest], "layers": layers,
            "table1": output["table1"], "table2": output["table2"], "head_view": kept.to_json(joined_roles(roles))}
    return page_html("Compare models", "compare", data, roles)


def gradients_page(output: Mapping[str, Any], source: str | Path) -> str:
    """The gradient importance page: Figure 3's two panels and a sortable table of every head. `output` holds
    gradients.json's keys."""
    data = {
        "source": str(source), "grid": list(output["grid"]), "n_examples": output["n_examples"],
        "n_skipped": output.get("n_skipped", 0), "debug": bool(output["debug"]), "loss": rounded(output.get("loss")),
        "grad_importance": {key: rounded(values) for key, values in output["grad_importance"].items()},
        "avg_attn": {key: rounded(values) for key, values in output["avg_attn"].items()},
        RECORD_FIELD: data_roles(output).record(),
    }
    title = "Gradient importance of attention (Figure 3)" + (", random --debug model" if data["debug"] else "")
    return page_html(title, "gradients", data)


# ---------------------------------------------------------------------------- assembling and writing pages


def script_json(data: Any) -> str:
    """JSON safe inside a `<script>` element: no `<`, `>` or `&` (written as \\u escapes)."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def asset(name: str) -> str:
    """The text of one file of analysis/report/assets."""
    return (ASSETS / name).read_text(encoding="utf-8")


def page_html(title: str, kind: str, data: Any, roles: Sequence[SpecialTokens] | None = None) -> str:
    """A whole page: styles, data and scripts (the shared ones, then `<kind>.js`) inline. The scripts' "drawing"
    names the special tokens of `roles`, by default the roles the data records (data_roles)."""
    roles = roles or [data_roles(data) if isinstance(data, Mapping) else BERT_SPECIAL_TOKENS]
    names = SCRIPTS.get(kind, (*SHARED_SCRIPTS, f"{kind}.js"))
    scripts = "\n".join(f"<script>\n{asset(name)}</script>" for name in names)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CONTENT_SECURITY_POLICY}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<style>
{asset("report.css")}</style>
</head>
<body data-kind="{kind}">
<header><h1>{html.escape(title)}</h1><p class="source"></p><nav></nav></header>
<main id="report"><noscript>This page draws its views with JavaScript, which is turned off.</noscript></main>
<div id="tooltip" role="tooltip" hidden></div>
<script type="application/json" id="report-data">{script_json({**data, "drawing": drawing(roles)})}</script>
{scripts}
</body>
</html>
"""


def write_page(outdir: str | Path, page: str) -> Path:
    """Write `page` as OUTDIR/report.html, atomically; returns the path."""
    path = Path(outdir) / PAGE_NAME
    utils.write_text(path, page)
    return path


def notebook_frame(page: str, height: int = 900) -> str:
    """HTML showing `page` inside a notebook: an iframe whose `srcdoc` is the page, so its scripts run isolated
    from the notebook's (display it with IPython.display.HTML)."""
    return (f'<iframe srcdoc="{html.escape(page, quote=True)}" title="report" '
            f'style="width: 100%; height: {height}px; border: 1px solid #ddd"></iframe>')


# ---------------------------------------------------------------------------- the index of a demo's pages


PAGE_ORDER = ("general", "gradients", "syntax", "coref")  # the index lists the pages in the paper's order


def page_summary(path: Path) -> tuple[str, str]:
    """The kind (`<body data-kind>`) and the `<title>` of a report page."""
    text = path.read_text(encoding="utf-8")
    kind = re.search(r'<body data-kind="([^"]*)"', text)
    title = re.search(r"<title>(.*?)</title>", text, re.S)
    return (kind.group(1) if kind else "", html.unescape(title.group(1)) if title else path.parent.name)


def index_page(directory: str | Path) -> Path:
    """Write DIRECTORY/index.html linking every report.html below it (general, gradient importance, syntax,
    coreference, then others by path); returns its path."""
    directory = Path(directory)
    pages = []
    for path in directory.rglob(PAGE_NAME):
        kind, title = page_summary(path)
        rank = PAGE_ORDER.index(kind) if kind in PAGE_ORDER else len(PAGE_ORDER)
        pages.append((rank, path.relative_to(directory).as_posix(), title))
    if not pages:
        raise utils.InputError(f"{directory}: no {PAGE_NAME} below it")
    data = {"pages": [{"href": href, "title": title} for _, href, title in sorted(pages)]}
    path = directory / "index.html"
    utils.write_text(path, page_html("Attention analysis reports", "index", data))
    return path
