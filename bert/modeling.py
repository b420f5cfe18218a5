"""The encoder in Keras 3 (BERT and the families of bert/config.py), returning every layer's attention.

Written with `keras.ops` only, so it runs unchanged on the TensorFlow (default), JAX and PyTorch
backends. Parameter names follow Google's BERT checkpoints without their model scope
(`encoder/layer_0/attention/self/query/kernel`), see `Encoder.weights_by_name`; `bert/checkpoint.py` fills
them from either format and every family.
"""

from collections.abc import Callable

import keras
import numpy as np
from keras import ops

from bert.config import EncoderConfig
from bert.context_mixing import layer_mixing
from bert.deberta import DebertaLayer
from bert.layers import (
    ACTIVATIONS,
    MASKED_SCORE,
    AttentionInputs,
    EncoderLayer,
    TransformerLayer,
    dense_layer,
    dense_weights,
    norm_layer,
    norm_weights,
)
from bert.map_kinds import MIXING_KINDS
from bert.modernbert import ModernBertLayer

ENCODER_MAPS = ("attn", "norm", *MIXING_KINDS)  # what Encoder.call can return (see Encoder)


def family_layer(config: EncoderConfig, index: int) -> EncoderLayer:
    """The distinct layer `index` of the config's family."""
    if config.model_type == "modernbert":
        return ModernBertLayer(config, index, name=f"layer_{index}")
    layer_class = DebertaLayer if config.model_type == "deberta-v2" else TransformerLayer
    return layer_class(config, name=f"layer_{index}")


