"""DeBERTa-v2/v3's disentangled attention (He et al. 2021), as transformers' `DebertaV2Model` computes it.

A layer is BERT's post-norm layer whose attention scores add, to the content term q_i . k_j, a content-to-position
term q_i . P^k[d(i, j)] (`c2p`) and a position-to-content term k_j . P^q[d(i, j)] (`p2c`), each divided by
sqrt(head_size * (1 + number of terms)). P^k and P^q are the shared relative position embeddings (LayerNorm'd when
`norm_rel_ebd` says so) through the layer's key and query projections (`share_att_key`) or its own position
projections; d(i, j) = clip(span + bucket(i - j), 0, 2 span - 1), where bucket keeps distances below half of
`position_buckets` and log-buckets the others up to `max_relative_positions`.
"""

import keras
import numpy as np
from keras import ops

from bert.config import EncoderConfig
from bert.layers import AttentionInputs, TransformerLayer, dense_layer, dense_weights, query_rows, row_positions


def log_buckets(relative, bucket_size: int, max_position: int):
    """Relative positions i - j (int32, any shape) -> their buckets (int32), in float32 as transformers'
    `make_log_bucket_position`: |i - j| < bucket_size / 2 unchanged, larger distances to
    sign * (ceil(ln(|i - j| / mid) / ln((max_position - 1) / mid) * (mid - 1)) + mid), mid = bucket_size // 2."""
    mid = bucket_size // 2
    distance = ops.abs(relative)
    inside = ops.logical_and(ops.less(relative, mid), ops.greater(relative, -mid))
    clipped = ops.cast(ops.where(inside, mid - 1, distance), "float32")
    log_range = ops.log(ops.convert_to_tensor((max_position - 1) / mid, "float32"))
    log_position = ops.ceil(ops.log(clipped / mid) / log_range * (mid - 1)) + mid
    signed = log_position * ops.cast(ops.sign(relative), "float32")
    return ops.cast(ops.where(ops.less_equal(clipped, mid), ops.cast(relative, "float32"), signed), "int32")


def bucketed(config: EncoderConfig, relative):
    """Relative positions i - j (int32) as the config buckets them (unchanged without `position_buckets`)."""
    if config.position_buckets <= 0:
        return relative
    max_position = (config.max_relative_positions if config.max_relative_positions > 0
                    else config.max_position_embeddings)
    return log_buckets(relative, config.position_buckets, max_position)


def relative_index(config: EncoderConfig, hidden, rows: tuple[int, int] | None):
    """(d(i, j) - first [query rows, key] (int32), the rows first, ..., last [R] of the relative embeddings that the
    input's query-key pairs read): d(i, j) = clip(span + bucket(i - j), 0, 2 span - 1) is the row that query i and
    key j read; only rows within the bucket of the input's largest distance are, so only those are projected."""
    span = config.relative_span
    relative = row_positions(hidden, rows)[:, None] - row_positions(hidden, None)[None, :]
    farthest = bucketed(config, ops.shape(hidden)[1] - ops.ones((), "int32"))
    first = ops.clip(span - farthest, 0, 2 * span - 1)
    last = ops.clip(span + farthest, 0, 2 * span - 1)
    index = ops.clip(bucketed(config, relative) + span, 0, 2 * span - 1) - first
    return index, ops.arange(first, last + 1, dtype="int32")


def pick(terms, flat_index):
    """terms [batch, heads, a, b] at the flat positions flat_index [rows, keys] of each head's [a, b] (one gather
    along a single axis, shared by every batch and head): [batch, heads, rows, keys]."""
    batch, heads = ops.shape(terms)[0], ops.shape(terms)[1]
    flat_terms = ops.reshape(terms, (batch, heads, -1))
    picked = ops.take(flat_terms, ops.reshape(flat_index, (-1,)), axis=2)
    return ops.reshape(picked, (batch, heads, ops.shape(flat_index)[0], ops.shape(flat_index)[1]))


class DebertaLayer(TransformerLayer):
    """One DeBERTa-v2 layer: BERT's post-norm layer with disentangled attention scores (see the module)."""

    def __init__(self, config: EncoderConfig, **kwargs):
        super().__init__(config, **kwargs)
        separate = config.relative_attention and not config.share_att_key
        self.position_key = dense_layer(config.hidden_size, config, "pos_key") if (
            separate and "c2p" in config.pos_att_type) else None
        self.position_query = dense_layer(config.hidden_size, config, "pos_query") if (
            separate and "p2c" in config.pos_att_type) else None

    def build(self, input_shape):
        super().build(input_shape)
        for dense in (self.position_key, self.position_query):
            if dense is not None:
                dense.build((None, None, self.config.hidden_size))

    @property
    def score_scale(self) -> float:
        """sqrt(head_size * (1 + the number of relative terms)), in float32 as transformers computes it."""
        return float(np.sqrt(np.float32(self.config.head_size * (1 + len(self.config.pos_att_type)))))

    def position_heads(self, dense: keras.layers.Dense, relative_embeddings):
        """Relative embeddings [R, hidden] through a projection, by head: [1, heads, R, head_size]."""
        return self._split_heads(dense(relative_embeddings[None]))

    def attention_scores(self, hidden, keys, attention_inputs: AttentionInputs, rows: tuple[int, int] | None):
        """Content, c2p and p2c scores [batch, heads, query rows, key], each divided by `score_scale`."""
        scale = self.score_scale
        queries = self._split_heads(self.query(query_rows(hidden, rows)))
        scores = ops.matmul(queries, ops.transpose(keys, (0, 1, 3, 2)) / scale)
        if not self.config.relative_attention:
            return scores
        index, used_rows = relative_index(self.config, hidden, rows)  # [query rows, key], [R]
        relative_embeddings = ops.take(attention_inputs.relative_embeddings, used_rows, axis=0)
        n_rows, n_keys, n_used = ops.shape(index)[0], ops.shape(index)[1], ops.shape(used_rows)[0]
        if "c2p" in self.config.pos_att_type:
            position_keys = self.position_heads(self.key if self.position_key is None else self.position_key,
                                                relative_embeddings)
            content_to_position = ops.matmul(queries, ops.transpose(position_keys, (0, 1, 3, 2)))  # [.., rows, R]
            flat_index = ops.arange(n_rows, dtype="int32")[:, None] * n_used + index  # row i, column d(i, j)
            scores = scores + pick(content_to_position, flat_index) / scale
        if "p2c" in self.config.pos_att_type:
            position_queries = self.position_heads(self.query if self.position_query is None else self.position_query,
                                                  relative_embeddings)
            position_to_content = ops.matmul(position_queries, ops.transpose(keys, (0, 1, 3, 2)))  # [.., R, key]
            flat_index = index * n_keys + ops.arange(n_keys, dtype="int32")[None, :]  # row d(i, j), column j
            scores = scores + pick(position_to_content, flat_index) / scale
        return scores

    def weights_by_name(self, prefix: str) -> dict[str, keras.Variable]:
        """BERT's names, and the position projections' as `attention/self/pos_key` and `attention/self/pos_query`."""
        names = super().weights_by_name(prefix)
        projections = {"attention/self/pos_key": self.position_key, "attention/self/pos_query": self.position_query}
        present = {scope: dense for scope, dense in projections.items() if dense is not None}
        return names | dense_weights(prefix, present)

