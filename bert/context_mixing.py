"""Context mixing of one encoder layer, with attention, residual and LayerNorm together (docs/definitions.md).

For a layer with input x [batch, n, hidden], attention alpha [batch, heads, n, n] and per-head outputs
f_h(x_j) = (x_j W_V^h + b_V^h) W_O^h, the block's sum for query i is r_i = sum_j T_ij + b_O with
T_ij = sum_h alpha[h, i, j] f_h(x_j) + [i = j] x_i. In a post-norm layer its LayerNorm (gamma g) is split with the
statistics of r_i: L_ij = g * (T_ij - mean(T_ij)) / s_i, s_i = sqrt(var(r_i) + eps), and y_i = LN(r_i); in a
pre-norm layer (ModernBERT: f_h reads LN(x_j)) L_ij = T_ij and y_i = r_i. The layer says which
(`mixing_output_rows`, `mixing_residual`, `mixing_scale`, `block_output`, `output_of_sum`).

- `attn-res-ln` (Kobayashi et al. 2021): ||L_ij||_2, from a per-token Gram matrix of the heads' centred outputs, so
  no [batch, n, n, hidden] tensor is made;
- `alti` (Ferrando et al. 2022): max(0, ||y_i||_1 - ||y_i - L_ij||_1);
- `value-zeroing` (Mohebbi et al. 2023): 1 - cos(z_i, z_i^(j)), the layer's output z with and without token j's
  value vectors: zeroing them removes sum_h alpha[h, i, j] f_h(x_j) from r_i and leaves the attention as it is, so
  only the LayerNorms and the feed-forward block run again, on [batch, n, n, hidden] rows.

Each function returns the map [batch, query, key] before its rows are normalised to sum to 1 (so a factor shared by a
row may be left out). They are written with keras.ops, so every backend runs them; `outputs_of_sums` adds a
TensorFlow fast path.
"""

import keras
from keras import ops


def by_key(probs):
    """Attention [batch, heads, query, key] laid out by key: [batch, key, query, heads]."""
    return ops.transpose(probs, (0, 3, 2, 1))


def head_outputs_by_token(values, output_rows):
    """v_j^h W^h [batch, n, heads, hidden] of value vectors v [batch, heads, n, head_size] and per-head output rows
    W [heads, head_size, hidden]."""
    return ops.einsum("bhje,hed->bjhd", values, output_rows)


def own_terms(layer, hidden, probs, values, scaled_rows):
    """s_i L_ii [batch, n, hidden] (g * centred(T_ii), or T_ii in a pre-norm layer): the query's own value terms
    sum_h alpha[h, i, i] v_i^h W~^h (one matmul of the values weighted by each head's attention to itself) plus its
    residual."""
    own_attention = ops.diagonal(probs, axis1=2, axis2=3)  # [batch, heads, n]: alpha[h, i, i]
    weighted = ops.transpose(own_attention[:, :, :, None] * values, (0, 2, 1, 3))  # [batch, n, heads, head_size]
    flat = ops.reshape(weighted, (*ops.shape(hidden)[:2], -1))
    own_values = ops.matmul(flat, ops.reshape(scaled_rows, (-1, ops.shape(scaled_rows)[-1])))
    return own_values + layer.mixing_residual(hidden)


def on_diagonal(own, others):
    """`others` [batch, n, n] with its diagonal replaced by `own` [batch, n]."""
    return ops.where(ops.eye(ops.shape(others)[-1], dtype="bool")[None], own[:, :, None], others)


def attn_res_ln(layer, hidden, probs, values):
    """s_i ||L_ij||_2 [batch, n, n]: the divisor s_i is the same along a row, so it cancels when the row is normalised
    and is left out. Off the diagonal (s_i ||L_ij||)^2 = a^T G_j a with a = alpha[:, i, j] and the Gram matrix G_j
    [heads, heads] of token j's scaled, centred head outputs; on it, the norm of g * centred(T_ii)."""
    scaled_rows = layer.mixing_output_rows()
    scaled_outputs = head_outputs_by_token(values, scaled_rows)  # [batch, n, heads, hidden]
    gram = ops.matmul(scaled_outputs, ops.transpose(scaled_outputs, (0, 1, 3, 2)))  # [batch, n, heads, heads]
    alpha = by_key(probs)  # [batch, key, query, heads]
    squared = ops.sum(ops.matmul(alpha, gram) * alpha, axis=-1)  # [batch, key, query]
    own = own_terms(layer, hidden, probs, values, scaled_rows)
    squared = on_diagonal(ops.sum(own * own, axis=-1), ops.transpose(squared, (0, 2, 1)))
    return ops.sqrt(ops.maximum(squared, 0.0))


