"""The layers of the encoder in Keras 3: what every family's layer shares, and BERT's post-norm layer.

Written with `keras.ops` only. DeBERTa's (bert/deberta.py) and ModernBERT's (bert/modernbert.py) layers build on
`EncoderLayer`; bert/modeling.py stacks them.
"""

import math
from typing import NamedTuple

import keras
from keras import ops

from bert.config import EncoderConfig

ACTIVATIONS = {
    "gelu": lambda x: ops.gelu(x, approximate=False),
    "gelu_new": lambda x: ops.gelu(x, approximate=True),
    "gelu_pytorch_tanh": lambda x: ops.gelu(x, approximate=True),
    "relu": ops.relu,
}
MASKED_SCORE = -1e9  # added to the attention scores of padding keys; exp() of it is exactly 0 in float32


def dense_layer(units: int, config: EncoderConfig, name: str, use_bias: bool = True) -> keras.layers.Dense:
    """A fully connected layer initialised as in BERT (truncated normal)."""
    initializer = keras.initializers.TruncatedNormal(stddev=config.initializer_range)
    return keras.layers.Dense(units, use_bias=use_bias, kernel_initializer=initializer, name=name)


def norm_layer(config: EncoderConfig, name: str, center: bool = True) -> keras.layers.LayerNormalization:
    """Layer normalisation over the hidden axis with the config's epsilon (`center=False`: no bias, as ModernBERT)."""
    return keras.layers.LayerNormalization(epsilon=config.layer_norm_eps, center=center, name=name)


def centred(vectors):
    """Vectors [..., hidden] minus their mean over the hidden units."""
    return vectors - ops.mean(vectors, axis=-1, keepdims=True)


class AttentionInputs(NamedTuple):
    """What every layer's attention reads besides its input: the padding bias [batch, 1, 1, key] (0 for real keys,
    MASKED_SCORE for padding) and, for DeBERTa, the relative position embeddings [2 * span, hidden]."""

    bias: object
    relative_embeddings: object = None


def query_rows(hidden, rows: tuple[int, int] | None):
    """The rows `rows` = (start, stop) of hidden [batch, seq, hidden] (all of them for None)."""
    return hidden if rows is None else hidden[:, rows[0]:rows[1]]


def row_positions(hidden, rows: tuple[int, int] | None):
    """The positions [rows] of the query rows `rows` (all of hidden's for None), int32."""
    return ops.arange(ops.shape(hidden)[1], dtype="int32") if rows is None else ops.arange(*rows, dtype="int32")


class EncoderLayer(keras.layers.Layer):
    """What every family's layer shares: heads, attention from scores, norms of the value terms, and the layer's output
    from its attention; subclasses give the projections (`attention_keys`, `attention_scores`, `values`,
    `output_rows`), `output` and `weights_by_name`.

    Attention can be computed for a block of query rows (`rows` = (start, stop)) against every key, which is how
    long inputs are read (Encoder.streamed_maps)."""

    def __init__(self, config: EncoderConfig, **kwargs):
        super().__init__(**kwargs)
        self.config = config

    def _split_heads(self, projected):
        """[batch, seq, hidden] -> [batch, heads, seq, head_size]."""
        batch, length = ops.shape(projected)[0], ops.shape(projected)[1]
        split = ops.reshape(projected, (batch, length, self.config.num_attention_heads, self.config.head_size))
        return ops.transpose(split, (0, 2, 1, 3))

    def _merge_heads(self, heads_context):
        """[batch, heads, seq, head_size] -> [batch, seq, hidden]."""
        batch, length = ops.shape(heads_context)[0], ops.shape(heads_context)[2]
        return ops.reshape(ops.transpose(heads_context, (0, 2, 1, 3)), (batch, length, self.config.hidden_size))

    def attention_probs(self, hidden, attention_inputs: AttentionInputs, rows: tuple[int, int] | None = None,
                        keys=None):
        """Softmax attention of every head: hidden [batch, seq, hidden] -> [batch, heads, query rows, key], the
        rows `rows` (all for None); `keys` (attention_keys) when already computed."""
        keys = self.attention_keys(hidden) if keys is None else keys
        scores = self.attention_scores(hidden, keys, attention_inputs, rows)
        return ops.softmax(scores + attention_inputs.bias, axis=-1)

    def block_attention(self, hidden, keys, values, attention_inputs: AttentionInputs, rows: tuple[int, int]):
        """(attention [batch, heads, rows, key], each head's context [batch, heads, rows, head_size]) of the query rows
        `rows` = (start, stop), given the layer's keys and values (Encoder.streamed_maps)."""
        probs = self.attention_probs(hidden, attention_inputs, rows, keys)
        return probs, ops.matmul(probs, values)

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

    def activation(self, pre_activation):
        """The feed-forward block's activation (the config's `hidden_act`)."""
        return ACTIVATIONS[self.config.hidden_act](pre_activation)

    def residual_sum(self, hidden, attention_probs, values):
        """r = x + attention output [batch, seq, hidden]: the attention block's sum with its residual."""
        return self.attended_sum(hidden, ops.matmul(attention_probs, values))

    def attended_sum(self, hidden, heads_context):
        """r = x + the attention output of each head's context (attention times values) [batch, heads, seq,
        head_size]."""
        return hidden + self.attention_output(self._merge_heads(heads_context))

    def output(self, hidden, heads_context):
        """The layer's output [batch, seq, hidden] from its input and each head's context [batch, heads, seq,
        head_size]."""
        return self.output_of_sum(self.attended_sum(hidden, heads_context))

    def call(self, hidden, attention_probs, values=None):
        """The layer's output [batch, seq, hidden], given its input, its attention probabilities and, when already
        computed, its value vectors [batch, heads, seq, head_size]."""
        values = self.values(hidden) if values is None else values
        return self.output(hidden, ops.matmul(attention_probs, values))


