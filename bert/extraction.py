"""Examples -> attention maps: validation and tokenization, length-bucketed batches, the forward pass.

Examples are processed in chunks of consecutive examples; inside a chunk they are sorted by length
and batched, each batch padded only to its longest example, and the maps come back in input order.
"""

import dataclasses
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
from tqdm import tqdm

from bert.checkpoint import ModelSource, checkpoint_format, model_tokenizer, read_config, resolve_model
from bert.config import EncoderConfig
from bert.map_kinds import AGGREGATED, MAP_KINDS, encoder_map_kind
from bert.model_tokenizer import ModelTokenizer
from bert.special_tokens import RECORD_FIELD, SpecialTokens
from bpe_utils import word_level_attention
from utils import OptionError, example_error

INPUT_FIELDS = ("text", "words", "tokens")
QUADRATIC_PAIRS_PER_BATCH = 4 * 128**2  # alti and value-zeroing make [batch, n, n, hidden] tensors: batches of at
# most this many query-key pairs (4 examples of 128 tokens)
STREAMED_TOKENS = 512  # attention weights of longer inputs are computed by blocks of query rows, one input at a time
BLOCK_WEIGHTS = 2**24  # attention weights in a block of query rows: heads x rows x n (64 MiB in float32)
BLOCK_ROWS = (64, 256)  # query rows in a block, at least and at most (a local layer scores only their window)


@dataclasses.dataclass
class PreparedExample:
    """One example ready for the model: its tokens and, for word-level output, its words' piece counts."""

    tokens: list[str]
    pieces_per_word: list[int] | None = None
    skipped: str | None = None


def _source_field(example: object, path: Path, index: int) -> str:
    """The one input field of an example: `text`, `words` or `tokens`."""
    if not isinstance(example, dict):
        raise example_error(path, index, "(example)", f"expected an object, got {type(example).__name__}")
    present = [field for field in INPUT_FIELDS if field in example]
    if len(present) != 1:
        found = ", ".join(present) if present else "none"
        raise example_error(path, index, "/".join(INPUT_FIELDS), f"needs exactly one of them, found {found}")
    return present[0]


def _check_strings(value: object, path: Path, index: int, field: str) -> list[str]:
    """A field that must be a list of strings."""
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise example_error(path, index, field, "expected a list of strings")
    return value


def prepare_example(
    example: object, tokenizer: ModelTokenizer, path: Path, index: int, max_length: int, word_level: bool
) -> PreparedExample:
    """Validate and tokenize one example: `[CLS]` + pieces + `[SEP]` with the model's own special tokens, each word
    of `words` tokenized as it reads after a space (`tokens` examples are taken as they are)."""
    field = _source_field(example, path, index)
    value = example[field]
    if word_level and field != "words":
        raise example_error(path, index, "words", f"--word_level needs 'words', this example has '{field}'")
    pieces_per_word = None
    if field == "text":
        if not isinstance(value, str):
            raise example_error(path, index, "text", "expected a string")
        tokens = tokenizer.single(tokenizer.tokenize(value))
    elif field == "words":
        pieces = [tokenizer.tokenize_word(word) for word in _check_strings(value, path, index, "words")]
        empty = [position for position, word_pieces in enumerate(pieces) if not word_pieces]
        if empty:
            raise example_error(path, index, "words", f"word {empty[0]} ({value[empty[0]]!r}) tokenizes to nothing")
        tokens = tokenizer.single([piece for word_pieces in pieces for piece in word_pieces])
        pieces_per_word = [len(word_pieces) for word_pieces in pieces] if word_level else None
    else:
        tokens = _check_strings(value, path, index, "tokens")
        unknown = [token for token in tokens if token not in tokenizer.vocab]
        if unknown:
            raise example_error(path, index, "tokens", f"{len(unknown)} not in the vocabulary, e.g. {unknown[0]!r}")
    if not tokens:
        raise example_error(path, index, "tokens", "empty")
    skipped = f"too long: {len(tokens)} tokens > max_sequence_length {max_length}" if len(tokens) > max_length else None
    return PreparedExample(tokens, pieces_per_word, skipped)