class Encoder(keras.Model):
    """The embeddings and encoder of any family of bert/config.py; `call` returns every layer's attention,
    [batch, layers, heads, query, key].

    The maps are computed in float32 and returned as `maps_dtype` (float16 halves what leaves the model).
    `map_kind` (ENCODER_MAPS, docs/definitions.md) chooses what `call` returns instead of the weights:
    - `norm`: the norm-based maps (Kobayashi et al. 2020), alpha[i, j] * ||f_h(x_j)|| with each row normalised to
      sum to 1, and the norms ||f_h(x_j)|| [batch, layers, heads, key] (float32), from the same forward pass;
    - a kind of bert/context_mixing.py: its maps [batch, layers, 1, query, key], rows normalised to sum to 1.
    """

    def __init__(self, config: EncoderConfig, maps_dtype: str = "float32", map_kind: str = "attn", **kwargs):
        super().__init__(**kwargs)
        if map_kind not in ENCODER_MAPS:
            raise ValueError(f"map_kind must be one of {ENCODER_MAPS}, got {map_kind!r}")
        self.config = config
        self.maps_dtype = maps_dtype
        self.map_kind = map_kind
        width = config.embedding_width
        deberta = config.model_type == "deberta-v2"
        self.word_embeddings = _embedding(config.vocab_size, width, config, "word_embeddings")
        absolute = config.model_type != "modernbert" and (not deberta or config.position_biased_input)
        self.position_embeddings = (_embedding(config.max_position_embeddings, width, config, "position_embeddings")
                                    if absolute else None)
        self.token_type_embeddings = (_embedding(config.type_vocab_size, width, config, "token_type_embeddings")
                                      if config.type_vocab_size else None)
        self.projects_before_norm = deberta  # DeBERTa projects the embeddings, then normalises; ELECTRA the reverse
        self.embedding_layer_norm = norm_layer(config, "embedding_layer_norm", center=not config.pre_norm)
        self.embeddings_project = (dense_layer(config.hidden_size, config, "embeddings_project", use_bias=not deberta)
                                   if config.projects_embeddings else None)
        relative = deberta and config.relative_attention
        self.relative_embeddings = (_embedding(2 * config.relative_span, config.hidden_size, config,
                                               "relative_embeddings") if relative else None)
        self.relative_layer_norm = (norm_layer(config, "relative_layer_norm")
                                    if relative and config.norm_rel_ebd == "layer_norm" else None)
        self.transformer_layers = [family_layer(config, index) for index in range(config.layer_groups)]

    def build(self, input_shape=None):
        for embedding in (self.word_embeddings, self.position_embeddings, self.token_type_embeddings,
                          self.relative_embeddings):
            if embedding is not None:
                embedding.build((None, None))
        normalised_width = self.config.hidden_size if self.projects_before_norm else self.config.embedding_width
        self.embedding_layer_norm.build((None, None, normalised_width))
        if self.embeddings_project is not None:
            self.embeddings_project.build((None, None, self.config.embedding_width))
        if self.relative_layer_norm is not None:
            self.relative_layer_norm.build((None, self.config.hidden_size))
        for layer in self.transformer_layers:
            layer.build((None, None, self.config.hidden_size))
        self.built = True

    def layers_in_order(self) -> list[EncoderLayer]:
        """The layer that computes each of the config's layers, in order (ALBERT repeats its shared ones)."""
        return [self.transformer_layers[self.config.layer_group(i)] for i in range(self.config.num_hidden_layers)]

    def position_ids(self, token_ids):
        """Position ids [batch or 1, seq]: 0, 1, ..., or for RoBERTa-like models pad + the count of non-padding
        tokens up to each position (pad itself on padding tokens), as transformers computes them."""
        if not self.config.positions_from_padding:
            return ops.arange(ops.shape(token_ids)[1])[None]
        real = ops.cast(ops.not_equal(token_ids, self.config.pad_token_id), "int32")
        return ops.cumsum(real, axis=1) * real + self.config.pad_token_id

    def embed(self, inputs) -> tuple[object, AttentionInputs]:
        """The first layer's input [batch, seq, hidden] and what the layers' attention reads besides it (the padding
        bias, DeBERTa's relative embeddings) of a dict of int arrays [batch, seq] (see `call`)."""
        token_ids, input_mask = inputs["token_ids"], inputs["input_mask"]
        hidden = self.word_embeddings(token_ids)
        if self.position_embeddings is not None:
            hidden = hidden + self.position_embeddings(self.position_ids(token_ids))
        if self.token_type_embeddings is not None:
            hidden = hidden + self.token_type_embeddings(inputs["segment_ids"])
        if self.projects_before_norm:
            if self.embeddings_project is not None:
                hidden = self.embeddings_project(hidden)
            hidden = self.embedding_layer_norm(hidden) * ops.cast(input_mask, hidden.dtype)[:, :, None]
        else:
            hidden = self.embedding_layer_norm(hidden)
            if self.embeddings_project is not None:
                hidden = self.embeddings_project(hidden)
        attention_bias = (1.0 - ops.cast(input_mask, hidden.dtype))[:, None, None, :] * MASKED_SCORE
        return hidden, AttentionInputs(attention_bias, self.normalised_relative_embeddings())

    def normalised_relative_embeddings(self):
        """DeBERTa's relative position embeddings [2 span, hidden], LayerNorm'd when `norm_rel_ebd` says so; None
        for the other families."""
        if self.relative_embeddings is None:
            return None
        embeddings = self.relative_embeddings.embeddings
        return embeddings if self.relative_layer_norm is None else self.relative_layer_norm(embeddings)

    def call(self, inputs):
        """Attention maps [batch, layers, heads, query, key] for a dict of int arrays [batch, seq].

        `inputs` holds `token_ids`, `segment_ids` and `input_mask` (1 for real tokens, 0 for padding);
        padding keys get exactly zero attention. The last layer's feed-forward block does not affect
        any attention map, so it is not run. Other `map_kind`s: see the class.
        """
        if self.map_kind in MIXING_KINDS:
            return self.mixing_maps(inputs)
        norm_maps = self.map_kind == "norm"
        hidden, attention_inputs = self.embed(inputs)
        attention_maps, value_norms = [], []
        layers = self.layers_in_order()
        for index, layer in enumerate(layers):
            is_last = index == len(layers) - 1
            probs = layer.attention_probs(hidden, attention_inputs)
            values = layer.values(hidden) if norm_maps or not is_last else None
            if norm_maps:
                norms = layer.value_norms(values)
                weighted = probs * norms[:, :, None, :]
                attention_maps.append(weighted / ops.sum(weighted, axis=-1, keepdims=True))
                value_norms.append(norms)
            else:
                attention_maps.append(probs)
            if not is_last:
                hidden = layer(hidden, probs, values)
        maps = ops.cast(ops.stack(attention_maps, axis=1), self.maps_dtype)
        return (maps, ops.stack(value_norms, axis=1)) if norm_maps else maps

    def mixing_maps(self, inputs):
        """The `map_kind` context-mixing maps [batch, layers, 1, query, key] (bert/context_mixing.py), each row over
        the real keys normalised to sum to 1."""
        hidden, attention_inputs = self.embed(inputs)
        real_keys = ops.cast(inputs["input_mask"], "float32")[:, None, :]
        mixing_maps = []
        layers = self.layers_in_order()
        for index, layer in enumerate(layers):
            probs = layer.attention_probs(hidden, attention_inputs)
            mixing, hidden = layer_mixing(self.map_kind, layer, hidden, probs, layer.values(hidden),
                                          is_last=index == len(layers) - 1)
            mixing = mixing * real_keys
            mixing_maps.append(mixing / ops.maximum(ops.sum(mixing, axis=-1, keepdims=True), 1e-30))
        return ops.cast(ops.stack(mixing_maps, axis=1)[:, :, None], self.maps_dtype)

    def sequence_output(self, inputs, attention_offsets):
        """The last layer's full output [batch, seq, hidden] and every layer's attention [batch, layers, heads,
        query, key], with `attention_offsets` [batch, layers, heads, query, key] added to the attention that
        multiplies the values: offsets of zero change nothing, and d(output)/d(offsets) = d(output)/d(attention)."""
        hidden, attention_inputs = self.embed(inputs)
        attention_maps = []
        for index, layer in enumerate(self.layers_in_order()):
            probs = layer.attention_probs(hidden, attention_inputs)
            attention_maps.append(probs)
            hidden = layer(hidden, probs + attention_offsets[:, index])
        return hidden, ops.stack(attention_maps, axis=1)

    def streamed_maps(self, inputs, consume: Callable[[int, int, np.ndarray], None], rows_per_block: int) -> None:
        """Run a batch (one long example) layer by layer and, in each layer, block of query rows by block, handing
        each block's attention weights [batch, heads, rows, key] (float32) to `consume(layer, first row, block)`:
        the [layers, heads, n, n] maps never exist, and memory grows with n times a block. Runs eagerly; the last
        layer's output is not computed."""
        hidden, attention_inputs = self.embed(inputs)
        length = int(ops.shape(hidden)[1])
        layers = self.layers_in_order()
        for index, layer in enumerate(layers):
            keys, values = layer.attention_keys(hidden), layer.values(hidden)
            contexts = []
            for start in range(0, length, rows_per_block):
                rows = (start, min(start + rows_per_block, length))
                probs, context = layer.block_attention(hidden, keys, values, attention_inputs, rows)
                consume(index, start, ops.convert_to_numpy(probs))
                contexts.append(context)
            if index < len(layers) - 1:
                hidden = layer.output(hidden, ops.concatenate(contexts, axis=2))

    def weights_by_name(self) -> dict[str, keras.Variable]:
        """Every parameter, keyed by its name in a Google BERT checkpoint without the model scope (kernels are
        [in, out]); the shared layers of ALBERT are `encoder/layer_<group>`; DeBERTa's relative embeddings are
        `encoder/rel_embeddings` (and `encoder/rel_embeddings/LayerNorm`)."""
        names = {"embeddings/word_embeddings": self.word_embeddings.embeddings}
        names |= norm_weights("embeddings/LayerNorm", self.embedding_layer_norm)
        for name, embedding in (("position", self.position_embeddings), ("token_type", self.token_type_embeddings)):
            if embedding is not None:
                names[f"embeddings/{name}_embeddings"] = embedding.embeddings
        if self.embeddings_project is not None:
            names |= dense_weights("", {"embeddings_project": self.embeddings_project})
        if self.relative_embeddings is not None:
            names["encoder/rel_embeddings"] = self.relative_embeddings.embeddings
        if self.relative_layer_norm is not None:
            names |= norm_weights("encoder/rel_embeddings/LayerNorm", self.relative_layer_norm)
        for index, layer in enumerate(self.transformer_layers):
            names |= layer.weights_by_name(f"encoder/layer_{index}/")
        return names


