"""The encoder in Keras 3 (BERT and the families of bert/config.py), returning every layer's attention.

Written with `keras.ops` only, so it runs unchanged on the TensorFlow (default), JAX and PyTorch
backends. Parameter names follow Google's BERT checkpoints without their model scope
(`encoder/layer_0/attention/self/query/kernel`), see `Encoder.weights_by_name`; `bert/checkpoint.py` fills
them from either format and every family.
"""

import math

import keras
from keras import ops

from bert.config import EncoderConfig
from bert.context_mixing import layer_mixing
from bert.map_kinds import MIXING_KINDS

ACTIVATIONS = {
    "gelu": lambda x: ops.gelu(x, approximate=False),
    "gelu_new": lambda x: ops.gelu(x, approximate=True),
    "gelu_pytorch_tanh": lambda x: ops.gelu(x, approximate=True),
    "relu": ops.relu,
}
ENCODER_MAPS = ("attn", "norm", *MIXING_KINDS)  # what Encoder.call can return (see Encoder)
MASKED_SCORE = -1e9  # added to the attention scores of padding keys; exp() of it is exactly 0 in float32


def _dense(units: int, config: EncoderConfig, name: str) -> keras.layers.Dense:
    """A fully connected layer initialised as in BERT (truncated normal)."""
    initializer = keras.initializers.TruncatedNormal(stddev=config.initializer_range)
    return keras.layers.Dense(units, kernel_initializer=initializer, name=name)


def _layer_norm(config: EncoderConfig, name: str) -> keras.layers.LayerNormalization:
    """Layer normalisation over the hidden axis with the config's epsilon."""
    return keras.layers.LayerNormalization(epsilon=config.layer_norm_eps, name=name)


