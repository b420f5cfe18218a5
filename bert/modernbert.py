"""ModernBERT's layer (Warner et al. 2024), as transformers' `ModernBertModel` computes it.

A pre-norm layer: h + Attention(LN(h)), then h + MLP(LN(h)); the first layer's attention reads its input unnormalised
(the embeddings are normalised already). One bias-free projection makes queries, keys and values; queries and keys
are rotated by their positions (rotary embeddings, base `global_rope_theta` in global layers and `local_rope_theta`
in local ones); a local layer's query i sees only the keys j with |i - j| <= local_attention // 2. The feed-forward
block is a GeGLU: act(x W_in) * (x W_gate), then W_out.
"""

import keras
import numpy as np
from keras import ops

from bert.config import EncoderConfig
from bert.layers import (
    MASKED_SCORE,
    AttentionInputs,
    EncoderLayer,
    dense_layer,
    dense_weights,
    norm_layer,
    norm_weights,
    query_rows,
    row_positions,
)


def rotary_frequencies(head_size: int, theta: float) -> np.ndarray:
    """The rotation speeds 1 / theta^(2k / head_size), k = 0 .. head_size / 2 - 1, float32 as transformers."""
    return (1.0 / (np.float32(theta) ** (np.arange(0, head_size, 2, dtype=np.float32) / head_size))).astype(np.float32)


def rotate(vectors, positions, frequencies: np.ndarray):
    """Rotary embedding of vectors [batch, heads, rows, head_size] at positions [rows]: x cos + rotate_half(x) sin,
    the angles positions * frequencies repeated over both halves."""
    angles = ops.cast(positions, "float32")[:, None] * ops.convert_to_tensor(frequencies)[None, :]
    angles = ops.concatenate([angles, angles], axis=-1)
    half = ops.shape(vectors)[-1] // 2
    rotated_half = ops.concatenate([-vectors[..., half:], vectors[..., :half]], axis=-1)
    return vectors * ops.cos(angles) + rotated_half * ops.sin(angles)


