"""head_distances: Jensen-Shannon distances of all head pairs against a plain float64 evaluation of the definition."""

import pickle
from pathlib import Path

import numpy as np
import pytest
from conftest import assert_one_line_error, input_error, run_script, write_shards

import head_distances as head_distances_script
import utils
from analysis.general.head_distances import head_distances
from analysis.kernels import log64


def random_maps(rng: np.random.Generator, grid: tuple[int, int], n: int) -> np.ndarray:
    """float16 maps [layers, heads, n, n] whose rows are softmaxes of random logits, some of them very peaked."""
    logits = rng.normal(size=(*grid, n, n)) * rng.choice([0.5, 2.0, 8.0, 40.0], size=(*grid, n, 1))
    weights = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return (weights / weights.sum(axis=-1, keepdims=True)).astype(np.float16)


def random_examples(grid: tuple[int, int], lengths: list[int], seed: int = 0) -> list[dict]:
    """Examples with maps of the given lengths, plus one skipped example without maps."""
    rng = np.random.default_rng(seed)
    examples = [{"tokens": ["tok"] * n, "attns": random_maps(rng, grid, n)} for n in lengths]
    examples.insert(1, {"tokens": ["too", "long"], "skipped": "longer than the maximum sequence length"})
    return examples


def plain_distances(examples: list[dict]) -> np.ndarray:
    """docs/definitions.md written out: the mean over all (example, query row) of JS(p_h[i], p_g[i]), in float64."""
    maps = [example["attns"] for example in examples if "attns" in example]
    n_total_heads = maps[0].shape[0] * maps[0].shape[1]
    totals = np.zeros((n_total_heads, n_total_heads))
    for attention in maps:
        n = attention.shape[-1]
        probs = 0.999 * attention.astype(np.float64).reshape(n_total_heads, n, n) + 0.001 / n
        for h in range(n_total_heads):
            for g in range(n_total_heads):
                p, q = probs[h], probs[g]
                m = (p + q) / 2
                js_of_rows = 0.5 * np.sum(p * np.log(p / m), axis=1) + 0.5 * np.sum(q * np.log(q / m), axis=1)
                totals[h, g] += js_of_rows.sum()
    return totals / sum(attention.shape[-1] for attention in maps)


def assert_matches(distances: np.ndarray, expected: np.ndarray) -> None:
    """float64, exactly symmetric, zero diagonal, and within 1e-6 relative of `expected` off the diagonal."""
    assert distances.dtype == np.float64 and distances.shape == expected.shape
    np.testing.assert_array_equal(distances, distances.T)
    np.testing.assert_array_equal(np.diag(distances), 0.0)
    off_diagonal = ~np.eye(len(expected), dtype=bool)
    np.testing.assert_allclose(distances[off_diagonal], expected[off_diagonal], rtol=1e-6, atol=0)


@pytest.mark.parametrize(("grid", "lengths"), [((2, 3), [3, 11, 30, 64]), ((6, 12), [7, 25])])
@pytest.mark.parametrize("as_shards", [False, True])
def test_matches_plain_definition(tmp_path, grid, lengths, as_shards):
    examples = random_examples(grid, lengths)
    path = tmp_path / "attn.pkl"
    if as_shards:
        path = tmp_path / "shards"
        write_shards(path, examples, per_shard=2)
    else:
        utils.write_pickle(path, examples)
    assert_matches(head_distances(path), plain_distances(examples))


def test_identical_heads_are_at_distance_zero(tmp_path):
    examples = random_examples((1, 2), [9])
    examples[0]["attns"][0, 1] = examples[0]["attns"][0, 0]
    utils.write_pickle(tmp_path / "attn.pkl", examples)
    np.testing.assert_allclose(head_distances(tmp_path / "attn.pkl"), np.zeros((2, 2)), rtol=0, atol=1e-12)


def test_nearly_identical_heads_match_plain_definition(tmp_path):
    # JS is a small difference of large sums here: float32 logarithms would miss 1e-6 by far.
    rng = np.random.default_rng(2)
    examples = random_examples((1, 3), [20, 64], seed=2)
    for example in examples:
        if "attns" in example:
            maps = example["attns"] = example["attns"].astype(np.float32)
            other = random_maps(rng, (1, 1), maps.shape[-1])[0, 0]
            maps[0, 1] = 0.99 * maps[0, 0] + 0.01 * other
            maps[0, 2] = 0.9999 * maps[0, 0] + 0.0001 * other
    utils.write_pickle(tmp_path / "attn.pkl", examples)
    expected = plain_distances(examples)
    assert expected[0, 2] < 1e-5
    assert_matches(head_distances(tmp_path / "attn.pkl"), expected)


