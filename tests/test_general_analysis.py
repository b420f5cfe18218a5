"""General analysis: statistics against hand-computed values and a float64 reference, labels, MDS, figures, script."""

import json
import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
from conftest import assert_one_line_error, input_error, run_script, write_shards
from matplotlib import pyplot as plt
from matplotlib.collections import LineCollection
from scipy.spatial import distance_matrix

import general_analysis
import utils
from analysis.engines import maps
from analysis.general import behaviour
from analysis.general import pipeline as general_pipeline
from analysis.general import statistics as general_statistics
from analysis.heads import HeadGrid, pair_label
from analysis.options import GeneralOptions
from analysis.report import figures

KEYS = ("cls", "sep", "punct", "self", "next", "prev", "sep_sep", "rest_sep")


def one_hot_entropy(n: int) -> float:
    """Entropy (nats) of a one-hot row of length n after the smoothing of docs/definitions.md."""
    peak, floor = 0.9999 + 0.0001 / n, 0.0001 / n
    return -(peak * math.log(peak) + (n - 1) * floor * math.log(floor))


def one_hot_maps(columns: list[list[int]]) -> np.ndarray:
    """float16 maps `[1, heads, n, n]`; head h's row i attends only to column columns[h][i]."""
    n = len(columns[0])
    maps = np.zeros((1, len(columns), n, n), dtype=np.float16)
    for head, targets in enumerate(columns):
        maps[0, head, np.arange(n), targets] = 1
    return maps


def hand_examples() -> tuple[list[dict], dict[str, np.ndarray]]:
    """Three crafted 1 x 2-head examples (one [SEP]; three [SEP]; none) and their hand-computed means."""
    uniform = np.full((1, 1, 4, 4), 0.25, dtype=np.float16)
    examples = [
        # head 1: each row to the next token (the last to itself); head 2: uniform.
        {"tokens": ["[CLS]", "a", ".", "[SEP]"], "attns": np.concatenate([one_hot_maps([[1, 2, 3, 3]]), uniform], 1)},
        # head 1: every row to position 1 ([SEP]); head 2: each row to itself.
        {"tokens": ["[CLS]", "[SEP]", "x", "[SEP]", "[SEP]"], "attns": one_hot_maps([[1] * 5, [0, 1, 2, 3, 4]])},
        # no [SEP]; head 1: every row to [CLS]; head 2: every row to ','.
        {"tokens": ["[CLS]", ",", "y"], "attns": one_hot_maps([[0, 0, 0], [1, 1, 1]])},
    ]
    per_example = [
        {
            "cls": (0, 0.25),
            "sep": (0.5, 0.25),
            "punct": (0.25, 0.25),
            "self": (0.25, 0.25),
            "next": (0.75, 0.1875),
            "prev": (0, 0.1875),
            "sep_sep": (1, 0.25),
            "rest_sep": (1 / 3, 0.25),
            "entropy": (one_hot_entropy(4), math.log(4)),
            "entropy_from_cls": (one_hot_entropy(4), math.log(4)),
        },
        {
            "cls": (0, 0.2),
            "sep": (1, 0.6),
            "punct": (0, 0),
            "self": (0.2, 1),
            "next": (0.2, 0),
            "prev": (0.2, 0),
            "sep_sep": (1, 1),
            "rest_sep": (1, 0),
            "entropy": (one_hot_entropy(5),) * 2,
            "entropy_from_cls": (one_hot_entropy(5),) * 2,
        },
        {
            "cls": (1, 0),
            "sep": (0, 0),
            "punct": (0, 1),
            "self": (1 / 3, 1 / 3),
            "next": (0, 1 / 3),
            "prev": (1 / 3, 1 / 3),
            "sep_sep": (0, 0),
            "rest_sep": (0, 0),
            "entropy": (one_hot_entropy(3),) * 2,
            "entropy_from_cls": (one_hot_entropy(3),) * 2,
        },
    ]
    expected = {key: np.mean([values[key] for values in per_example], axis=0)[None] for key in per_example[0]}
    expected["uniform_entropy"] = (math.log(4) + math.log(5) + math.log(3)) / 3
    return examples, expected