class ModernBertLayer(EncoderLayer):
    """One ModernBERT layer (see the module); `index` says whether it is global or local and whether its attention
    normalises its input (every layer but the first)."""

    def __init__(self, config: EncoderConfig, index: int, **kwargs):
        super().__init__(config, **kwargs)
        hidden = config.hidden_size
        self.attention_norm = norm_layer(config, "attention_norm", center=False) if index else None
        self.qkv = dense_layer(3 * hidden, config, "qkv", use_bias=False)
        self.attention_output = dense_layer(hidden, config, "attention_output", use_bias=False)
        self.mlp_norm = norm_layer(config, "mlp_norm", center=False)
        self.mlp_input = dense_layer(2 * config.intermediate_size, config, "mlp_input", use_bias=False)
        self.mlp_output = dense_layer(hidden, config, "mlp_output", use_bias=False)
        self.window = config.local_attention // 2 if config.is_local(index) else None
        theta = config.local_rope_theta if config.is_local(index) else config.global_rope_theta
        self.frequencies = rotary_frequencies(config.head_size, theta)

    def build(self, input_shape):
        hidden_shape = (None, None, self.config.hidden_size)
        for sublayer in (self.attention_norm, self.qkv, self.attention_output, self.mlp_norm, self.mlp_input):
            if sublayer is not None:
                sublayer.build(hidden_shape)
        self.mlp_output.build((None, None, self.config.intermediate_size))

    def projection(self, hidden, part: int):
        """Queries (0), keys (1) or values (2) of every head, before rotation: [batch, heads, seq, head_size] of the
        layer's input [batch, seq, hidden], normalised first except in the first layer."""
        normed = hidden if self.attention_norm is None else self.attention_norm(hidden)
        size = self.config.hidden_size
        return self._split_heads(ops.matmul(normed, self.qkv.kernel[:, part * size:(part + 1) * size]))

    def attention_keys(self, hidden):
        """Every head's rotated keys [batch, heads, seq, head_size]."""
        return rotate(self.projection(hidden, 1), row_positions(hidden, None), self.frequencies)

    def attention_scores(self, hidden, keys, attention_inputs: AttentionInputs, rows: tuple[int, int] | None):
        """Rotated q . k / sqrt(head_size) [batch, heads, query rows, key], MASKED_SCORE outside a local window."""
        return self.scores_against(hidden, rows, keys, row_positions(hidden, None))

    def scores_against(self, hidden, rows: tuple[int, int] | None, keys, key_positions):
        """The scores of attention_scores for the query rows `rows` against the keys [batch, heads, keys, head_size]
        at `key_positions` [keys] (int32)."""
        positions = row_positions(hidden, rows)
        queries = rotate(self.projection(query_rows(hidden, rows), 0), positions, self.frequencies)
        scores = ops.matmul(queries, ops.transpose(keys, (0, 1, 3, 2))) * self.config.head_size**-0.5
        if self.window is None:
            return scores
        distance = ops.abs(positions[:, None] - key_positions[None, :])
        return scores + ops.cast(ops.greater(distance, self.window), "float32") * MASKED_SCORE

    def block_attention(self, hidden, keys, values, attention_inputs: AttentionInputs, rows: tuple[int, int]):
        """As EncoderLayer.block_attention; a local layer scores only the keys within its window of the rows, and its
        attention is zero-padded to every key (the same values: exp(MASKED_SCORE) is exactly 0 in float32)."""
        if self.window is None:
            return super().block_attention(hidden, keys, values, attention_inputs, rows)
        (start, stop), length = rows, int(ops.shape(hidden)[1])
        first, last = max(0, start - self.window), min(length, stop + self.window)
        scores = self.scores_against(hidden, rows, keys[:, :, first:last], ops.arange(first, last, dtype="int32"))
        probs = ops.softmax(scores + attention_inputs.bias[..., first:last], axis=-1)
        padded = ops.pad(probs, [(0, 0), (0, 0), (0, 0), (first, length - last)])
        return padded, ops.matmul(probs, values[:, :, first:last])

    def values(self, hidden):
        """Every head's value vectors [batch, heads, seq, head_size]."""
        return self.projection(hidden, 2)

    def output_of_sum(self, residual_sum):
        """The layer's output r + GeGLU(LN(r)) [..., hidden] from the attention block's sum r."""
        gate_input, gate = ops.split(self.mlp_input(self.mlp_norm(residual_sum)), 2, axis=-1)
        return residual_sum + self.mlp_output(self.activation(gate_input) * gate)

    def block_output(self, residual_sum):
        """y = r: no LayerNorm follows the attention block of a pre-norm layer (bert/context_mixing.py)."""
        return residual_sum

    def mixing_scale(self, residual_sum):
        """1 [..., 1]: nothing divides a pre-norm layer's sum."""
        return ops.ones_like(residual_sum[..., :1])

    def mixing_output_rows(self):
        """W_O^h [heads, head_size, hidden], as they are: v W_O^h = f_h(x) (no LayerNorm to fold in)."""
        return self.output_rows()

    def mixing_residual(self, hidden):
        """x [batch, n, hidden]: a query's residual as it is."""
        return hidden

    def weights_by_name(self, prefix: str) -> dict[str, keras.Variable]:
        """The layer's parameters, under `prefix` (`encoder/layer_3/`): `attention/self/qkv`, `attention/output/dense`,
        `intermediate/dense` (W_in and W_gate side by side), `output/dense`, and the norms `attention/input/LayerNorm`
        (not in the first layer) and `mlp/input/LayerNorm`."""
        names = dense_weights(prefix, {"attention/self/qkv": self.qkv, "attention/output/dense": self.attention_output,
                                       "intermediate/dense": self.mlp_input, "output/dense": self.mlp_output})
        if self.attention_norm is not None:
            names |= norm_weights(prefix + "attention/input/LayerNorm", self.attention_norm)
        return names | norm_weights(prefix + "mlp/input/LayerNorm", self.mlp_norm)
