"""compare_models.py (analysis/compare/pipeline.py): the cross-model head distances against a plain float64
evaluation of the definition, the nearest heads, Table 1 side by side, mismatched inputs refused in one line, and
extract_attention.py --random-init, the control."""

import json

import numpy as np
import pytest
from conftest import assert_one_line_error, input_error, run_script
from syntax_fixtures import make_examples

import compare_models
import extract_attention
import utils
from analysis.syntax import scoring as syntax_scoring


def with_other_tokens(examples: list[dict], grid: tuple[int, int], seed: int) -> list[dict]:
    """The same words with another model's maps `[L, H, n, n]` and another tokenizer's strings (word-level maps)."""
    rng = np.random.default_rng(seed)
    other = []
    for example in examples:
        n = len(example["words"]) + 2
        tokens = ["<s>", *(f"▁{word}" for word in example["words"]), "</s>"]
        other.append({**example, "tokens": tokens,
                      "attns": rng.dirichlet(np.full(n, 0.3), size=(*grid, n)).astype(np.float16)})
    return other


def plain_cross_distances(files: list[list[dict]]) -> np.ndarray:
    """The head distance of every pair of heads of all files, written plainly: per example and query row,
    p = 0.999 a + 0.001 / n, JS(p_h, p_g) in nats, averaged over every (example, row)."""
    heads_per_example = []
    for examples in zip(*files, strict=True):
        maps = np.concatenate([example["attns"].astype(np.float64).reshape(-1, *example["attns"].shape[-2:])
                               for example in examples])
        heads_per_example.append(0.999 * maps + 0.001 / maps.shape[-1])
    n_heads = len(heads_per_example[0])
    total, rows = np.zeros((n_heads, n_heads)), 0
    for probs in heads_per_example:
        for row in range(probs.shape[1]):
            for first in range(n_heads):
                for second in range(n_heads):
                    p, q = probs[first, row], probs[second, row]
                    m = (p + q) / 2
                    total[first, second] += 0.5 * np.sum(p * np.log(p / m)) + 0.5 * np.sum(q * np.log(q / m))
            rows += 1
    return total / rows


@pytest.fixture
def two_models(tmp_path) -> tuple[list[dict], list[dict]]:
    """Word-level files of the same 6 sentences: grid (2, 3) with BERT's strings, grid (3, 2) with other strings."""
    first = make_examples(0, 6)
    second = with_other_tokens(first, (3, 2), seed=1)
    utils.write_pickle(tmp_path / "a_attn.pkl", first)
    utils.write_pickle(tmp_path / "b_attn.pkl", second)
    return first, second


def compare(tmp_path, *args: str) -> dict:
    """compare_models.main on the two files, into tmp_path/out; returns compare.json."""
    compare_models.main(["--attn-data-file", str(tmp_path / "a_attn.pkl"), str(tmp_path / "b_attn.pkl"),
                         "--outdir", str(tmp_path / "out"), "--min-count", "1", *args])
    return utils.read_json(tmp_path / "out" / "compare.json")


def test_cross_distances_equal_the_definition_across_grids_and_tokenizers(tmp_path, two_models):
    output = compare(tmp_path, "--labels", "bert", "other", "--no-html")
    distances = utils.read_pickle(tmp_path / "out" / "cross_head_distances.pkl")
    expected = plain_cross_distances(list(two_models))
    assert distances.shape == (12, 12) and distances.dtype == np.float64
    off_diagonal = ~np.eye(12, dtype=bool)
    np.testing.assert_allclose(distances[off_diagonal], expected[off_diagonal], rtol=1e-9, atol=0)
    assert np.all(np.diag(distances) == 0)
    assert output["heads"][:7] == ["bert:1-1", "bert:1-2", "bert:1-3", "bert:2-1", "bert:2-2", "bert:2-3", "other:1-1"]
    assert [(model["label"], model["grid"]) for model in output["models"]] == [("bert", [2, 3]), ("other", [3, 2])]
    assert output["models"][1]["source"] == str(tmp_path / "b_attn.pkl") and output["n_examples"] == 6
    for row, label in enumerate(output["heads"]):
        other, columns = ("other", slice(6, 12)) if row < 6 else ("bert", slice(0, 6))
        nearest = output["nearest"][label][other]
        assert nearest["distance"] == pytest.approx(distances[row, columns].min(), rel=1e-12)
        assert output["heads"][columns][int(distances[row, columns].argmin())] == f"{other}:{nearest['head']}"


def test_table1_side_by_side_is_each_model_s_table_1(tmp_path, two_models):
    output = compare(tmp_path, "--no-html")
    for column, examples in enumerate(two_models):
        counts = syntax_scoring.DependencyAccumulator(False)
        for index, example in enumerate(examples):
            counts.add(index, example, example["attns"])
        table = syntax_scoring.accuracy_table(counts.result(), None, 1)
        side_by_side = {row["relation"]: row["cells"][column] for row in output["table1"]["rows"]}
        for row in table:
            assert side_by_side[row["relation"]] == [f"{row['layer'] + 1}-{row['head'] + 1}", row["accuracy"]]
    assert output["table2"] is None and (tmp_path / "out" / "compare.md").read_text().count("| det |") <= 1


