"""Gradient importance (the paper's Figure 3): |dL/d alpha| of the masked-LM loss, reduced per key category.

For each example, the positions in `M` are masked (its `"masked_positions"`, or drawn by BERT's rule with a
seeded generator, `masking_plan`), `L` is the mean over `M` of the cross-entropy of the original tokens, and
`G[l, h, i, j] = |dL / d alpha[l, h, i, j]|` with `alpha` the attention that multiplies the values
(docs/definitions.md, "Gradient importance"). Batches are length-bucketed and padded like extraction; the gradient
of the sum of the examples' losses is each example's own gradient, since examples do not interact. Each batch is
reduced at once to per-example category means [layers, heads, 3], so memory stays bounded.
"""

import dataclasses
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from bert.extraction import PreparedExample, length_batches, padded_inputs
from bert.model_tokenizer import ModelTokenizer
from bert.special_tokens import BERT_SPECIAL_TOKENS, SpecialTokens
from utils import InputError, example_error

CATEGORIES = ("sep", "punct", "other")  # key categories: [SEP]; "." and ","; every other position but [CLS]
PUNCTUATION = (".", ",")
MASKED_FRACTION = 0.15
MAX_MASKED = 20
MASK_SHARE, RANDOM_SHARE = 0.8, 0.1  # BERT's 80/10/10: [MASK], a random token, the token left as it is


@dataclasses.dataclass
class MaskedExample:
    """One example as the masked LM sees it: its tokens (before masking), the ids fed [n], the masked positions
    [masks] (sorted) with their original ids [masks], and the strings that play [CLS] and [SEP]."""

    tokens: list[str]
    input_ids: np.ndarray
    positions: np.ndarray
    original_ids: np.ndarray
    special_tokens: SpecialTokens = BERT_SPECIAL_TOKENS


@dataclasses.dataclass
class ExampleStatistics:
    """One example's loss and, per head and key category, its gradient importance and average attention [L, H, 3]."""

    loss: float
    grad_importance: np.ndarray
    avg_attn: np.ndarray


def check_masked_positions(value: object, tokens: list[str], path: Path, index: int,
                           special_tokens: SpecialTokens = BERT_SPECIAL_TOKENS) -> list[int]:
    """An example's `"masked_positions"`: a non-empty list of distinct ints, each a position of `tokens` that is
    neither `[CLS]` nor `[SEP]` (by role); otherwise an InputError naming the file, the example and the field."""
    field = "masked_positions"
    if not isinstance(value, list) or not value or not all(type(item) is int for item in value):
        raise example_error(path, index, field, "expected a non-empty list of integers (token positions)")
    if len(set(value)) != len(value):
        raise example_error(path, index, field, "positions must be distinct")
    outside = [position for position in value if not 0 <= position < len(tokens)]
    if outside:
        raise example_error(path, index, field, f"position {outside[0]} is outside the {len(tokens)} tokens")
    special = [position for position in value if tokens[position] in (special_tokens.cls, special_tokens.sep)]
    if special:
        raise example_error(path, index, field, f"position {special[0]} is {tokens[special[0]]}, never masked")
    return value


def masked_count(candidates: int) -> int:
    """How many of `candidates` non-special positions are masked, as Google's create_pretraining_data.py counts:
    15% rounded by Python's round (half to even), at least 1, at most 20."""
    return min(MAX_MASKED, max(1, int(round(candidates * MASKED_FRACTION))))


def masking_plan(
    token_ids: np.ndarray, tokens: list[str], given: list[int] | None, rng: np.random.Generator, mask_id: int,
    vocab_size: int, special_tokens: SpecialTokens = BERT_SPECIAL_TOKENS,
) -> MaskedExample | None:
    """The masking of one example of ids [n]: every `given` position replaced by [MASK]; without `given`,
    `masked_count` of the positions that are not [CLS]/[SEP], drawn with `rng`, each replaced by [MASK] (80%), a
    random id below `vocab_size` (10%) or left as it is (10%). None when no position can be masked."""
    if given is not None:
        positions = np.sort(np.array(given))
        replacements = np.full(len(positions), mask_id)
    else:
        candidates = np.flatnonzero(~np.isin(np.array(tokens), (special_tokens.cls, special_tokens.sep)))
        if not len(candidates):
            return None
        positions = np.sort(rng.choice(candidates, masked_count(len(candidates)), replace=False))
        draws, random_ids = rng.random(len(positions)), rng.integers(vocab_size, size=len(positions))
        replacements = np.where(draws < MASK_SHARE, mask_id,
                                np.where(draws < MASK_SHARE + RANDOM_SHARE, random_ids, token_ids[positions]))
    input_ids = token_ids.copy()
    input_ids[positions] = replacements
    return MaskedExample(tokens, input_ids, positions, token_ids[positions], special_tokens)