def reference_statistics(examples: list[dict]) -> dict:
    """docs/definitions.md evaluated plainly in float64 with loops."""
    n_layers, n_heads = examples[0]["attns"].shape[:2]
    sums = {key: np.zeros((n_layers, n_heads)) for key in (*KEYS, "entropy", "entropy_from_cls")}
    uniform = 0.0
    for example in examples:
        tokens, maps = example["tokens"], example["attns"].astype(np.float64)
        n = len(tokens)
        seps = [i for i, token in enumerate(tokens) if token == "[SEP]"]
        clss = [i for i, token in enumerate(tokens) if token == "[CLS]"]
        puncts = [i for i, token in enumerate(tokens) if token in (".", ",")]
        uniform += math.log(n)
        for layer in range(n_layers):
            for head in range(n_heads):
                a = maps[layer, head]
                value = {
                    "cls": sum(a[i, j] for i in range(n) for j in clss) / n,
                    "sep": sum(a[i, j] for i in range(n) for j in seps) / n,
                    "punct": sum(a[i, j] for i in range(n) for j in puncts) / n,
                    "self": sum(a[i, i] for i in range(n)) / n,
                    "next": sum(a[i, i + 1] for i in range(n - 1)) / n,
                    "prev": sum(a[i, i - 1] for i in range(1, n)) / n,
                    "sep_sep": sum(a[i, j] for i in seps for j in seps) / len(seps) if seps else 0.0,
                    "rest_sep": (
                        sum(a[i, j] for i in range(n) if i not in seps for j in seps) / (n - len(seps))
                        if n > len(seps)
                        else 0.0
                    ),
                }
                smoothed = 0.9999 * a + 0.0001 / n
                rows = [-sum(p * math.log(p) for p in smoothed[i]) for i in range(n)]
                value["entropy"] = sum(rows) / n
                value["entropy_from_cls"] = rows[0]
                for key, number in value.items():
                    sums[key][layer, head] += number
    reference = {key: total / len(examples) for key, total in sums.items()}
    reference["uniform_entropy"] = uniform / len(examples)
    return reference


def random_examples(rng: np.random.Generator, n_layers: int, n_heads: int, count: int) -> list[dict]:
    """Examples of varied length with random row-stochastic float16 maps, [CLS] first, [SEP]s, '.' and ','."""
    examples = []
    for index in range(count):
        n = int(rng.integers(2, 24))
        tokens = ["[CLS]", *rng.choice(["a", "b", ".", ",", "[SEP]", "c"], size=n - 1).tolist()]
        if index % 3 == 0:
            tokens[-1] = "[SEP]"
        maps = rng.dirichlet(np.full(n, 0.3), size=(n_layers, n_heads, n)).astype(np.float16)
        examples.append({"tokens": tokens, "attns": maps})
    return examples


def check_statistics(statistics: general_statistics.GeneralStatistics, expected: dict, rtol: float) -> None:
    """Every statistic of `statistics` equals `expected` to a relative tolerance."""
    for key in KEYS:
        np.testing.assert_allclose(statistics.avg_attn[key], expected[key], rtol=rtol, atol=1e-12, err_msg=key)
    np.testing.assert_allclose(statistics.entropy, expected["entropy"], rtol=rtol)
    np.testing.assert_allclose(statistics.entropy_from_cls, expected["entropy_from_cls"], rtol=rtol)
    assert statistics.uniform_entropy == pytest.approx(expected["uniform_entropy"], rel=1e-12)


def write_example_pickle(path: Path, examples: list[dict]) -> Path:
    """Pickle the examples with a skipped one in second place; returns the path."""
    utils.write_pickle(path, [examples[0], {"text": "long", "skipped": "too long"}, *examples[1:]])
    return path


def test_hand_computed_statistics(tmp_path):
    examples, expected = hand_examples()
    data = maps.open_attention(write_example_pickle(tmp_path / "attn.pkl", examples))
    statistics, shown, _ = general_pipeline.collect(data, page_examples=0)
    assert statistics.n_examples == 3
    assert statistics.grid == (1, 2)
    check_statistics(statistics, expected, rtol=1e-6)
    assert shown.index == 0 and shown.tokens == examples[0]["tokens"]


@pytest.mark.parametrize("grid", [(2, 3), (4, 5)])
def test_statistics_match_float64_reference(grid):
    examples = random_examples(np.random.default_rng(sum(grid)), *grid, count=12)
    accumulator = general_statistics.StatisticsAccumulator()
    for example in examples:
        accumulator.update(example["tokens"], example["attns"])
    statistics = accumulator.result()
    assert statistics.n_examples == 12 and statistics.grid == grid
    check_statistics(statistics, reference_statistics(examples), rtol=1e-6)


