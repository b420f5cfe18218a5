"""See what a model attends to in one line: `view(texts)` runs a model on a sentence (or a pair, or a list of
them) and `view_maps(attentions, tokens)` draws maps you already have, such as transformers' `outputs.attentions`.
Both return an `AttentionView`: in a notebook it shows the head view and the model view of the report page in an
isolated iframe (offline, no script from any network); `.save(path)` writes the page.

    from analysis import view, view_maps
    view("The cat sat on the mat.", layer=2, head=5)
    view_maps(outputs.attentions, tokenizer.convert_ids_to_tokens(inputs["input_ids"][0]))

Heads are 1-based (`layer=2, head=5` is head 2-5), as the page and the paper label them. A bad argument is a
`ViewError`, a ValueError that names the argument.
"""

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

import utils
from analysis.engines.maps import check_distributions, example_roles, example_tokens
from analysis.heads import HeadGrid
from analysis.report.page import HeadViewExamples, notebook_frame, page_html
from bert.special_tokens import BERT_SPECIAL_TOKENS, RECORD_FIELD, SpecialTokens

VIEW_MAX_TOKENS = 1024  # tokens kept of each example: the head view scrolls and draws a window of queries
VIEW_MAX_WEIGHTS = 2**25  # weights kept in all, one byte each: an example is cropped to the tokens that fit (MiniLM's
# 72 heads: 682 tokens; BERT-base's 144: 482), and the page says so


class ViewError(ValueError):
    """A bad argument of `view` or `view_maps`; `argument` names it."""

    def __init__(self, argument: str, problem: str) -> None:
        super().__init__(f"{argument}: {problem}")
        self.argument = argument
        self.problem = problem


class AttentionView:
    """A view page: `_repr_html_` shows it in a notebook (an iframe whose `srcdoc` is the page), `save` writes it."""

    def __init__(self, html: str) -> None:
        self.html = html

    def _repr_html_(self) -> str:
        """The page inside an isolated iframe, as notebooks display it."""
        return notebook_frame(self.html)

    def save(self, path: str | Path) -> Path:
        """Write the standalone page to `path` (atomically); returns the path."""
        utils.write_text(path, self.html)
        return Path(path)


def as_numpy(tensor: object) -> np.ndarray:
    """A numpy array of a numpy array, or of a PyTorch, TensorFlow or JAX tensor, without importing those libraries
    (detached from autograd and brought to the CPU first where the tensor has those methods)."""
    for method in ("detach", "cpu"):
        if hasattr(tensor, method):
            tensor = getattr(tensor, method)()
    if hasattr(tensor, "numpy") and not isinstance(tensor, np.ndarray):
        tensor = tensor.numpy()
    return np.asarray(tensor)


def maps_of(attentions: object) -> np.ndarray:
    """`[L, H, n, n]` float32 maps of a `[L, H, n, n]` array, or of a tuple of per-layer `[1, H, n, n]` (or
    `[H, n, n]`) tensors as transformers returns them."""
    if isinstance(attentions, list | tuple):
        layers = [as_numpy(layer) for layer in attentions]
        if not layers:
            raise ViewError("attentions", "an empty tuple of layers")
        if any(layer.ndim == 4 and layer.shape[0] != 1 for layer in layers):
            raise ViewError("attentions", f"a batch of {layers[0].shape[0]} examples; give one, e.g. "
                            "[layer[i : i + 1] for layer in attentions]")
        layers = [layer[0] if layer.ndim == 4 else layer for layer in layers]
        if len({layer.shape for layer in layers}) != 1:
            raise ViewError("attentions", f"layers of different shapes: {sorted({layer.shape for layer in layers})}")
        attention_maps = np.stack(layers)
    else:
        attention_maps = as_numpy(attentions)
    if attention_maps.ndim != 4 or attention_maps.shape[2] != attention_maps.shape[3]:
        raise ViewError("attentions", f"expected maps [layers, heads, n, n], got shape {attention_maps.shape}")
    try:
        check_distributions(attention_maps)
    except ValueError as error:
        raise ViewError("attentions", str(error)) from None
    return attention_maps.astype(np.float32)