class TransformerLayer(EncoderLayer):
    """One post-norm encoder layer (BERT and the families like it): multi-head self-attention, then the feed-forward
    block, each with residual + LayerNorm."""

    def __init__(self, config: EncoderConfig, **kwargs):
        super().__init__(config, **kwargs)
        hidden = config.hidden_size
        self.query = dense_layer(hidden, config, "query")
        self.key = dense_layer(hidden, config, "key")
        self.value = dense_layer(hidden, config, "value")
        self.attention_output = dense_layer(hidden, config, "attention_output")
        self.attention_layer_norm = norm_layer(config, "attention_layer_norm")
        self.intermediate = dense_layer(config.intermediate_size, config, "intermediate")
        self.output_dense = dense_layer(hidden, config, "output")
        self.output_layer_norm = norm_layer(config, "output_layer_norm")

    def build(self, input_shape):
        hidden_shape = (None, None, self.config.hidden_size)
        for dense in (self.query, self.key, self.value, self.attention_output, self.intermediate):
            dense.build(hidden_shape)
        self.output_dense.build((None, None, self.config.intermediate_size))
        self.attention_layer_norm.build(hidden_shape)
        self.output_layer_norm.build(hidden_shape)

    def attention_keys(self, hidden):
        """Every head's keys [batch, heads, seq, head_size]."""
        return self._split_heads(self.key(hidden))

    def attention_scores(self, hidden, keys, attention_inputs: AttentionInputs, rows: tuple[int, int] | None):
        """Scaled dot products [batch, heads, query rows, key] of the rows `rows` with every key."""
        queries = self._split_heads(self.query(query_rows(hidden, rows)) / math.sqrt(self.config.head_size))
        return ops.matmul(queries, ops.transpose(keys, (0, 1, 3, 2)))

    def values(self, hidden):
        """Every head's value vectors: hidden [batch, seq, hidden] -> [batch, heads, seq, head_size]."""
        return self._split_heads(self.value(hidden))

    def feed_forward(self, attended):
        """The layer's output LN(y + FFN(y)) of the attention block's output y [..., hidden]."""
        intermediate = self.activation(self.intermediate(attended))
        return self.output_layer_norm(attended + self.output_dense(intermediate))

    def output_of_sum(self, residual_sum):
        """The layer's output [..., hidden] from the attention block's sum r: FFN block of LN(r)."""
        return self.feed_forward(self.attention_layer_norm(residual_sum))

    def block_output(self, residual_sum):
        """y = LN(r), the attention block's output (bert/context_mixing.py)."""
        return self.attention_layer_norm(residual_sum)

    def mixing_scale(self, residual_sum):
        """s_i = sqrt(var(r_i) + eps) [..., 1], the LayerNorm's divisor of each query's sum."""
        return ops.sqrt(ops.var(residual_sum, axis=-1, keepdims=True) + self.attention_layer_norm.epsilon)

    def mixing_output_rows(self):
        """W~^h = g * (W_O^h - its mean over the hidden units) [heads, head_size, hidden]: the LayerNorm's centring
        and gain folded into each head's output rows, so that v W~^h = g * centred(f_h(x)) (v includes the value
        bias)."""
        return self.attention_layer_norm.gamma * centred(self.output_rows())

    def mixing_residual(self, hidden):
        """g * centred(x) [batch, n, hidden]: a query's residual as the LayerNorm splits it."""
        return self.attention_layer_norm.gamma * centred(hidden)

    def weights_by_name(self, prefix: str) -> dict[str, keras.Variable]:
        """The layer's parameters under their Google names, after `prefix` (`encoder/layer_3/`)."""
        dense_layers = {
            "attention/self/query": self.query,
            "attention/self/key": self.key,
            "attention/self/value": self.value,
            "attention/output/dense": self.attention_output,
            "intermediate/dense": self.intermediate,
            "output/dense": self.output_dense,
        }
        names = dense_weights(prefix, dense_layers)
        for scope, norm in (("attention/output/LayerNorm", self.attention_layer_norm),
                            ("output/LayerNorm", self.output_layer_norm)):
            names |= norm_weights(prefix + scope, norm)
        return names


def dense_weights(prefix: str, dense_layers: dict[str, keras.layers.Dense]) -> dict[str, keras.Variable]:
    """`<prefix><scope>/kernel` (and `/bias` where the layer has one) of each dense layer, by scope."""
    names = {}
    for scope, dense in dense_layers.items():
        names[prefix + scope + "/kernel"] = dense.kernel
        if dense.use_bias:
            names[prefix + scope + "/bias"] = dense.bias
    return names


def norm_weights(scope: str, norm: keras.layers.LayerNormalization) -> dict[str, keras.Variable]:
    """`<scope>/gamma` (and `/beta` where the LayerNorm has one)."""
    names = {scope + "/gamma": norm.gamma}
    if norm.center:
        names[scope + "/beta"] = norm.beta
    return names