def test_kernel_logarithm_matches_numpy():
    powers_of_two = 2.0 ** np.arange(-1022, 1024)
    boundaries = np.sqrt(0.5) * powers_of_two[1:-1]
    values = np.concatenate(
        [
            np.geomspace(np.finfo(float).tiny, 1e308, 20_000),
            powers_of_two,
            *(np.nextafter(boundaries, direction) for direction in (0, np.inf)),
            1 + np.geomspace(1e-15, 1e-1, 200),
            1 - np.geomspace(1e-15, 1e-1, 200),
        ]
    )
    logs = np.array([log64(value) for value in values])
    np.testing.assert_allclose(logs, np.log(values), rtol=2e-15, atol=0)


def test_keras_backend_matches_plain_definition(tmp_path):
    examples = random_examples((2, 3), [4, 19])
    utils.write_pickle(tmp_path / "attn.pkl", examples)
    assert_matches(head_distances(tmp_path / "attn.pkl", use_keras=True), plain_distances(examples))


def test_script_end_to_end(tmp_path):
    examples = random_examples((2, 3), [6, 13])
    utils.write_pickle(tmp_path / "attn.pkl", examples)
    outfile = tmp_path / "out" / "distances.pkl"
    result = run_script("head_distances.py", "--attn_data_file", str(tmp_path / "attn.pkl"), "--outfile", str(outfile))
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert "2 x 3 heads over 2 examples (19 query rows)" in result.stderr
    with open(outfile, "rb") as stream:
        assert_matches(pickle.load(stream), plain_distances(examples))
    run = utils.read_json(tmp_path / "out" / "distances.run.json")
    assert run["script"] == "head_distances.py" and run["options"] == {"use_keras": False}
    assert run["inputs"]["attn_data_file"] == {"path": str(tmp_path / "attn.pkl"), "run": None}


def bad_inputs(directory: Path) -> dict[str, tuple[Path, str]]:
    """Inputs the script must refuse: name -> (path, text the one-line message must contain)."""
    rng = np.random.default_rng(1)
    cases = {
        "missing": (directory / "missing.pkl", "missing.pkl: no such file"),
        "corrupt": (directory / "corrupt.pkl", "corrupt.pkl: not a readable attention pickle"),
        "foreign": (directory / "foreign.pkl", "foreign.pkl: not a readable attention pickle"),
        "not_a_list": (directory / "dict.pkl", "dict.pkl: not an attention pickle"),
        "no_maps": (directory / "no_maps.pkl", "no_maps.pkl: no example has attention maps (field 'attns')"),
        "grids": (directory / "grids.pkl", "grids.pkl: example 2: field 'attns': maps of 3 x 2 heads"),
        "negative": (directory / "negative.pkl", "negative.pkl: example 0: field 'attns': expected rows"),
        "rows": (directory / "rows.pkl", "rows.pkl: example 0: field 'attns': expected rows that sum to 1"),
    }
    cases["corrupt"][0].write_bytes(rng.bytes(64))
    with open(cases["foreign"][0], "wb") as stream:
        pickle.dump([{"attns": Path("x")}], stream)
    utils.write_pickle(cases["not_a_list"][0], {"attns": random_maps(rng, (1, 1), 3)})
    utils.write_pickle(cases["no_maps"][0], [{"tokens": ["a"], "skipped": "too long"}])
    grids = [{"attns": random_maps(rng, (2, 3), 4)}, {"tokens": []}, {"attns": random_maps(rng, (3, 2), 4)}]
    utils.write_pickle(cases["grids"][0], grids)
    negative = random_maps(rng, (1, 2), 4)
    negative[0, 1, 2, :2] = [-0.5, 1.5]
    utils.write_pickle(cases["negative"][0], [{"attns": negative}])
    utils.write_pickle(cases["rows"][0], [{"attns": np.full((1, 2, 4, 4), 0.5, dtype=np.float16)}])
    return cases


def test_script_refuses_bad_input(tmp_path):
    cases = bad_inputs(tmp_path)
    for name, (path, message) in cases.items():
        outfile = tmp_path / f"{name}_distances.pkl"
        arguments = ("--attn-data-file", str(path), "--outfile", str(outfile))
        assert message in input_error(head_distances_script.main, *arguments)
        assert not outfile.exists()
    path, message = cases["rows"]
    result = run_script("head_distances.py", "--attn-data-file", str(path), "--outfile", str(tmp_path / "rows_out.pkl"))
    assert_one_line_error(result, message)