@pytest.mark.parametrize(("change", "message"), [
    (lambda examples: examples[:-1], "has 5 examples, "),
    (lambda examples: [examples[1], examples[0], *examples[2:]], "example 0: field 'words': differs from"),
    (lambda examples: [*examples[:3], {**examples[3], "words": ["x", *examples[3]["words"][1:]]}, *examples[4:]],
     "example 3: field 'words': differs"),
])
def test_files_whose_examples_differ_are_refused_naming_the_first(tmp_path, two_models, change, message):
    utils.write_pickle(tmp_path / "b_attn.pkl", change(two_models[1]))
    error = input_error(compare_models.main, "--attn-data-file", str(tmp_path / "a_attn.pkl"),
                        str(tmp_path / "b_attn.pkl"), "--outdir", str(tmp_path / "out"))
    assert message in error and "b_attn.pkl" in error
    assert not (tmp_path / "out").exists()


def test_one_file_and_wrong_labels_are_refused(tmp_path, two_models):
    assert "two files or more" in input_error(compare_models.main, "--attn-data-file", str(tmp_path / "a_attn.pkl"))
    assert "1 labels for 2 files" in input_error(compare_models.main, "--attn-data-file", str(tmp_path / "a_attn.pkl"),
                                                 str(tmp_path / "b_attn.pkl"), "--labels", "one")


@pytest.mark.slow
def test_a_mismatch_is_one_line_and_status_2_from_the_shell(tmp_path, two_models):
    utils.write_pickle(tmp_path / "b_attn.pkl", two_models[1][:-1])
    result = run_script("compare_models.py", "--attn-data-file", str(tmp_path / "a_attn.pkl"),
                        str(tmp_path / "b_attn.pkl"), "--outdir", str(tmp_path / "out"))
    assert_one_line_error(result, "has 5 examples")
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_random_init_is_deterministic_for_a_seed_and_not_the_trained_model(tmp_path):
    examples = [{"words": ["The", "cat", "sat", "."]}, {"words": ["Dogs", "bark"]}]
    (tmp_path / "words.json").write_text(json.dumps(examples))

    def extract(name: str, *args: str) -> list[np.ndarray]:
        extract_attention.main(["--preprocessed-data-file", str(tmp_path / "words.json"), "--word_level",
                                "--outfile", str(tmp_path / name), *args])
        return [example["attns"] for example in utils.read_examples(tmp_path / name)]

    trained = extract("trained.pkl")
    control, again, other_seed = (extract("control.pkl", "--random-init"), extract("again.pkl", "--random-init"),
                                  extract("seed1.pkl", "--random-init", "--seed", "1"))
    for maps in zip(trained, control, again, other_seed, strict=True):
        np.testing.assert_array_equal(maps[1], maps[2])
        assert np.abs(maps[1] - maps[0]).max() > 0.1 and np.abs(maps[1] - maps[3]).max() > 1e-4
    model = utils.read_json(tmp_path / "control.run.json")["model"]
    assert model["random_init"] == {"seed": 0} and model["config"]["num_hidden_layers"] == 6


@pytest.mark.slow
def test_the_demo_compares_minilm_with_its_random_control(demo):
    from test_report_page import page_data

    output = utils.read_json(demo / "compare" / "compare.json")
    data = page_data((demo / "compare" / "report.html").read_text(encoding="utf-8"))
    labelled = [(model["label"], model["grid"]) for model in output["models"]]
    assert labelled == [("minilm", [6, 12]), ("control", [6, 12])]
    assert data["models"] == [{key: model[key] for key in ("label", "source", "grid", "map", "special_tokens")}
                              for model in output["models"]]
    assert output["models"][1]["run"]["model"]["random_init"] == {"seed": 0}
    assert output["table1"]["rows"][0]["relation"] == "all" and len(data["mds"]) == len(output["heads"]) == 144
    assert (demo / "compare" / "head_atlas.png").is_file() and (demo / "compare" / "cross_head_distances.pkl").is_file()


def test_table2_side_by_side_has_each_model_s_best_head(tmp_path):
    from test_coref_analysis import planted_windows

    from analysis.coref import scoring as coref_scoring

    planted = planted_windows(0, 12)  # head 2-3 (1-based) finds antecedents
    control = with_other_tokens(planted, (3, 4), seed=5)
    utils.write_pickle(tmp_path / "a_attn.pkl", planted)
    utils.write_pickle(tmp_path / "b_attn.pkl", control)
    output = compare(tmp_path, "--no-html")
    assert output["table1"] is None and output["table2"]["columns"] == ["a_attn", "b_attn"]
    for column, windows in enumerate((planted, control)):
        scores = coref_scoring.CorefAccumulator()
        for index, window in enumerate(windows):
            scores.add(index, window, window["attns"])
        result = scores.result()
        layer, head = result.best_head()
        for position, row in enumerate(output["table2"]["rows"]):
            assert row["cells"][column][0] == f"{layer + 1}-{head + 1}"
            expected = result.heads[position, layer, head]
            assert row["cells"][column][1] == (None if np.isnan(expected) else pytest.approx(expected))
    assert output["table2"]["rows"][0]["cells"][0][0] == "2-3" and output["table2"]["rows"][0]["type"] == "all"