def test_collect_reads_shard_directories_and_keeps_the_chosen_example(tmp_path):
    examples = random_examples(np.random.default_rng(7), 2, 3, count=5)
    write_shards(tmp_path, examples, per_shard=2)
    statistics, shown, _ = general_pipeline.collect(maps.open_attention(tmp_path), example_index=3, page_examples=0)
    check_statistics(statistics, reference_statistics(examples), rtol=1e-6)
    assert shown.index == 3 and shown.tokens == examples[3]["tokens"]
    np.testing.assert_array_equal(shown.attention_maps, examples[3]["attns"].astype(np.float32))


@pytest.mark.parametrize(
    ("examples", "example_index", "message"),
    [
        ([{"tokens": ["[CLS]", "a"], "attns": np.full((1, 1, 3, 3), 1 / 3, np.float16)}], None, "0: field 'tokens'"),
        (
            [
                {"tokens": ["[CLS]"], "attns": np.ones((1, 1, 1, 1), np.float16)},
                {"tokens": ["[CLS]"], "attns": np.ones((1, 2, 1, 1), np.float16)},
            ],
            None,
            "example 1: field 'attns'",
        ),
        ([{"text": "x", "skipped": "too long"}], None, "no example has attention maps"),
        ([{"tokens": ["[CLS]"], "attns": np.ones((1, 1, 1, 1), np.float16)}], 5, "example 5 does not exist"),
    ],
)
def test_collect_rejects_unusable_input(tmp_path, examples, example_index, message):
    utils.write_pickle(tmp_path / "bad.pkl", examples)
    with pytest.raises(utils.InputError, match=message):
        general_pipeline.collect(maps.open_attention(tmp_path / "bad.pkl"), example_index, page_examples=0)


def test_behaviour_labels_thresholds_and_precedence():
    zeros = np.zeros((1, 6))
    avg_attn = {key: zeros.copy() for key in KEYS}
    avg_attn["next"][0, 0] = 0.55  # next
    avg_attn["prev"][0, 1] = 0.5  # exactly at the threshold: not labelled
    avg_attn["cls"][0, 2] = 0.7  # [CLS]
    avg_attn["sep"][0, 3] = 0.65  # [SEP], also broad: [SEP] wins
    avg_attn["punct"][0, 5] = 0.61  # punctuation, also next-token: punctuation wins
    avg_attn["next"][0, 5] = 0.9
    entropy = np.array([[1.0, 1.0, 1.0, 4.0, 3.9, 1.0]])  # head 5 (index 4) broad
    labels = behaviour.behaviour_labels(avg_attn, entropy)
    assert labels.tolist() == [["next", "other", "cls", "sep", "broad", "punct"]]
    relaxed = behaviour.behaviour_labels(
        avg_attn, entropy, broad_entropy=4.5, position_threshold=0.4, token_threshold=0.62
    )
    assert relaxed.tolist() == [["next", "prev", "cls", "sep", "other", "next"]]


def test_head_names_are_one_based():
    grid = HeadGrid(6, 12)
    assert grid.label(13) == "2-2" and grid.pair(13) == (1, 1) and grid.flat(1, 1) == 13 and pair_label(1, 1) == "2-2"
    assert grid.parse("2-2") == 13
    assert grid.parse("6-12") == 71 == grid.size - 1
    assert [grid.parse(grid.label(index)) for index in range(grid.size)] == list(range(grid.size))
    for bad in ("0-1", "7-1", "1-13", "1", "a-b"):
        with pytest.raises(ValueError):
            grid.parse(bad)
    assert general_pipeline.parse_named_heads("1-2=Foo, 2-1 = Bar", (2, 3)) == {1: "Foo", 3: "Bar"}
    assert general_pipeline.parse_named_heads("paper", (12, 12))[4 * 12 + 3] == "Coreference"
    with pytest.raises(ValueError):
        general_pipeline.parse_named_heads("paper", (6, 12))


def test_mds_embedding_keeps_distances_and_is_seeded():
    points = np.random.default_rng(3).normal(size=(12, 2))
    distances = distance_matrix(points, points)
    embedding = behaviour.embed_heads(distances, seed=1)
    assert embedding.shape == (12, 2)
    embedded = distance_matrix(embedding, embedding)
    np.testing.assert_allclose(embedded, distances, atol=1e-3)
    np.testing.assert_array_equal(embedding, behaviour.embed_heads(distances, seed=1))