def selected_head(grid: HeadGrid, layer: int | None, head: int | None) -> list[int]:
    """The 0-based (layer, head) shown first, from 1-based `layer` and `head` (default: the first)."""
    for argument, value, count in (("layer", layer, grid.n_layers), ("head", head, grid.n_heads)):
        if value is not None and not (isinstance(value, int) and 1 <= value <= count):
            raise ViewError(argument, f"{value!r} is not in [1, {count}] (1-based, as the page labels heads)")
    return [(layer or 1) - 1, (head or 1) - 1]


def view_page(examples: Sequence[tuple[list[str], np.ndarray]], source: str, map_kind: str = "attn",
              layer: int | None = None, head: int | None = None,
              special_tokens: SpecialTokens = BERT_SPECIAL_TOKENS) -> AttentionView:
    """The view page of (tokens, maps `[L, H, n, n]`) examples on one grid, the head (`layer`, `head`, 1-based)
    shown first; `special_tokens` are the strings the page hides as the classifier and the separator."""
    grid = HeadGrid.of(examples[0][1])
    fitting = math.isqrt(VIEW_MAX_WEIGHTS // (grid.n_layers * grid.n_heads))  # an example's tokens within the budget
    kept = HeadViewExamples(max_examples=len(examples), max_tokens=min(VIEW_MAX_TOKENS, fitting),
                            max_weights=VIEW_MAX_WEIGHTS)
    for index, (tokens, attention_maps) in enumerate(examples):
        if HeadGrid.of(attention_maps) != grid:
            raise ViewError("attentions", f"example {index} has {HeadGrid.of(attention_maps)} layers x heads, "
                            f"example 0 {grid}")
        kept.add(index, {"tokens": tokens}, attention_maps)
    data = {"source": source, "grid": list(grid), "map": map_kind, "selected": selected_head(grid, layer, head),
            "head_view": kept.to_json(special_tokens), RECORD_FIELD: special_tokens.record()}
    return AttentionView(page_html("Attention view", "view", data))


def view_maps(attentions: object, tokens: Sequence[str] | None = None, *, layer: int | None = None,
              head: int | None = None, map_kind: str = "attn", source: str = "maps given to view_maps",
              special_tokens: tuple[str, str] | None = None) -> AttentionView:
    """The view page of maps you already have: `attentions` is a `[L, H, n, n]` array, transformers'
    `outputs.attentions` (a tuple of per-layer `[1, H, n, n]` tensors: numpy, PyTorch, TensorFlow or JAX), or an
    example of an attention file (a dict with "attns" and its "tokens" or "words"); `tokens` are the n labels
    (taken from the example when it is one); `special_tokens` the (classifier, separator) strings, e.g.
    `("<s>", "</s>")` (an example's own record, else `[CLS]`/`[SEP]`)."""
    roles = BERT_SPECIAL_TOKENS if special_tokens is None else SpecialTokens(*special_tokens)
    if isinstance(attentions, dict):
        if "attns" not in attentions:
            raise ViewError("attentions", "an example without 'attns' (skipped?)")
        attention_maps = maps_of(attentions["attns"])
        try:
            tokens = example_tokens(attentions, attention_maps.shape[-1]) if tokens is None else tokens
            roles = example_roles(attentions) if special_tokens is None else roles
        except ValueError as error:
            raise ViewError("attentions", str(error)) from None
        map_kind = str(attentions.get("map", map_kind))
    else:
        attention_maps = maps_of(attentions)
    if tokens is None:
        raise ViewError("tokens", "needed with maps that are not an attention file's example")
    tokens = [str(token) for token in tokens]
    if len(tokens) != attention_maps.shape[-1]:
        raise ViewError("tokens", f"{len(tokens)} tokens for maps of {attention_maps.shape[-1]} positions")
    return view_page([(tokens, attention_maps)], source, map_kind, layer, head, roles)


def view(texts: str | tuple[str, str] | Sequence[str | tuple[str, str]], model: str | None = None,
         map: str = "attn", word_level: bool = False, layer: int | None = None, head: int | None = None, *,
         revision: str | None = None, cased: bool = False, max_sequence_length: int | None = None) -> AttentionView:
    """Run a model (anything `--model` takes: a directory, a Hugging Face Hub id, or None for the embedded MiniLM)
    on one text, a pair `(a, b)` or a list of either, and view its maps of kind `map` (token level, or with
    `word_level` the words of each text split at spaces); `layer`/`head` (1-based) preselect the head.
    `max_sequence_length` defaults to the model's positions."""
    from bert.map_kinds import MAP_KINDS

    if map not in MAP_KINDS:
        raise ViewError("map", f"{map!r} is not one of {', '.join(MAP_KINDS)}")
    examples = [view_example(text, word_level, position) for position, text in enumerate(listed_texts(texts))]
    outputs, description = run_model(examples, model, revision, map, word_level, cased, max_sequence_length)
    labelled = [(example_tokens(example, example["attns"].shape[-1]), example["attns"].astype(np.float32))
                for example in outputs]
    return view_page(labelled, description, map, layer, head, example_roles(outputs[0]))


def listed_texts(texts: object) -> list:
    """`texts` as a list of texts and pairs."""
    if isinstance(texts, str) or (isinstance(texts, tuple) and len(texts) == 2 and all(
            isinstance(text, str) for text in texts)):
        return [texts]
    if not isinstance(texts, list | tuple) or not texts:
        raise ViewError("texts", "expected a text, a pair (a, b) of texts, or a non-empty list of them")
    return list(texts)


def view_example(text: object, word_level: bool, position: int) -> dict:
    """The examples-JSON entry of one text or pair (a pair as tokens is made in `run_model`)."""
    parts = text if isinstance(text, tuple) else (text,)
    if len(parts) not in (1, 2) or not all(isinstance(part, str) for part in parts):
        raise ViewError("texts", f"item {position} is not a text or a pair (a, b) of texts")
    if any(not part.strip() for part in parts):
        raise ViewError("texts", f"item {position} is an empty text")
    if word_level and len(parts) == 2:
        raise ViewError("texts", "word-level maps are of single texts, not pairs")
    if word_level:
        return {"words": parts[0].split()}
    return {"text": parts[0]} if len(parts) == 1 else {"pair": parts}


def run_model(examples: list[dict], model: str | None, revision: str | None, map_kind: str, word_level: bool,
              cased: bool, max_sequence_length: int | None) -> tuple[list[dict], str]:
    """The examples with their maps, and a line saying which model made them."""
    from bert.backend import import_keras
    from bert.extraction import build_extractor, open_model, prepare_example

    source, config, tokenizer = open_model(model, max_sequence_length or 1, cased, revision)  # 1: any model's fits
    length = max_sequence_length or config.positions
    for example in examples:
        if "pair" in example:
            first, second = example.pop("pair")
            example["tokens"] = tokenizer.pair(tokenizer.tokenize(first), tokenizer.tokenize(second))
    prepared = [prepare_example(example, tokenizer, Path("texts"), index, length, word_level)
                for index, example in enumerate(examples)]
    too_long = [index for index, ready in enumerate(prepared) if ready.skipped]
    if too_long:
        raise ViewError("texts", f"item {too_long[0]} has {len(prepared[too_long[0]].tokens)} tokens, more than "
                        f"max_sequence_length {length}")
    import_keras()
    extractor = build_extractor(source.directory, tokenizer, map_kind=map_kind, word_level=word_level,
                                tokens_per_batch=max(length, 16 * 128))
    progress = utils.progress_bar(total=len(examples), unit="ex", desc="attention", disable=len(examples) < 8)
    with progress as bar:
        outputs = next(extractor.output_chunks(examples, prepared, 0, len(examples), "mean", bar))
    name = source.hub_id or ("the embedded MiniLM" if model is None else str(source.directory))
    return outputs, f"{name}, {map_kind} maps{' of words' if word_level else ''}"