def _embedding(rows: int, width: int, config: EncoderConfig, name: str) -> keras.layers.Embedding:
    """An embedding table initialised as in BERT (truncated normal)."""
    initializer = keras.initializers.TruncatedNormal(stddev=config.initializer_range)
    return keras.layers.Embedding(rows, width, embeddings_initializer=initializer, name=name)


def build_encoder(config: EncoderConfig, maps_dtype: str = "float32", map_kind: str = "attn") -> Encoder:
    """An Encoder with all its weights created (randomly initialised); `map_kind`: see Encoder."""
    encoder = Encoder(config, maps_dtype, map_kind)
    encoder.build()
    return encoder


MASKED_LM_HEAD_NAMES = (  # Google names of the masked-LM head; its decoder is the word embeddings, transposed
    "cls/predictions/transform/dense/kernel",
    "cls/predictions/transform/dense/bias",
    "cls/predictions/transform/LayerNorm/gamma",
    "cls/predictions/transform/LayerNorm/beta",
    "cls/predictions/output_bias",
)


class MaskedLanguageModel(keras.Model):
    """BERT with its masked-LM head: `call` returns each example's masked-LM loss [batch] and every layer's attention
    [batch, layers, heads, query, key].

    The head is BERT's: h = LayerNorm(act(x W_t + b_t)), logits = h E^T + output_bias, with E the word embeddings
    (the decoder is tied to them), h as wide as E; act is the config's `head_act`. Only the masked positions go
    through the head.
    """

    def __init__(self, config: EncoderConfig, **kwargs):
        super().__init__(**kwargs)
        self.config = config
        self.encoder = Encoder(config, name="encoder")
        self.transform = dense_layer(config.embedding_width, config, "transform")
        self.transform_layer_norm = norm_layer(config, "transform_layer_norm")
        self.output_bias = self.add_weight(shape=(config.vocab_size,), initializer="zeros", name="output_bias")

    def build(self, input_shape=None):
        self.encoder.build()
        self.transform.build((None, None, self.config.hidden_size))
        self.transform_layer_norm.build((None, None, self.config.embedding_width))
        self.built = True

    def masked_lm_logits(self, hidden):
        """Vocabulary logits [batch, masks, vocab] of the hidden states [batch, masks, hidden]."""
        transformed = ACTIVATIONS[self.config.head_act](self.transform(hidden))
        transformed = self.transform_layer_norm(transformed)
        return ops.matmul(transformed, ops.transpose(self.encoder.word_embeddings.embeddings)) + self.output_bias

    def call(self, inputs):
        """(loss [batch], attention [batch, layers, heads, query, key]) for a dict of arrays.

        `inputs` holds the encoder's `token_ids`, `segment_ids`, `input_mask` [batch, seq], the float
        `attention_offsets` [batch, layers, heads, seq, seq] (zeros; see Encoder.sequence_output), and per
        example the `masked_positions`, their original `masked_ids` and `masked_weights` [batch, masks] (1 / |M| for
        a real masked position, 0 for padding): the loss of an example is the weighted sum of the cross-entropies of
        the original tokens, so the mean over its masked positions.
        """
        hidden, attention = self.encoder.sequence_output(inputs, inputs["attention_offsets"])
        positions = ops.cast(inputs["masked_positions"], "int32")
        masked_hidden = ops.take_along_axis(hidden, positions[:, :, None], axis=1)
        log_probs = ops.log_softmax(self.masked_lm_logits(masked_hidden), axis=-1)
        labels = ops.cast(inputs["masked_ids"], "int32")
        label_log_probs = ops.take_along_axis(log_probs, labels[:, :, None], axis=2)[:, :, 0]
        return -ops.sum(label_log_probs * inputs["masked_weights"], axis=1), attention

    def weights_by_name(self) -> dict[str, keras.Variable]:
        """Every parameter of the encoder and the head, keyed as in `Encoder.weights_by_name`."""
        head = (self.transform.kernel, self.transform.bias, self.transform_layer_norm.gamma,
                self.transform_layer_norm.beta, self.output_bias)
        return {**self.encoder.weights_by_name(), **dict(zip(MASKED_LM_HEAD_NAMES, head, strict=True))}


def build_masked_lm(config: EncoderConfig) -> MaskedLanguageModel:
    """A MaskedLanguageModel with all its weights created (randomly initialised, the output bias 0)."""
    model = MaskedLanguageModel(config)
    model.build()
    return model