def test_read_head_distances_checks_the_grid(tmp_path):
    utils.write_pickle(tmp_path / "d.pkl", np.zeros((6, 6)))
    assert behaviour.read_head_distances(tmp_path / "d.pkl", (2, 3)).dtype == np.float64
    with pytest.raises(utils.InputError, match=r"\[4, 4\]"):
        behaviour.read_head_distances(tmp_path / "d.pkl", (2, 2))
    utils.write_pickle(tmp_path / "list.pkl", [[0.0]])
    with pytest.raises(utils.InputError):
        behaviour.read_head_distances(tmp_path / "list.pkl", (1, 1))


def test_strongest_heads_are_distinct():
    statistics = general_statistics.GeneralStatistics(
        n_examples=1,
        avg_attn={key: np.zeros((2, 2)) for key in KEYS}
        | {
            "next": np.array([[0.9, 0.1], [0.0, 0.0]]),
            "prev": np.array([[0.8, 0.7], [0.0, 0.0]]),
            "sep": np.array([[0.0, 0.0], [0.0, 0.9]]),
        },
        entropy=np.array([[1.0, 0.5], [2.0, 0.1]]),
        entropy_from_cls=np.zeros((2, 2)),
        uniform_entropy=2.0,
    )
    heads = [index for index, _ in general_pipeline.strongest_heads(statistics)]
    assert heads == [0, 1, 3, 2]  # head 0 is taken by "next", so "prev" falls back to head 1


def test_plot_attention_lines_draws_weighted_lines_and_highlights():
    attention = np.array([[0.5, 0.5, 0.0], [0.0, 0.2, 0.8], [0.001, 0.0, 0.999]])
    figure, ax = plt.subplots()
    figures.plot_attention_lines(ax, ["[CLS]", "dog", "[SEP]"], attention, highlight=[1], title="Head 1-1")
    (lines,) = [child for child in ax.collections if isinstance(child, LineCollection)]
    segments = lines.get_segments()
    assert len(segments) == 5  # weights below min_weight (0.001 and zeros) are not drawn
    alphas = {(int(-s[0][1]), int(-s[1][1])): color[3] for s, color in zip(segments, lines.get_colors(), strict=True)}
    assert alphas[(0, 1)] == pytest.approx(math.sqrt(0.5))
    assert alphas[(2, 2)] == pytest.approx(math.sqrt(0.999))
    bold = {text.get_text() for text in ax.texts if text.get_fontweight() == "bold"}
    assert bold == {"dog"}
    assert len(ax.texts) == 6 and ax.get_title() == "Head 1-1"
    plt.close(figure)


def test_summary_lists_behaviours_one_based():
    examples, _ = hand_examples()
    accumulator = general_statistics.StatisticsAccumulator()
    for example in examples:
        accumulator.update(example["tokens"], example["attns"])
    statistics = accumulator.result()
    labels = np.array([["sep", "other"]], dtype=object)
    text = general_pipeline.summary_markdown(statistics, labels, "x.pkl", GeneralOptions())
    row = next(line for line in text.splitlines() if line.startswith("| 1 |"))
    cells = [cell.strip() for cell in row.strip("|").split("|")]
    assert cells[1] == f"{statistics.avg_attn['cls'][0].mean():.2f}"
    assert cells[2] == f"{statistics.avg_attn['sep'][0].mean():.2f}"
    assert cells[9] == "1-1"  # the [SEP] column


@pytest.fixture(scope="module")
def script_inputs(tmp_path_factory) -> Path:
    """A 2 x 3-head attention pickle and matching head distances."""
    directory = tmp_path_factory.mktemp("general")
    write_example_pickle(directory / "attn.pkl", random_examples(np.random.default_rng(11), 2, 3, count=6))
    points = np.random.default_rng(12).normal(size=(6, 2))
    utils.write_pickle(directory / "distances.pkl", distance_matrix(points, points))
    utils.write_pickle(directory / "wrong.pkl", np.zeros((5, 5)))
    return directory