def segment_ids(tokens: list[str], single_segment: bool, type_vocab_size: int, separator: str) -> np.ndarray:
    """Token type ids [n]: 0 up to and including the first separator, 1 after it (all 0 when single_segment or
    for a model without two token types)."""
    if single_segment or type_vocab_size < 2:
        return np.zeros(len(tokens), np.int32)
    is_sep = np.array(tokens) == separator
    return ((np.cumsum(is_sep) - is_sep) > 0).astype(np.int32)


def padded_inputs(token_ids: list, tokens: list[list[str]], single_segment: bool, type_vocab_size: int,
                  separator: str) -> dict[str, np.ndarray]:
    """The encoder's inputs for a batch of examples (their ids and tokens), padded to the longest: int32
    `token_ids`, `segment_ids` and `input_mask` (1 on real tokens) [batch, longest]."""
    longest = max(len(example_tokens) for example_tokens in tokens)
    inputs = {name: np.zeros((len(tokens), longest), np.int32) for name in ("token_ids", "segment_ids", "input_mask")}
    for row, (example_ids, example_tokens) in enumerate(zip(token_ids, tokens, strict=True)):
        n = len(example_tokens)
        inputs["token_ids"][row, :n] = example_ids
        inputs["segment_ids"][row, :n] = segment_ids(example_tokens, single_segment, type_vocab_size, separator)
        inputs["input_mask"][row, :n] = 1
    return inputs


def length_batches(lengths: list[int], tokens_per_batch: int, pairs_per_batch: int | None = None) -> list[list[int]]:
    """Indices sorted by length and grouped into batches of at most `tokens_per_batch` tokens once padded (and, when
    given, at most `pairs_per_batch` query-key pairs: examples x length^2).

    Short examples thus go in larger batches; every batch holds at least one example.
    """
    batches: list[list[int]] = []
    for index in np.argsort(lengths, kind="stable").tolist():
        count, length = (len(batches[-1]) + 1 if batches else 0), lengths[index]
        if not batches or count * length > tokens_per_batch or count * length**2 > (pairs_per_batch or np.inf):
            batches.append([])
        batches[-1].append(index)
    return batches


def layer_products(layer_maps: np.ndarray) -> np.ndarray:
    """The products across layers of float64 maps [layers, n, n]: M_1, M_2 M_1, M_3 M_2 M_1, ... [layers, n, n]."""
    products = np.empty_like(layer_maps)
    products[0] = layer_maps[0]
    for layer in range(1, len(layer_maps)):
        products[layer] = layer_maps[layer] @ products[layer - 1]
    return products


def attention_rollout(attention_maps: np.ndarray) -> np.ndarray:
    """Attention rollout (Abnar and Zuidema 2020) of maps [layers, heads, n, n]: [layers, 1, n, n], float32.

    R_1 = B_1 and R_l = B_l R_(l-1), with B_l = 0.5 * (mean over heads of layer l) + 0.5 * I; computed in float64.
    Rows of every R_l sum to 1 when the maps' rows do.
    """
    mixed = 0.5 * attention_maps.astype(np.float64).mean(axis=1) + 0.5 * np.eye(attention_maps.shape[-1])
    return layer_products(mixed)[:, None].astype(np.float32)


def aggregated_mixing(mixing_maps: np.ndarray) -> np.ndarray:
    """A context-mixing kind's product across layers (--aggregate) of its maps [layers, 1, n, n]: [layers, 1, n, n],
    float32, computed in float64 (no identity is added: the residual is already inside each layer's map)."""
    return layer_products(mixing_maps[:, 0].astype(np.float64))[:, None].astype(np.float32)