def masked_example(
    example: dict, prepared: PreparedExample, tokenizer: ModelTokenizer, path: Path, index: int, seed: int
) -> MaskedExample | None:
    """The masking of example `index` (validated, see check_masked_positions); its draws come from a generator of
    its own, seeded by (seed, index), so they do not depend on the other examples. None when nothing can be masked."""
    given = example.get("masked_positions")
    if "masked_positions" in example:
        given = check_masked_positions(given, prepared.tokens, path, index, tokenizer.special_tokens)
    if tokenizer.mask_token is None:
        raise InputError(f"{tokenizer.source}: the tokenizer has no mask token, which masking needs")
    token_ids = np.array(tokenizer.convert_tokens_to_ids(prepared.tokens), np.int32)
    rng = np.random.default_rng([seed, index])
    return masking_plan(token_ids, prepared.tokens, given, rng, tokenizer.vocab[tokenizer.mask_token],
                        len(tokenizer.vocab), tokenizer.special_tokens)


def category_weights(tokens: list[str], length: int,
                     special_tokens: SpecialTokens = BERT_SPECIAL_TOKENS) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For one example padded to `length`: query weights [length] (1/n on its n real rows), key weights [length, 3]
    for the gradient (1/|c| on the positions of category c, 0 elsewhere) and key indicators [length, 3] for the
    attention (1 on the positions of category c)."""
    n = len(tokens)
    queries = np.zeros(length, np.float32)
    queries[:n] = 1.0 / n
    names = np.array(tokens)
    is_sep, is_punct = names == special_tokens.sep, np.isin(names, PUNCTUATION)
    indicators = np.zeros((length, len(CATEGORIES)), np.float32)
    indicators[:n] = np.stack([is_sep, is_punct, ~(is_sep | is_punct | (names == special_tokens.cls))], axis=1)
    return queries, indicators / np.maximum(indicators.sum(axis=0), 1.0), indicators


def category_means(values, query_weights, key_weights):
    """sum_i query_weights[b, i] sum_j values[b, l, h, i, j] key_weights[b, j, c]: values [batch, layers, heads,
    query, key], query weights [batch, query], key weights [batch, key, 3] -> [batch, layers, heads, 3]."""
    from keras import ops

    rows = ops.einsum("blhij,bi->blhj", values, query_weights)
    return ops.einsum("blhj,bjc->blhc", rows, key_weights)


def _reduced(losses, attention, gradient, inputs):
    """(losses [batch], gradient importance [batch, L, H, 3], average attention [batch, L, H, 3])."""
    from keras import ops

    importance = category_means(ops.abs(gradient), inputs["query_weights"], inputs["key_weights"])
    return losses, importance, category_means(attention, inputs["query_weights"], inputs["key_indicators"])


def _unreduced(losses, attention, gradient, inputs):
    """(losses [batch], attention and |dL/d alpha| [batch, layers, heads, query, key])."""
    from keras import ops

    return losses, attention, ops.abs(gradient)


def _model_inputs(inputs: dict) -> dict:
    """The arrays that MaskedLanguageModel.call reads."""
    names = ("token_ids", "segment_ids", "input_mask", "attention_offsets", "masked_positions", "masked_ids",
             "masked_weights")
    return {name: inputs[name] for name in names}


def _tensorflow_step(model, finish: Callable) -> Callable[[dict], tuple]:
    """TensorFlow: the gradient of the summed losses with respect to the offsets, by tf.GradientTape, compiled."""
    import tensorflow as tf

    @tf.function(reduce_retracing=True)
    def step(inputs):
        offsets = inputs["attention_offsets"]
        with tf.GradientTape() as tape:
            tape.watch(offsets)
            losses, attention = model(_model_inputs(inputs))
            total = tf.reduce_sum(losses)
        return finish(losses, attention, tape.gradient(total, offsets), inputs)

    return step


def _jax_step(model, finish: Callable) -> Callable[[dict], tuple]:
    """JAX: jax.value_and_grad of the summed losses with respect to the offsets through a stateless call, jitted."""
    import jax

    def total_loss(offsets, trainable, non_trainable, inputs):
        model_inputs = {**_model_inputs(inputs), "attention_offsets": offsets}
        (losses, attention), _ = model.stateless_call(trainable, non_trainable, model_inputs)
        return jax.numpy.sum(losses), (losses, attention)

    @jax.jit
    def step(trainable, non_trainable, inputs):
        gradient_of = jax.value_and_grad(total_loss, has_aux=True)
        (_, (losses, attention)), gradient = gradient_of(inputs["attention_offsets"], trainable, non_trainable, inputs)
        return finish(losses, attention, gradient, inputs)

    return lambda inputs: step([variable.value for variable in model.trainable_variables],
                               [variable.value for variable in model.non_trainable_variables], inputs)


def _torch_step(model, finish: Callable) -> Callable[[dict], tuple]:
    """PyTorch: torch.autograd.grad of the summed losses with respect to the offsets."""
    import torch

    def step(inputs):
        offsets = inputs["attention_offsets"].requires_grad_()
        losses, attention = model({**_model_inputs(inputs), "attention_offsets": offsets})
        (gradient,) = torch.autograd.grad(losses.sum(), offsets)
        with torch.no_grad():
            return finish(losses.detach(), attention.detach(), gradient, inputs)

    return step


def gradient_step(model, reduce: bool = True) -> Callable[[dict], tuple]:
    """A function of a batch's input arrays (GradientImportance.batch_inputs) that returns numpy arrays: with
    `reduce`, losses [batch] and the category means of |dL/d alpha| and of alpha [batch, L, H, 3]; without,
    losses, alpha and |dL/d alpha| [batch, L, H, query, key]. The gradient comes from the Keras backend's own
    automatic differentiation."""
    import keras

    steps = {"tensorflow": _tensorflow_step, "jax": _jax_step, "torch": _torch_step}
    backend = keras.backend.backend()
    if backend not in steps:
        raise InputError(f"gradients need the tensorflow, jax or torch Keras backend, not {backend}")
    step = steps[backend](model, _reduced if reduce else _unreduced)

    def run(inputs: dict[str, np.ndarray]) -> tuple[np.ndarray, ...]:
        tensors = {name: keras.ops.convert_to_tensor(value) for name, value in inputs.items()}
        return tuple(keras.ops.convert_to_numpy(output) for output in step(tensors))

    return run


class GradientImportance:
    """Runs a MaskedLanguageModel on masked examples, batched by length, and returns each example's statistics.

    Batches hold at most `tokens_per_batch` tokens, padding included (by default 16 examples of 128 tokens).
    """

    def __init__(self, model, tokens_per_batch: int = 16 * 128, single_segment: bool = False):
        self.model = model
        self.tokens_per_batch = tokens_per_batch
        self.single_segment = single_segment
        self.step = gradient_step(model)

    def batch_inputs(self, batch: list[MaskedExample]) -> dict[str, np.ndarray]:
        """The model's inputs for a batch padded to its longest example, with zero offsets [batch, L, H, n, n]
        and the category weights of `category_weights`."""
        import keras

        floatx = keras.config.floatx()
        config = self.model.config
        separator = batch[0].special_tokens.sep
        inputs = padded_inputs([example.input_ids for example in batch], [example.tokens for example in batch],
                               self.single_segment, config.type_vocab_size, separator)
        longest = inputs["token_ids"].shape[1]
        most_masked = max(len(example.positions) for example in batch)
        inputs |= {name: np.zeros((len(batch), most_masked), np.int32) for name in ("masked_positions", "masked_ids")}
        inputs["masked_weights"] = np.zeros((len(batch), most_masked), floatx)
        weights = [category_weights(example.tokens, longest, example.special_tokens) for example in batch]
        for name, part in zip(("query_weights", "key_weights", "key_indicators"), zip(*weights, strict=True),
                              strict=True):
            inputs[name] = np.stack(part).astype(floatx)
        for row, example in enumerate(batch):
            masks = len(example.positions)
            inputs["masked_positions"][row, :masks] = example.positions
            inputs["masked_ids"][row, :masks] = example.original_ids
            inputs["masked_weights"][row, :masks] = 1.0 / masks
        shape = (len(batch), config.num_hidden_layers, config.num_attention_heads, longest, longest)
        inputs["attention_offsets"] = np.zeros(shape, floatx)
        return inputs

    def batch_statistics(self, batch: list[MaskedExample]) -> list[ExampleStatistics]:
        """Each example's loss, gradient importance and average attention [L, H, 3] (float64)."""
        losses, importance, attention = self.step(self.batch_inputs(batch))
        return [ExampleStatistics(float(loss), grad.astype(np.float64), attn.astype(np.float64))
                for loss, grad, attn in zip(losses, importance, attention, strict=True)]

    def statistics(self, examples: list[MaskedExample]) -> Iterator[tuple[int, ExampleStatistics]]:
        """(index in `examples`, statistics) of every example, batched by length (so not in input order)."""
        for batch in length_batches([len(example.tokens) for example in examples], self.tokens_per_batch):
            yield from zip(batch, self.batch_statistics([examples[index] for index in batch]), strict=True)