@pytest.mark.parametrize("with_distances", [True, False])
def test_script_end_to_end(script_inputs, tmp_path, with_distances):
    distances = ["--head_distances", str(script_inputs / "distances.pkl")] if with_distances else []
    result = run_script(
        "general_analysis.py",
        "--attn_data_file",
        str(script_inputs / "attn.pkl"),
        *distances,
        "--outdir",
        str(tmp_path),
        "--figure-heads",
        "1-1,2-3",
    )
    assert result.returncode == 0, result.stderr
    output = json.loads((tmp_path / "general.json").read_text())
    assert (output["n_examples"], output["n_layers"], output["n_heads"]) == (6, 2, 3)
    assert set(output["avg_attn"]) == set(KEYS)
    for values in [*output["avg_attn"].values(), output["entropy"], output["entropy_from_cls"]]:
        assert np.array(values).shape == (2, 3)
    assert output["uniform_entropy"] > 0
    assert ("mds" in output) == with_distances
    if with_distances:
        assert np.array(output["mds"]).shape == (6, 2)
    names = ["figure1_example_heads", "figure2_token_attention", "figure4_entropies"]
    names += ["figure6_head_embedding"] * with_distances
    for name in names:
        assert (tmp_path / f"{name}.png").stat().st_size > 0 and (tmp_path / f"{name}.svg").stat().st_size > 0
    assert not (tmp_path / "figure6_head_embedding.png").exists() or with_distances
    assert "| 2 |" in (tmp_path / "general.md").read_text()
    run = output["run"]
    assert run["script"] == "general_analysis.py" and run["options"]["figure_heads"] == ["1-1", "2-3"]
    assert run["options"]["broad_entropy"] == behaviour.BROAD_ENTROPY and "model" not in run
    assert run["inputs"]["attn_data_file"]["path"] == str(script_inputs / "attn.pkl")
    assert set(run["versions"]) >= {"attention-analysis", "numpy", "keras", "keras_backend"}


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--attn-data-file", "{dir}/missing.pkl"], "missing.pkl: no such file"),
        (["--attn-data-file", "{dir}/attn.pkl", "--head-distances", "{dir}/missing.pkl"], "missing.pkl: no such file"),
        (
            ["--attn-data-file", "{dir}/attn.pkl", "--head-distances", "{dir}/wrong.pkl"],
            "wrong.pkl: expected a [6, 6",
        ),
        (["--attn-data-file", "{dir}/attn.pkl", "--figure-heads", "3-1"], "'3-1' is not a head"),
    ],
)
def test_script_rejects_bad_input(script_inputs, tmp_path, arguments, message):
    arguments = [argument.format(dir=script_inputs) for argument in arguments]
    assert message in input_error(general_analysis.main, *arguments, "--outdir", str(tmp_path))
    assert not (tmp_path / "general.json").exists()


def test_script_error_is_one_line(script_inputs, tmp_path):
    result = run_script("general_analysis.py", "--attn-data-file", str(script_inputs / "attn.pkl"),
                        "--figure-heads", "3-1", "--outdir", str(tmp_path))
    assert_one_line_error(result, "attn.pkl: '3-1' is not a head")


def test_kernel_reads_every_finite_float16_exactly():
    from numba import njit

    from analysis.kernels import as_float64

    @njit
    def widened(bits: np.ndarray) -> np.ndarray:
        values = np.empty(bits.size)
        for position in range(bits.size):
            values[position] = as_float64(bits[position])
        return values

    halves = np.arange(2**16, dtype=np.uint16).view(np.float16)
    finite = np.isfinite(halves)
    assert finite.sum() == 63488  # every normal and subnormal half, both zeros
    np.testing.assert_array_equal(widened(halves.view(np.uint16))[finite], halves[finite].astype(np.float64))


def test_float16_maps_give_the_statistics_of_their_float64_values():
    rng = np.random.default_rng(3)
    maps = rng.dirichlet(np.full(9, 0.3), size=(2, 3, 9)).astype(np.float16)
    maps[0, 0, 1] = 0  # a row of zeros and one: exact zeros go through the kernel too
    maps[0, 0, 1, 4] = 1
    tokens = ["[CLS]", "a", ",", "b", "[SEP]", "c", ".", "d", "[SEP]"]
    from_halves = general_statistics.example_statistics(tokens, maps)
    from_doubles = general_statistics.example_statistics(tokens, maps.astype(np.float64))
    for name, values in from_doubles.items():
        np.testing.assert_allclose(from_halves[name], values, rtol=1e-14, atol=0, err_msg=name)