class TransformerLayer(keras.layers.Layer):
    """One encoder layer: multi-head self-attention, then the feed-forward block, each with residual + LayerNorm."""

    def __init__(self, config: EncoderConfig, **kwargs):
        super().__init__(**kwargs)
        self.config = config
        hidden = config.hidden_size
        self.query = _dense(hidden, config, "query")
        self.key = _dense(hidden, config, "key")
        self.value = _dense(hidden, config, "value")
        self.attention_output = _dense(hidden, config, "attention_output")
        self.attention_layer_norm = _layer_norm(config, "attention_layer_norm")
        self.intermediate = _dense(config.intermediate_size, config, "intermediate")
        self.output_dense = _dense(hidden, config, "output")
        self.output_layer_norm = _layer_norm(config, "output_layer_norm")

    def build(self, input_shape):
        hidden_shape = (None, None, self.config.hidden_size)
        for dense in (self.query, self.key, self.value, self.attention_output, self.intermediate):
            dense.build(hidden_shape)
        self.output_dense.build((None, None, self.config.intermediate_size))
        self.attention_layer_norm.build(hidden_shape)
        self.output_layer_norm.build(hidden_shape)

    def _split_heads(self, projected):
        """[batch, seq, hidden] -> [batch, heads, seq, head_size]."""
        batch, length = ops.shape(projected)[0], ops.shape(projected)[1]
        split = ops.reshape(projected, (batch, length, self.config.num_attention_heads, self.config.head_size))
        return ops.transpose(split, (0, 2, 1, 3))

    def attention_probs(self, hidden, attention_bias):
        """Softmax attention of every head: hidden [batch, seq, hidden] -> [batch, heads, query, key].

        `attention_bias` [batch, 1, 1, key] is 0 for real keys and MASKED_SCORE for padding.
        """
        queries = self._split_heads(self.query(hidden) / math.sqrt(self.config.head_size))
        keys = self._split_heads(self.key(hidden))
        scores = ops.matmul(queries, ops.transpose(keys, (0, 1, 3, 2)))
        return ops.softmax(scores + attention_bias, axis=-1)

    def values(self, hidden):
        """Every head's value vectors: hidden [batch, seq, hidden] -> [batch, heads, seq, head_size]."""
        return self._split_heads(self.value(hidden))

    def value_norms(self, values):
        """||f_h(x_j)|| [batch, heads, seq] (Kobayashi et al. 2020) from each head's value vectors v [batch, heads,
        seq, head_size]: f_h(x_j) = v W_O^h, W_O^h the rows of the attention output kernel that head h feeds (its
        bias is shared by all tokens and left out). Computed as sqrt(v G_h v^T) with the head's Gram matrix
        G_h = W_O^h W_O^h^T [head_size, head_size], so no [.., seq, hidden] array per head is made."""
        output_rows = self.output_rows()
        gram = ops.matmul(output_rows, ops.transpose(output_rows, (0, 2, 1)))
        squared = ops.sum(ops.matmul(values, gram) * values, axis=-1)
        return ops.sqrt(ops.maximum(squared, 0.0))

    def output_rows(self):
        """The attention output kernel [hidden, hidden] as the rows W_O^h that each head feeds: [heads, head_size,
        hidden]."""
        heads, head_size = self.config.num_attention_heads, self.config.head_size
        return ops.reshape(self.attention_output.kernel, (heads, head_size, self.config.hidden_size))

    def residual_sum(self, hidden, attention_probs, values):
        """r = x + attention output [batch, seq, hidden]: what the attention LayerNorm normalises."""
        batch, length = ops.shape(hidden)[0], ops.shape(hidden)[1]
        context = ops.matmul(attention_probs, values)
        context = ops.reshape(ops.transpose(context, (0, 2, 1, 3)), (batch, length, self.config.hidden_size))
        return hidden + self.attention_output(context)

    def activation(self, pre_activation):
        """The feed-forward block's activation (the config's `hidden_act`)."""
        return ACTIVATIONS[self.config.hidden_act](pre_activation)

    def feed_forward(self, attended):
        """The layer's output LN(y + FFN(y)) of the attention block's output y [..., hidden]."""
        intermediate = self.activation(self.intermediate(attended))
        return self.output_layer_norm(attended + self.output_dense(intermediate))

    def call(self, hidden, attention_probs, values=None):
        """The layer's output [batch, seq, hidden], given its input, its attention probabilities and, when already
        computed, its value vectors [batch, heads, seq, head_size]."""
        values = self.values(hidden) if values is None else values
        return self.feed_forward(self.attention_layer_norm(self.residual_sum(hidden, attention_probs, values)))


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
        initializer = keras.initializers.TruncatedNormal(stddev=config.initializer_range)
        width = config.embedding_width
        self.word_embeddings = keras.layers.Embedding(
            config.vocab_size, width, embeddings_initializer=initializer, name="word_embeddings"
        )
        self.position_embeddings = keras.layers.Embedding(
            config.max_position_embeddings, width, embeddings_initializer=initializer, name="position_embeddings"
        )
        self.token_type_embeddings = keras.layers.Embedding(
            config.type_vocab_size, width, embeddings_initializer=initializer, name="token_type_embeddings"
        ) if config.type_vocab_size else None
        self.embedding_layer_norm = _layer_norm(config, "embedding_layer_norm")
        self.embeddings_project = (_dense(config.hidden_size, config, "embeddings_project")
                                   if config.projects_embeddings else None)
        self.transformer_layers = [TransformerLayer(config, name=f"layer_{i}") for i in range(config.layer_groups)]

    def build(self, input_shape=None):
        for embedding in (self.word_embeddings, self.position_embeddings, self.token_type_embeddings):
            if embedding is not None:
                embedding.build((None, None))
        self.embedding_layer_norm.build((None, None, self.config.embedding_width))
        if self.embeddings_project is not None:
            self.embeddings_project.build((None, None, self.config.embedding_width))
        for layer in self.transformer_layers:
            layer.build((None, None, self.config.hidden_size))
        self.built = True

    def layers_in_order(self) -> list[TransformerLayer]:
        """The layer that computes each of the config's layers, in order (ALBERT repeats its shared ones)."""
        return [self.transformer_layers[self.config.layer_group(i)] for i in range(self.config.num_hidden_layers)]

    def position_ids(self, token_ids):
        """Position ids [batch or 1, seq]: 0, 1, ..., or for RoBERTa-like models pad + the count of non-padding
        tokens up to each position (pad itself on padding tokens), as transformers computes them."""
        if not self.config.positions_from_padding:
            return ops.arange(ops.shape(token_ids)[1])[None]
        real = ops.cast(ops.not_equal(token_ids, self.config.pad_token_id), "int32")
        return ops.cumsum(real, axis=1) * real + self.config.pad_token_id

    def embed(self, inputs):
        """The first layer's input [batch, seq, hidden] and the attention bias [batch, 1, 1, key] (0 for real
        keys, MASKED_SCORE for padding) of a dict of int arrays [batch, seq] (see `call`)."""
        token_ids, input_mask = inputs["token_ids"], inputs["input_mask"]
        hidden = self.word_embeddings(token_ids) + self.position_embeddings(self.position_ids(token_ids))
        if self.token_type_embeddings is not None:
            hidden = hidden + self.token_type_embeddings(inputs["segment_ids"])
        hidden = self.embedding_layer_norm(hidden)
        if self.embeddings_project is not None:
            hidden = self.embeddings_project(hidden)
        attention_bias = (1.0 - ops.cast(input_mask, hidden.dtype))[:, None, None, :] * MASKED_SCORE
        return hidden, attention_bias

    def call(self, inputs):
        """Attention maps [batch, layers, heads, query, key] for a dict of int arrays [batch, seq].

        `inputs` holds `token_ids`, `segment_ids` and `input_mask` (1 for real tokens, 0 for padding);
        padding keys get exactly zero attention. The last layer's feed-forward block does not affect
        any attention map, so it is not run. Other `map_kind`s: see the class.
        """
        if self.map_kind in MIXING_KINDS:
            return self.mixing_maps(inputs)
        norm_maps = self.map_kind == "norm"
        hidden, attention_bias = self.embed(inputs)
        attention_maps, value_norms = [], []
        layers = self.layers_in_order()
        for index, layer in enumerate(layers):
            is_last = index == len(layers) - 1
            probs = layer.attention_probs(hidden, attention_bias)
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
        hidden, attention_bias = self.embed(inputs)
        real_keys = ops.cast(inputs["input_mask"], "float32")[:, None, :]
        mixing_maps = []
        layers = self.layers_in_order()
        for index, layer in enumerate(layers):
            probs = layer.attention_probs(hidden, attention_bias)
            mixing, hidden = layer_mixing(self.map_kind, layer, hidden, probs, layer.values(hidden),
                                          is_last=index == len(layers) - 1)
            mixing = mixing * real_keys
            mixing_maps.append(mixing / ops.maximum(ops.sum(mixing, axis=-1, keepdims=True), 1e-30))
        return ops.cast(ops.stack(mixing_maps, axis=1)[:, :, None], self.maps_dtype)

    def sequence_output(self, inputs, attention_offsets):
        """The last layer's full output [batch, seq, hidden] and every layer's attention [batch, layers, heads,
        query, key], with `attention_offsets` [batch, layers, heads, query, key] added to the attention that
        multiplies the values: offsets of zero change nothing, and d(output)/d(offsets) = d(output)/d(attention)."""
        hidden, attention_bias = self.embed(inputs)
        attention_maps = []
        for index, layer in enumerate(self.layers_in_order()):
            probs = layer.attention_probs(hidden, attention_bias)
            attention_maps.append(probs)
            hidden = layer(hidden, probs + attention_offsets[:, index])
        return hidden, ops.stack(attention_maps, axis=1)

    def weights_by_name(self) -> dict[str, keras.Variable]:
        """Every parameter, keyed by its name in a Google BERT checkpoint without the model scope (kernels are
        [in, out]); the shared layers of ALBERT are `encoder/layer_<group>`."""
        names = {
            "embeddings/word_embeddings": self.word_embeddings.embeddings,
            "embeddings/position_embeddings": self.position_embeddings.embeddings,
            "embeddings/LayerNorm/gamma": self.embedding_layer_norm.gamma,
            "embeddings/LayerNorm/beta": self.embedding_layer_norm.beta,
        }
        if self.token_type_embeddings is not None:
            names["embeddings/token_type_embeddings"] = self.token_type_embeddings.embeddings
        if self.embeddings_project is not None:
            names["embeddings_project/kernel"] = self.embeddings_project.kernel
            names["embeddings_project/bias"] = self.embeddings_project.bias
        for index, layer in enumerate(self.transformer_layers):
            prefix = f"encoder/layer_{index}/"
            dense_layers = {
                "attention/self/query": layer.query,
                "attention/self/key": layer.key,
                "attention/self/value": layer.value,
                "attention/output/dense": layer.attention_output,
                "intermediate/dense": layer.intermediate,
                "output/dense": layer.output_dense,
            }
            for scope, dense in dense_layers.items():
                names[prefix + scope + "/kernel"] = dense.kernel
                names[prefix + scope + "/bias"] = dense.bias
            for scope, norm in (("attention/output/LayerNorm", layer.attention_layer_norm),
                                ("output/LayerNorm", layer.output_layer_norm)):
                names[prefix + scope + "/gamma"] = norm.gamma
                names[prefix + scope + "/beta"] = norm.beta
        return names


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
        self.transform = _dense(config.embedding_width, config, "transform")
        self.transform_layer_norm = _layer_norm(config, "transform_layer_norm")
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