def alti(layer, hidden, probs, values, residual_sum):
    """max(0, ||y_i||_1 - ||y_i - L_ij||_1) [batch, n, n], with y = LN(r) the block's output; the [batch, key, query,
    hidden] terms are laid out by key so that they come straight out of one batched matmul."""
    scaled_rows = layer.mixing_output_rows()
    scaled_outputs = head_outputs_by_token(values, scaled_rows)
    scale = layer.mixing_scale(residual_sum)
    outputs = layer.block_output(residual_sum)  # y [batch, n, hidden]
    scaled_y = scale * outputs  # s_i y_i
    terms = ops.matmul(by_key(probs), scaled_outputs)  # s_i L_ij for j != i: [batch, key, query, hidden]
    distances = ops.sum(ops.abs(scaled_y[:, None] - terms), axis=-1)  # s_i ||y_i - L_ij||_1, by key
    own = own_terms(layer, hidden, probs, values, scaled_rows)
    distances = on_diagonal(ops.sum(ops.abs(scaled_y - own), axis=-1), ops.transpose(distances, (0, 2, 1)))
    return ops.relu(ops.sum(ops.abs(outputs), axis=-1)[:, :, None] - distances / scale)


def unit(vectors):
    """Vectors [..., hidden] divided by their Euclidean norm."""
    return vectors / ops.sqrt(ops.sum(vectors * vectors, axis=-1, keepdims=True))


def outputs_of_sums(layer, residual_sums):
    """`layer.output_of_sum` of rows [..., hidden]; for a post-norm layer on the TensorFlow backend, written so that
    TensorFlow fuses the intermediate matmul, its bias and the activation into one oneDNN kernel (`tf.nn.bias_add`,
    then the activation). Keras's `matmul + add` is not fused, and the exact GELU after it is then a fifth of value
    zeroing's time on short inputs. Same values to float32 rounding."""
    if keras.backend.backend() != "tensorflow" or layer.config.pre_norm:
        return layer.output_of_sum(residual_sums)
    import tensorflow as tf

    rows = tf.reshape(layer.attention_layer_norm(residual_sums), (-1, layer.config.hidden_size))
    pre_activation = tf.nn.bias_add(tf.matmul(rows, layer.intermediate.kernel), layer.intermediate.bias)
    intermediate = layer.activation(pre_activation)
    return tf.reshape(layer.output_layer_norm(rows + layer.output_dense(intermediate)), tf.shape(residual_sums))


def value_zeroing(layer, probs, values, residual_sum):
    """1 - cos(z_i, z_i^(j)) [batch, n, n], computed as ||z_i/|z_i| - z_i^(j)/|z_i^(j)| ||^2 / 2, which keeps its
    precision where the two outputs nearly agree (1 - dot product would lose it to float32 rounding). z_i is computed
    by the same operations as the z_i^(j), as the row of a zero value term."""
    head_outputs = head_outputs_by_token(values, layer.output_rows())  # f_h(x_j) [batch, n, heads, hidden]
    value_terms = ops.matmul(by_key(probs), head_outputs)  # sum_h alpha[h, i, j] f_h(x_j) [batch, key, query, hidden]
    value_terms = ops.concatenate([ops.zeros_like(value_terms[:, :1]), value_terms], axis=1)
    outputs = unit(outputs_of_sums(layer, residual_sum[:, None] - value_terms))
    difference = outputs[:, :1] - outputs[:, 1:]
    return ops.transpose(0.5 * ops.sum(difference * difference, axis=-1), (0, 2, 1))


def layer_mixing(kind: str, layer, hidden, probs, values, is_last: bool):
    """The `kind` map of a layer [batch, n, n] before its rows are normalised, and the layer's output [batch, n,
    hidden] (None for the last layer where the map does not need it), from its input, attention and value vectors
    [batch, heads, n, head_size]."""
    needs_sum = kind != "attn-res-ln" or not is_last  # attn-res-ln reads the sum only to pass the layer on
    residual_sum = layer.residual_sum(hidden, probs, values) if needs_sum else None
    layer_output = None if is_last else layer.output_of_sum(residual_sum)
    if kind == "attn-res-ln":
        mixing = attn_res_ln(layer, hidden, probs, values)
    elif kind == "alti":
        mixing = alti(layer, hidden, probs, values, residual_sum)
    else:
        mixing = value_zeroing(layer, probs, values, residual_sum)
    return mixing, layer_output
