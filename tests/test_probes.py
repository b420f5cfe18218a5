"""The attention probes: features, GloVe lookup, batching, and that each probe learns a planted signal."""

import dataclasses

import numpy as np
import pytest
from syntax_fixtures import make_example, make_examples

import utils
from analysis.engines import maps
from analysis.options import ProbeSettings
from analysis.syntax import probes
from analysis.syntax.dependency_data import check_dependency_example

MAX_PAIRS = 400
FAST = ProbeSettings(epochs=8, patience=3, learning_rate=0.1, holdout_fraction=0.2, max_pairs=MAX_PAIRS)

pytestmark = pytest.mark.slow


def test_attention_features_merge_cls_and_sep_into_root():
    attns = np.random.default_rng(0).dirichlet(np.ones(4), size=(1, 2, 4)).astype(np.float16)  # 2 words
    features = probes.attention_features(attns)
    assert features.shape == (2, 3, 4) and features.dtype == np.float16
    maps = attns.reshape(2, 4, 4).astype(np.float64)
    for k in range(2):
        for i in (1, 2):
            for j in (0, 1, 2):
                if j == 0:
                    to_candidate = maps[k, i, 0] + maps[k, i, 3]
                    from_candidate = (maps[k, 0, i] + maps[k, 3, i]) / 2
                else:
                    to_candidate, from_candidate = maps[k, i, j], maps[k, j, i]
                assert features[i - 1, j, k] == pytest.approx(to_candidate, abs=2e-3)
                assert features[i - 1, j, 2 + k] == pytest.approx(from_candidate, abs=2e-3)


def test_glove_lookup_lowercases_and_zeroes_unknown_words():
    glove = probes.Glove(rows={"the": 0, "cat": 1}, vectors=np.array([[1.0, 2.0], [3.0, 4.0]], np.float32))
    np.testing.assert_array_equal(glove.lookup(["The", "dog", "cat"]), [[1, 2], [0, 0], [3, 4]])


def test_load_glove_reads_the_package():
    glove = probes.load_glove()
    assert glove.vectors.shape == (400_000, 50)
    assert np.linalg.norm(glove.vectors, axis=1).mean() == pytest.approx(1.0, rel=1e-4)
    assert np.abs(glove.lookup(["The"])[0]).sum() > 0


def _probe_data(tmp_path, name, examples):
    """ProbeData of `examples`, through a pickle, with a tiny stand-in for GloVe."""
    utils.write_pickle(tmp_path / name, examples)
    words = sorted({word.lower() for example in examples for word in example["words"]})
    vectors = np.random.default_rng(1).normal(size=(len(words), 5)).astype(np.float32)
    features = probes.ProbeFeatures(probes.Glove({word: row for row, word in enumerate(words)}, vectors))
    maps.feed(maps.open_attention(tmp_path / name), [features], "features", check=check_dependency_example)
    return features.result()


def test_batches_hold_every_sentence_once_within_the_budget(tmp_path):
    data = _probe_data(tmp_path, "data.pkl", make_examples(0, 30))
    assert data.grid == (2, 3)
    batches = probes.make_batches(data, np.arange(30), MAX_PAIRS)
    assert sum(len(batch.heads) for batch in batches) == 30
    assert sum(batch.word_mask.sum() for batch in batches) == data.lengths().sum()
    for batch in batches:
        size, longest = batch.heads.shape
        assert size == 1 or size * longest * (longest + 1) <= MAX_PAIRS
    batch = probes.pad_batch(data, np.array([0]))
    n = data.lengths()[0]
    expected_mask = np.ones((n, n + 1)) - np.eye(n, n + 1, k=1)  # ROOT and every other word
    np.testing.assert_array_equal(batch.inputs["candidate_mask"][0], expected_mask)


def _train_and_score(model, train, dev):
    """Dev UAS of `model` trained on `train`."""
    fit_batches, holdout_batches = probes.split_batches(train, FAST)
    probes.train_probe(model, fit_batches, holdout_batches, FAST)
    return probes.probe_uas(model, probes.make_batches(dev, np.arange(len(dev.heads)), MAX_PAIRS))


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    """Train and dev data in which head (1, 2) points at every word's gold head."""
    tmp_path = tmp_path_factory.mktemp("planted")
    train = _probe_data(tmp_path, "train.pkl", make_examples(0, 60, planted=(1, 2)))
    dev = _probe_data(tmp_path, "dev.pkl", make_examples(1, 20, planted=(1, 2)))
    return train, dev


def test_attention_only_probe_finds_the_planted_head(planted):
    assert _train_and_score(probes.AttentionProbe(12), *planted) > 0.95


def test_attention_glove_probe_finds_the_planted_head(planted):
    assert _train_and_score(probes.AttentionGloveProbe(12, 5), *planted) > 0.95


def test_training_is_reproducible(planted):
    train, _ = planted
    fit_batches, holdout_batches = probes.split_batches(train, FAST)
    weights = []
    for _ in range(2):
        model = probes.AttentionProbe(12)
        probes.train_probe(model, fit_batches, holdout_batches, dataclasses.replace(FAST, epochs=2))
        weights.append(model.get_weights()[0])
    np.testing.assert_array_equal(*weights)
    assert np.abs(weights[0]).sum() > 0


