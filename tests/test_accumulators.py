"""Accumulators as partial -> merge -> result: any split of the examples, each partial sent through a pickle of its
state, merged in file order, gives the single pass's result (floats to 1e-12 relative, counts and kept examples
exactly); on random examples, a hand-checked sentence and, marked slow, real data."""

import dataclasses
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import run_script
from coref_fixtures import random_window
from syntax_fixtures import make_examples

import utils
from analysis.coref import scoring as coref_scoring
from analysis.engines import maps
from analysis.general import head_distances
from analysis.general import statistics as general_statistics
from analysis.report import page as report_page
from analysis.syntax import scoring as syntax_scoring
from analysis.syntax.dependency_data import IndexedExamples, RelationExamples, check_dependency_example

SEEDS = range(8)
Examples = list[tuple[int, dict, np.ndarray]]  # (index in the file, example, maps), as maps.feed gives them


def random_parts(rng: np.random.Generator, n_examples: int) -> list[slice]:
    """1 to 5 consecutive parts covering `n_examples`, cut at random points (empty parts and parts of one example
    come up often)."""
    cuts = np.sort(rng.integers(0, n_examples + 1, size=int(rng.integers(0, 5))))
    bounds = [0, *cuts.tolist(), n_examples]
    return [slice(start, stop) for start, stop in zip(bounds, bounds[1:], strict=False)]


def single_pass(make: Callable[[], maps.Accumulator], examples: Examples) -> maps.Accumulator:
    """A fresh accumulator fed every example in order."""
    accumulator = make()
    for example in examples:
        accumulator.add(*example)
    return accumulator


def merge_states(cls: type, states: Iterable[dict], **context: Any) -> maps.Accumulator:
    """The partials `states` (of `cls`, in file order) rebuilt with `cls.from_state(state, **context)` and merged
    into the first, as streaming.merge_partials does; ValueError when there is none."""
    partials = (cls.from_state(state, **context) for state in states)
    merged = next(partials, None)
    if merged is None:
        raise ValueError("no partial to merge")
    for partial in partials:
        merged.merge(partial)
    return merged


def merged_parts(make: Callable[[], maps.Accumulator], examples: Examples, parts: list[slice], tmp_path: Path,
                 **context) -> maps.Accumulator:
    """One accumulator per part, each state written with utils.write_pickle and read back with the restricted
    unpickler, merged in order by maps.merge_states."""
    states = []
    for number, part in enumerate(parts):
        path = tmp_path / f"partial-{number}.pkl"
        utils.write_pickle(path, single_pass(make, examples[part]).state())
        states.append(utils.read_pickle(path))
    return merge_states(type(make()), states, **context)