class AttentionExtractor:
    """Runs an Encoder on prepared examples and returns its maps [layers, heads, n, n].

    Batches hold at most `tokens_per_batch` tokens, padding included (by default 16 examples of 128 tokens), and, for
    the kinds that make [batch, n, n, hidden] tensors (alti, value-zeroing), at most QUADRATIC_PAIRS_PER_BATCH
    query-key pairs. `map_kind` is what the output examples hold (a MAP_KINDS kind or a mixing kind's aggregate);
    the encoder must compute its `encoder_map_kind`.
    """

    def __init__(
        self,
        encoder,
        tokenizer: ModelTokenizer,
        single_segment: bool = False,
        tokens_per_batch: int = 16 * 128,
        map_kind: str = "attn",
    ):
        if encoder_map_kind(map_kind) not in MAP_KINDS:
            raise ValueError(f"map kind must be one of {MAP_KINDS} or a mixing kind's aggregate, got {map_kind!r}")
        if encoder.map_kind != encoder_map_kind(map_kind):
            raise ValueError(f"--map {map_kind} needs an encoder built with map_kind={encoder_map_kind(map_kind)!r}")
        self.encoder = encoder
        self.tokenizer = tokenizer
        self.single_segment = single_segment
        self.tokens_per_batch = tokens_per_batch
        self.pairs_per_batch = QUADRATIC_PAIRS_PER_BATCH if encoder.map_kind in ("alti", "value-zeroing") else None
        self.map_kind = map_kind
        self._trace_for_any_shape()

    def _trace_for_any_shape(self) -> None:
        """Run two dummy batches of different shapes first, so that the compiled forward pass is traced for
        any batch shape before real work: every batch then runs the same graph whatever ran before it, and a
        resumed extraction matches an uninterrupted one bit for bit."""
        for batch_size, length in ((1, 2), (2, 3)):
            roles = self.tokenizer.special_tokens
            dummy = PreparedExample([roles.cls] * (length - 1) + [roles.sep])
            self.attention_maps([dummy] * batch_size)

    def batch_inputs(self, batch: list[PreparedExample]) -> dict[str, np.ndarray]:
        """Model inputs for a batch, padded to its longest example: int32 arrays [batch, longest]."""
        token_ids = [self.tokenizer.convert_tokens_to_ids(example.tokens) for example in batch]
        return padded_inputs(token_ids, [example.tokens for example in batch], self.single_segment,
                             self.encoder.config.type_vocab_size, self.tokenizer.special_tokens.sep)

    def model_maps(self, batch: list[PreparedExample]) -> list[tuple[np.ndarray, np.ndarray | None]]:
        """Each example's token-level maps [layers, heads, n, n] as the encoder gives them (attention weights,
        norm-based maps, or one context-mixing map a layer) and its value norms [layers, heads, n] (None but for
        `norm`); views into the batch's arrays."""
        outputs = self.encoder.predict_on_batch(self.batch_inputs(batch))
        maps, norms = (outputs if isinstance(outputs, (tuple, list)) else (outputs, None))
        maps = np.asarray(maps)
        norms = None if norms is None else np.asarray(norms)
        return [
            (maps[row, :, :, : len(example.tokens), : len(example.tokens)],
             None if norms is None else norms[row, :, :, : len(example.tokens)])
            for row, example in enumerate(batch)
        ]

    def attention_maps(self, batch: list[PreparedExample]) -> list[np.ndarray]:
        """Each example's token-level maps [layers, heads, n, n] (views into the batch's maps)."""
        return [maps for maps, _ in self.model_maps(batch)]

    def streams(self, example: PreparedExample) -> bool:
        """Whether the example's attention weights are computed by blocks of query rows (a long input, `attn`)."""
        return example.skipped is None and self.map_kind == "attn" and len(example.tokens) > STREAMED_TOKENS

    def stream_maps(self, example: PreparedExample, consume: Callable[[int, int, np.ndarray], None]) -> None:
        """Hand `consume(layer, first row, block [1, heads, rows, n] float32)` every block of the example's attention
        weights, layer by layer, blocks of about BLOCK_WEIGHTS weights (Encoder.streamed_maps)."""
        n, heads = len(example.tokens), self.encoder.config.num_attention_heads
        rows = min(max(BLOCK_ROWS[0], BLOCK_WEIGHTS // (heads * n)), BLOCK_ROWS[1])
        self.encoder.streamed_maps(self.batch_inputs([example]), consume, rows)

    def streamed_token_maps(self, example: PreparedExample) -> np.ndarray:
        """A long input's token maps [layers, heads, n, n] as the encoder's `maps_dtype`, filled block by block, so
        that only they and one block exist at once."""
        config, n = self.encoder.config, len(example.tokens)
        maps = np.empty((config.num_hidden_layers, config.num_attention_heads, n, n), self.encoder.maps_dtype)

        def keep(layer: int, start: int, block: np.ndarray) -> None:
            maps[layer, :, start:start + block.shape[2]] = block[0]

        self.stream_maps(example, keep)
        return maps

    def chunk_maps(self, chunk: list[PreparedExample]) -> Iterator[tuple[int, np.ndarray, np.ndarray | None]]:
        """(position in chunk, maps, value norms or None) for every example of a chunk that is not skipped,
        batched by length (long inputs one at a time, by blocks: `streams`)."""
        for position, example in enumerate(chunk):
            if self.streams(example):
                yield position, self.streamed_token_maps(example), None
        kept = [position for position, example in enumerate(chunk)
                if example.skipped is None and not self.streams(example)]
        lengths = [len(chunk[position].tokens) for position in kept]
        for batch in length_batches(lengths, self.tokens_per_batch, self.pairs_per_batch):
            positions = [kept[i] for i in batch]
            for position, (maps, norms) in zip(
                positions, self.model_maps([chunk[position] for position in positions]), strict=True
            ):
                yield position, maps, norms

    def output_chunks(
        self,
        examples: list[dict],
        prepared: list[PreparedExample],
        start: int,
        chunk_size: int,
        word_level_mode: str,
        progress: tqdm,
    ) -> Iterator[list[dict]]:
        """Output examples from `start` on, `chunk_size` at a time, in input order; `progress` counts examples."""
        for chunk_start in range(start, len(examples), chunk_size):
            chunk = prepared[chunk_start : chunk_start + chunk_size]
            outputs: list[dict | None] = [None] * len(chunk)
            for position, example_maps, value_norms in self.chunk_maps(chunk):
                example = examples[chunk_start + position]
                outputs[position] = output_example(example, chunk[position], example_maps, word_level_mode,
                                                   self.tokenizer.special_tokens, self.map_kind, value_norms)
                progress.update()
            for position, prepared_example in enumerate(chunk):
                if prepared_example.skipped is not None:
                    outputs[position] = output_example(examples[chunk_start + position], prepared_example, None,
                                                       word_level_mode, self.tokenizer.special_tokens)
                    progress.update()
            yield outputs


def build_extractor(bert_dir: Path, tokenizer: ModelTokenizer, *, debug: bool = False, map_kind: str = "attn",
                    word_level: bool = False, single_segment: bool = False, tokens_per_batch: int = 16 * 128,
                    random_init: int | None = None) -> AttentionExtractor:
    """The extractor of `map_kind` maps with the model in `bert_dir` (or, `debug`, a tiny random one; or, with
    `random_init` a seed, its architecture with random weights): maps leave the model as float16, or as float32
    where they are pooled into words or multiplied across layers (rollout, aggregates)."""
    from bert.checkpoint import debug_encoder, load_encoder, random_encoder, read_config

    computed = encoder_map_kind(map_kind)
    maps_dtype = "float16" if map_kind == computed and not word_level and map_kind != "rollout" else "float32"
    if debug:
        encoder = debug_encoder(read_config(bert_dir), maps_dtype, map_kind=computed)
    elif random_init is not None:
        encoder = random_encoder(read_config(bert_dir), maps_dtype, random_init, computed)
    else:
        encoder = load_encoder(bert_dir, maps_dtype, computed)
    return AttentionExtractor(encoder, tokenizer, single_segment, tokens_per_batch, map_kind)


def output_example(
    example: dict,
    prepared: PreparedExample,
    maps: np.ndarray | None,
    word_level_mode: str,
    special_tokens: SpecialTokens,
    map_kind: str = "attn",
    value_norms: np.ndarray | None = None,
) -> dict:
    """The example as written to the pickle: its fields, `tokens` (the tokens the model saw, also for word-level
    maps, whose rows are `[CLS]`, the words, `[SEP]`), the strings that play `[CLS]`/`[SEP]` (`special_tokens`), and
    float16 `attns` or `skipped`.

    `maps` are the model's token-level maps: attention weights, norm-based maps for `map_kind` `norm`, one
    context-mixing map a layer for a mixing kind; for `rollout` and an aggregate they are multiplied across layers
    here. Other kinds than `attn` are recorded as `map`; a `norm` example keeps its float16 `value_norms`
    [layers, heads, n] at token level only (a word has no single value vector).
    """
    output = dict(example)
    output.setdefault("tokens", prepared.tokens)
    output[RECORD_FIELD] = special_tokens.record()
    if maps is None:
        output["skipped"] = prepared.skipped
        return output
    if map_kind != "attn":
        output["map"] = map_kind
    if map_kind == "rollout":
        maps = attention_rollout(maps)
    elif map_kind.endswith(AGGREGATED):
        maps = aggregated_mixing(maps)
    if prepared.pieces_per_word is not None:
        maps = word_level_attention(maps, prepared.pieces_per_word, word_level_mode)
    elif value_norms is not None:
        output["value_norms"] = value_norms.astype(np.float16)
    output["attns"] = maps.astype(np.float16)
    return output


def check_positions(prepared: list[PreparedExample], positions: int, path: Path) -> None:
    """InputError naming the first example longer than the model's positions: no --max_sequence_length can give it
    maps (shorter ones over the length are skipped and counted)."""
    for index, example in enumerate(prepared):
        if len(example.tokens) > positions:
            raise example_error(path, index, "tokens", f"{len(example.tokens)} tokens, more than the model's "
                                f"{positions} positions; cut it into segments (preprocess_unlabeled.py)")


def long_inputs(prepared: list[PreparedExample], map_kind: str, path: Path) -> list[int]:
    """The examples with maps longer than STREAMED_TOKENS, whose attention weights are computed by blocks of query
    rows; an InputError naming the first when `map_kind` is another kind, which needs whole maps."""
    indices = [index for index, example in enumerate(prepared)
               if example.skipped is None and len(example.tokens) > STREAMED_TOKENS]
    if indices and map_kind != "attn":
        raise example_error(path, indices[0], "tokens", f"{len(prepared[indices[0]].tokens)} tokens: inputs over "
                            f"{STREAMED_TOKENS} tokens are read by blocks of attention weights, not --map {map_kind}")
    return indices


def report_skipped(prepared: list[PreparedExample], max_length: int) -> int:
    """Say on stderr how many examples were too long to get maps, if any; returns that number."""
    skipped = sum(example.skipped is not None for example in prepared)
    if skipped:
        print(f"{skipped} of {len(prepared)} examples longer than {max_length} tokens were skipped", file=sys.stderr)
    return skipped


def open_model(model: str | Path | None, max_length: int, cased: bool,
               revision: str | None = None) -> tuple[ModelSource, EncoderConfig, ModelTokenizer]:
    """The model (a directory, a Hub id, or the embedded default when None), its config and its tokenizer, checked
    before any work: InputError for a missing file, an unsupported config, a tokenizer whose ids do not fit the
    embeddings, or a `max_length` above the model's positions."""
    source = resolve_model(model, revision)
    config = read_config(source.directory)
    checkpoint_format(source.directory)
    if max_length > config.positions:
        raise OptionError("max_sequence_length", f"{max_length} is above the model's "
                          f"{config.positions} positions")
    return source, config, model_tokenizer(source.directory, config, cased)