def test_words_distances_probe_learns_right_branching_trees(tmp_path):
    def right_branching(seed, n_examples):
        """Examples whose every word's head is the next word, the last word's the root."""
        rng = np.random.default_rng(seed)
        return [make_example(rng, n, heads=[*range(2, n + 1), 0]) for n in rng.integers(3, 9, n_examples).tolist()]

    train = _probe_data(tmp_path, "train.pkl", right_branching(0, 60))
    dev = _probe_data(tmp_path, "dev.pkl", right_branching(1, 20))
    assert _train_and_score(probes.WordsDistancesProbe(5), train, dev) > 0.95


PAPER = ProbeSettings(regime="paper")


def _chance_uas(data):
    """Expected UAS of a uniform guess among each scored word's candidates (ROOT and the other words)."""
    return float(np.mean([1 / len(heads) for heads, scored in zip(data.heads, data.scored, strict=True)
                          for _ in range(int(scored.sum()))]))


def test_paper_regime_takes_one_step_per_sentence_in_file_order(planted):
    train, dev = planted
    fit_batches, holdout_batches = probes.split_batches(train, PAPER)
    assert holdout_batches == []
    assert [batch.heads.shape[0] for batch in fit_batches] == [1] * len(train.heads)
    for batch, heads in zip(fit_batches, train.heads, strict=True):
        np.testing.assert_array_equal(batch.heads[0], heads)
    model = probes.AttentionProbe(12)
    steps = probes.train_probe_as_paper(model, fit_batches)
    assert steps == len(train.heads)  # one epoch, one optimizer step per sentence
    assert float(model.optimizer.learning_rate) == pytest.approx(0.002)
    dev_batches = probes.make_batches(dev, np.arange(len(dev.heads)), MAX_PAIRS)
    assert probes.probe_uas(model, dev_batches) > max(0.9, 2 * _chance_uas(dev))


def test_paper_regime_evaluates_the_three_probes(planted):
    train, dev = planted
    fit_batches, holdout_batches = probes.split_batches(train, PAPER)
    dev_batches = probes.make_batches(dev, np.arange(len(dev.heads)), MAX_PAIRS)
    scores = probes.evaluate_probes(fit_batches, holdout_batches, dev_batches, train.grid, 5, PAPER)
    assert set(scores) == {"words_distances", "attention_only", "attention_glove"}
    assert scores["attention_only"] > 0.9  # one epoch of 60 steps at 0.002 from zero: the planted head wins
    assert scores["attention_glove"] > 3 * _chance_uas(dev)  # more weights, fewer steps each: above chance


def test_distance_features_are_the_originals():
    candidate_mask = probes.pad_batch(  # two sentences, of 3 and 2 words, padded to 3
        probes.ProbeData(heads=[np.zeros(3, np.int32), np.zeros(2, np.int32)],
                         attention=[np.zeros((3, 4, 2), np.float16), np.zeros((2, 3, 2), np.float16)],
                         word_vectors=[np.zeros((3, 1), np.float32), np.zeros((2, 1), np.float32)],
                         scored=[np.ones(3, bool), np.ones(2, bool)]),
        np.array([0, 1])).inputs["candidate_mask"]
    features = np.asarray(probes.distance_features(candidate_mask))
    assert features.shape == (2, 3, 4, 8)
    for sentence, n in enumerate((3, 2)):  # the original's make_distance_features, written plainly
        for i in range(n):
            for j in range(n):
                expected = [(j - i) / n if i < j else 0, (i - j) / n if j < i else 0,
                            j == i, j == i - 1, j == i + 1, j == i - 2, j == i + 2, 0]
                np.testing.assert_allclose(features[sentence, i, j + 1], expected, atol=1e-7)
            np.testing.assert_array_equal(features[sentence, i, 0], [0, 0, 0, 0, 0, 0, 0, 1])  # ROOT


def test_distance_features_probe_learns_right_branching_trees_as_paper(tmp_path):
    rng = np.random.default_rng(0)
    examples = [make_example(rng, n, heads=[*range(2, n + 1), 0]) for n in rng.integers(3, 9, 300).tolist()]
    train = _probe_data(tmp_path, "train.pkl", examples[:240])
    dev = _probe_data(tmp_path, "dev.pkl", examples[240:])
    fit_batches, _ = probes.split_batches(train, PAPER)
    model = probes.DistanceFeaturesProbe(5)
    assert probes.train_probe_as_paper(model, fit_batches) == 240
    uas = probes.probe_uas(model, probes.make_batches(dev, np.arange(len(dev.heads)), MAX_PAIRS))
    assert uas > max(0.9, 2 * _chance_uas(dev))


def test_paper_regime_is_reproducible(planted):
    train, _ = planted
    fit_batches, _ = probes.split_batches(train, PAPER)
    weights = []
    for _ in range(2):
        model = probes.DistanceFeaturesProbe(5, seed=3)
        probes.train_probe_as_paper(model, fit_batches[:10])
        weights.append(model.get_weights())
    for first, second in zip(*weights, strict=True):
        np.testing.assert_array_equal(first, second)