def feed_order(raw: list[dict]) -> Examples:
    """Examples as `feed` gives them: every third index left out, as skipped examples are."""
    return [(index + index // 2, example, example["attns"]) for index, example in enumerate(raw)]


def token_examples(rng: np.random.Generator, n_examples: int, grid: tuple[int, int] = (2, 3)) -> Examples:
    """Token-level examples of 3 to 12 tokens with [CLS], [SEP] and punctuation, random row-stochastic maps."""
    raw = []
    for _ in range(n_examples):
        n = int(rng.integers(3, 13))
        tokens = ["[CLS]", *rng.choice(["a", "b", ".", ",", "[SEP]"], n - 2).tolist(), "[SEP]"]
        raw.append({"tokens": tokens, "attns": rng.dirichlet(np.ones(n) * 0.5, size=(*grid, n)).astype(np.float16)})
    return feed_order(raw)


def assert_same_fields(first: object, second: object) -> None:
    """Two dataclasses (or plain values) equal field by field, arrays exactly."""
    if dataclasses.is_dataclass(first):
        assert type(first) is type(second)
        for field in dataclasses.fields(first):
            assert_same_fields(getattr(first, field.name), getattr(second, field.name))
    elif isinstance(first, np.ndarray):
        assert first.dtype == second.dtype
        np.testing.assert_array_equal(first, second)
    elif isinstance(first, list | tuple):
        assert len(first) == len(second)
        for one, other in zip(first, second, strict=True):
            assert_same_fields(one, other)
    else:
        assert first == second


# ---------------------------------------------------------------------------- general statistics, head distances


def assert_statistics_close(merged: general_statistics.GeneralStatistics,
                            expected: general_statistics.GeneralStatistics) -> None:
    """Counts equal, every statistic to 1e-12 relative."""
    assert merged.n_examples == expected.n_examples
    for key, values in expected.avg_attn.items():
        np.testing.assert_allclose(merged.avg_attn[key], values, rtol=1e-12)
    np.testing.assert_allclose(merged.entropy, expected.entropy, rtol=1e-12)
    np.testing.assert_allclose(merged.entropy_from_cls, expected.entropy_from_cls, rtol=1e-12)
    np.testing.assert_allclose(merged.uniform_entropy, expected.uniform_entropy, rtol=1e-12)


@pytest.mark.parametrize("seed", SEEDS)
def test_statistics_of_any_split(seed, tmp_path):
    rng = np.random.default_rng(seed)
    examples = token_examples(rng, int(rng.integers(1, 15)))
    parts = random_parts(rng, len(examples))
    merged = merged_parts(general_statistics.StatisticsAccumulator, examples, parts, tmp_path)
    assert_statistics_close(merged.result(), single_pass(general_statistics.StatisticsAccumulator, examples).result())


def test_empty_partials_merge_into_nothing_or_anything(tmp_path):
    examples = token_examples(np.random.default_rng(0), 3)
    empty = general_statistics.StatisticsAccumulator().state()
    nothing = merge_states(general_statistics.StatisticsAccumulator, [empty, empty])
    assert nothing.n_examples == 0 and nothing.sums is None
    parts = [slice(0, 0), slice(0, 3), slice(3, 3)]
    merged = merged_parts(general_statistics.StatisticsAccumulator, examples, parts, tmp_path)
    assert_statistics_close(merged.result(), single_pass(general_statistics.StatisticsAccumulator, examples).result())
    with pytest.raises(ValueError, match="no partial"):
        merge_states(general_statistics.StatisticsAccumulator, [])


def test_a_rebuilt_partial_takes_further_examples(tmp_path):
    examples = token_examples(np.random.default_rng(1), 6)
    rebuilt = general_statistics.StatisticsAccumulator.from_state(single_pass(general_statistics.StatisticsAccumulator,
                                                                   examples[:4]).state())
    for example in examples[4:]:
        rebuilt.add(*example)
    assert_statistics_close(rebuilt.result(), single_pass(general_statistics.StatisticsAccumulator, examples).result())


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("example_index", [None, 4])
def test_example_keeper_keeps_the_earliest(seed, example_index, tmp_path):
    rng = np.random.default_rng(seed)
    examples = token_examples(rng, int(rng.integers(1, 10)))
    make = lambda: general_statistics.ExampleKeeper(example_index)  # noqa: E731
    merged = merged_parts(make, examples, random_parts(rng, len(examples)), tmp_path)
    expected = single_pass(make, examples)
    assert_same_fields(merged.shown, expected.shown)
    assert (expected.shown is None) == (example_index == 4 and all(index != 4 for index, _, _ in examples))


@pytest.mark.parametrize("seed", SEEDS)
def test_head_distances_of_any_split(seed, tmp_path):
    rng = np.random.default_rng(seed)
    examples = token_examples(rng, int(rng.integers(1, 12)))
    make = lambda: head_distances.HeadDistances((2, 3))  # noqa: E731
    merged = merged_parts(make, examples, random_parts(rng, len(examples)), tmp_path, use_keras=False)
    expected = single_pass(make, examples)
    assert (merged.n_examples, merged.n_rows) == (expected.n_examples, expected.n_rows)
    np.testing.assert_allclose(merged.result(), expected.result(), rtol=1e-12)


# ---------------------------------------------------------------------------- the head view's examples


@pytest.mark.parametrize("seed", range(40))
def test_head_view_keeps_what_one_pass_keeps(seed, tmp_path):
    rng = np.random.default_rng(seed)
    examples = token_examples(rng, int(rng.integers(1, 12)), grid=(1, 2))
    indices = [index for index, _, _ in examples]
    first_index = [None, int(rng.choice(indices)), indices[-1] + 1][seed % 3]  # absent, anywhere, never seen
    options = {"first_index": first_index, "max_examples": int(rng.integers(1, 6)),
               "max_tokens": int(rng.integers(3, 13)), "max_weights": int(rng.integers(1, 400))}
    make = lambda: report_page.HeadViewExamples(**options)  # noqa: E731
    merged = merged_parts(make, examples, random_parts(rng, len(examples)), tmp_path)
    expected = single_pass(make, examples)
    assert merged.to_json() == expected.to_json()
    assert merged.n_seen == expected.n_seen == len(examples)
    shown = [example["index"] for example in expected.to_json()["examples"]]
    if first_index in indices:
        assert shown[0] == first_index


def test_head_view_budget_counts_in_file_order():
    # Sizes (1 layer, 2 heads, n x n): 32, 72, 18, 128; Figure 1's example (index 2) always shown, first.
    rng = np.random.default_rng(0)
    examples = [(index, {"tokens": ["t"] * n}, rng.dirichlet(np.ones(n), size=(1, 2, n)))
                for index, n in enumerate([4, 6, 3, 8])]
    kept = single_pass(lambda: report_page.HeadViewExamples(first_index=2, max_examples=4, max_weights=60), examples)
    # Example 0 (32) is the first shown; 1 (32 + 72 > 60) is left out; 2 is Figure 1's (50); 3 is no candidate.
    assert [example["index"] for example in kept.to_json()["examples"]] == [2, 0]
    assert kept.to_json()["note"].startswith("Showing 2 of 4 examples")


# ---------------------------------------------------------------------------- dependency syntax


def dependency_examples(seed: int, n_examples: int) -> Examples:
    """Random word-level dependency examples, some with a possessive the `poss` rule applies to."""
    raw = make_examples(seed, n_examples)
    for example in raw[::3]:
        example["relns"][0], example["words"][1] = "poss", "'s"
    for example in raw:
        check_dependency_example(example, example["attns"])
    return feed_order(raw)


def assert_relation_examples_equal(merged: RelationExamples, expected: RelationExamples) -> None:
    """The same relations in the same order, the same sentences, shared by the same relations."""
    assert list(merged.examples) == list(expected.examples)
    for relation, example in expected.examples.items():
        assert_same_fields(merged.examples[relation], example)
    sharing = [[other is example for other in keeper.examples.values()] for keeper in (merged, expected)
               for example in keeper.examples.values()]
    assert sharing[:len(expected.examples)] == sharing[len(expected.examples):]


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("universal", [False, True])
def test_dependency_counts_of_any_split(seed, universal, tmp_path):
    rng = np.random.default_rng(seed)
    examples = dependency_examples(seed, int(rng.integers(1, 20)))
    make = lambda: syntax_scoring.DependencyAccumulator(universal)  # noqa: E731
    merged = merged_parts(make, examples, random_parts(rng, len(examples)), tmp_path).result()
    expected = single_pass(make, examples).result()
    assert_same_fields(merged, expected)
    assert merged.n_words == expected.words.sum() == sum(len(example["words"]) for _, example, _ in examples)
    assert syntax_scoring.accuracy_table(merged, min_count=1) == syntax_scoring.accuracy_table(expected, min_count=1)


@pytest.mark.parametrize("seed", SEEDS)
def test_figure_sentences_of_any_split(seed, tmp_path):
    rng = np.random.default_rng(seed)
    examples = dependency_examples(seed, int(rng.integers(1, 20)))
    parts = random_parts(rng, len(examples))
    make = lambda: RelationExamples(max_words=6)  # noqa: E731
    assert_relation_examples_equal(merged_parts(make, examples, parts, tmp_path), single_pass(make, examples))
    wanted = rng.choice([index for index, _, _ in examples], size=min(3, len(examples)), replace=False).tolist()
    make_indexed = lambda: IndexedExamples(wanted, purpose="a test")  # noqa: E731
    merged, expected = merged_parts(make_indexed, examples, parts, tmp_path), single_pass(make_indexed, examples)
    assert sorted(merged.result("file")) == sorted(expected.result("file")) == sorted(wanted)
    for index, example in expected.result("file").items():
        assert_same_fields(merged.result("file")[index], example)


# "dogs bark ." (heads 2, 0, 2; nsubj, root, punct). Positions: 0 [CLS], 1 dogs, 2 bark, 3 ".", 4 [SEP].
# Head 0, dep->head (argmax of a row over the other words): dogs -> 2 (right), bark -> 1, "." -> 2 (right);
# head->dep (argmax of a column over the other words' rows): dogs <- 2 (right), bark <- 1, "." <- 2 (right).
HEAD_0 = [[0.2] * 5, [0.1, 0.0, 0.7, 0.1, 0.1], [0.1, 0.6, 0.0, 0.2, 0.1], [0.1, 0.1, 0.6, 0.0, 0.2], [0.2] * 5]
# Head 1, dep->head: dogs -> 3, bark -> 1, "." -> 2 (right); head->dep: dogs <- 2 (right), bark <- 3, "." <- 1.
HEAD_1 = [[0.2] * 5, [0.5, 0.0, 0.2, 0.3, 0.0], [0.1, 0.8, 0.0, 0.1, 0.0], [0.1, 0.1, 0.7, 0.0, 0.1], [0.2] * 5]


def test_hand_checked_sentence_counts_in_two_partials(tmp_path):
    sentence = {"words": ["dogs", "bark", "."], "heads": [2, 0, 2], "relns": ["nsubj", "root", "punct"],
                "tokens": ["[CLS]", "dogs", "bark", ".", "[SEP]"], "attns": np.array([[HEAD_0, HEAD_1]], np.float16)}
    examples = feed_order([sentence, sentence])
    counts = merged_parts(syntax_scoring.DependencyAccumulator, examples, [slice(0, 1), slice(1, 2)], tmp_path).result()
    assert counts.relations == ["nsubj", "punct", "root"]
    np.testing.assert_array_equal(counts.words, [2, 2, 2])
    # Rows: dep->head of heads 0 and 1, then head->dep of heads 0 and 1; columns nsubj, punct, root; twice.
    np.testing.assert_array_equal(counts.head_correct, 2 * np.array([[1, 1, 0], [0, 1, 0], [1, 1, 0], [1, 0, 0]]))
    # Offsets -3, -2, -1, +1, +2, +3 predict [0 0 0], [0 0 1], [0 1 2], [2 3 3], [3 3 3], [3 3 3] for gold [2 0 2].
    expected_baselines = [[0, 0, 1], [0, 0, 1], [0, 1, 0], [1, 0, 0], [0, 0, 0], [0, 0, 0]]
    np.testing.assert_array_equal(counts.baseline_correct, 2 * np.array(expected_baselines))
    # Right-branching predicts [2, 3, 0]: right on dogs; "." is not scored.
    assert (counts.right_branching_scored, counts.right_branching_correct) == (4, 2)
    assert (counts.n_examples, counts.n_words, counts.grid) == (2, 6, (1, 2))
    assert syntax_scoring.right_branching_uas(counts) == 0.5


# ---------------------------------------------------------------------------- coreference


def assert_coref_equal(merged: coref_scoring.CorefAccumulator, expected: coref_scoring.CorefAccumulator) -> None:
    """The same grid and exactly the same counts."""
    assert merged.grid == expected.grid
    np.testing.assert_array_equal(merged.counts, expected.counts)
    np.testing.assert_array_equal(merged.baseline_correct, expected.baseline_correct)
    np.testing.assert_array_equal(merged.head_correct, expected.head_correct)
    assert merged.counts.dtype == merged.head_correct.dtype == np.int64


@pytest.mark.parametrize("seed", SEEDS)
def test_coreference_counts_and_mentions_of_any_split(seed, tmp_path):
    rng = np.random.default_rng(seed)
    examples = feed_order([random_window(rng, int(rng.integers(2, 12))) for _ in range(int(rng.integers(1, 15)))])
    parts = random_parts(rng, len(examples))
    expected = single_pass(coref_scoring.CorefAccumulator, examples)
    assert_coref_equal(merged_parts(coref_scoring.CorefAccumulator, examples, parts, tmp_path), expected)
    mentions = merged_parts(coref_scoring.MentionExamples, examples, parts, tmp_path).result()
    assert_same_fields(mentions, single_pass(coref_scoring.MentionExamples, examples).result())


# ---------------------------------------------------------------------------- probe features


@pytest.mark.parametrize("seed", SEEDS[:3])
def test_probe_features_of_any_split(seed, tmp_path):
    from analysis.syntax import probes  # imports Keras

    rng = np.random.default_rng(seed)
    examples = dependency_examples(seed, int(rng.integers(1, 12)))
    glove = probes.Glove({"the": 0, "cat": 1}, rng.normal(size=(2, 4)).astype(np.float32))
    make = lambda: probes.ProbeFeatures(glove)  # noqa: E731
    merged = merged_parts(make, examples, random_parts(rng, len(examples)), tmp_path, glove=glove)
    assert merged.glove is glove
    assert_same_fields(merged.result(), single_pass(make, examples).result())


# ---------------------------------------------------------------------------- real data


def extracted(tmp_path: Path, examples_json: Path) -> Examples:
    """The examples of `examples_json` with word-level (when they have words) maps of the embedded model."""
    result = run_script("extract_attention.py", "--preprocessed-data-file", str(examples_json),
                        *(["--word-level"] if "words" in examples_json.read_text(encoding="utf-8")[:2000] else []),
                        "--outfile", str(tmp_path / "attn.pkl"))
    assert result.returncode == 0, result.stderr
    return list(maps.iter_attention(tmp_path / "attn.pkl"))


def first_sentences(conllu: Path, n_sentences: int, destination: Path) -> None:
    """Copy the first `n_sentences` sentences (blank-line separated blocks) of a CoNLL-U file."""
    blocks = conllu.read_text(encoding="utf-8").split("\n\n")[:n_sentences]
    destination.write_text("\n\n".join(blocks) + "\n\n", encoding="utf-8")


def split_runs(examples: Examples, seed: int = 0) -> list[list[slice]]:
    """Three splits: one part, every example alone, and random parts."""
    single = [slice(index, index + 1) for index in range(len(examples))]
    return [[slice(0, len(examples))], single, random_parts(np.random.default_rng(seed), len(examples))]


@pytest.mark.slow
def test_ud_ewt_dev_counts_of_any_split(shared_data, tmp_path):
    first_sentences(shared_data / "ud-english-ewt" / "dev.conllu", 60, tmp_path / "dev.conllu")
    result = run_script("preprocess_depparse.py", "--data-dir", str(tmp_path), "--splits", "dev")
    assert result.returncode == 0, result.stderr
    examples = extracted(tmp_path, tmp_path / "dev.json")
    assert len(examples) == 60
    expected = single_pass(syntax_scoring.DependencyAccumulator, examples).result()
    assert expected.n_words > 500 and "nmod:poss" in expected.relations
    for parts in split_runs(examples):
        merged = merged_parts(syntax_scoring.DependencyAccumulator, examples, parts, tmp_path)
        assert_same_fields(merged.result(), expected)
    assert_relation_examples_equal(merged_parts(RelationExamples, examples, parts, tmp_path),
                                   single_pass(RelationExamples, examples))


@pytest.mark.slow
def test_gum_dev_coreference_counts_of_any_split(shared_data, tmp_path):
    text = (shared_data / "gum-coref" / "dev.conllu").read_text(encoding="utf-8")
    documents = text.split("# newdoc")
    (tmp_path / "dev.conllu").write_text("# newdoc".join(documents[:4]), encoding="utf-8")  # three documents
    result = run_script("preprocess_coref.py", "--data-file", str(tmp_path / "dev.conllu"))
    assert result.returncode == 0, result.stderr
    examples = extracted(tmp_path, tmp_path / "dev.json")
    expected = single_pass(coref_scoring.CorefAccumulator, examples)
    assert expected.counts[0] > 100
    for parts in split_runs(examples):
        assert_coref_equal(merged_parts(coref_scoring.CorefAccumulator, examples, parts, tmp_path), expected)
    assert_same_fields(merged_parts(coref_scoring.MentionExamples, examples, parts, tmp_path).result(),
                       single_pass(coref_scoring.MentionExamples, examples).result())


@pytest.mark.slow
def test_wikipedia_statistics_and_distances_of_any_split(shared_data, tmp_path):
    shutil.copy(shared_data / "wikipedia-sample" / "unlabeled.txt", tmp_path / "unlabeled.txt")
    result = run_script("preprocess_unlabeled.py", "--data-file", str(tmp_path / "unlabeled.txt"), "--num-docs", "30")
    assert result.returncode == 0, result.stderr
    examples = extracted(tmp_path, tmp_path / "unlabeled.json")
    assert len(examples) == 30
    grid = examples[0][2].shape[:2]
    makers = {"distances": lambda: head_distances.HeadDistances(grid), "head view": report_page.HeadViewExamples,
              "statistics": general_statistics.StatisticsAccumulator, "keeper": general_statistics.ExampleKeeper}
    expected = {name: single_pass(make, examples) for name, make in makers.items()}
    for parts in split_runs(examples):
        merged = {name: merged_parts(make, examples, parts, tmp_path) for name, make in makers.items()}
        assert_statistics_close(merged["statistics"].result(), expected["statistics"].result())
        np.testing.assert_allclose(merged["distances"].result(), expected["distances"].result(), rtol=1e-12)
        assert merged["head view"].to_json() == expected["head view"].to_json()
        assert_same_fields(merged["keeper"].shown, expected["keeper"].shown)
