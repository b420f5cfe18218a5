"""Dependency accuracy of heads and baselines (docs/definitions.md), Table 1, and syntax_analysis.py end to end."""

import json
import re

import numpy as np
import pytest
from conftest import assert_one_line_error, input_error, run_script
from syntax_fixtures import make_examples

import syntax_analysis
import utils
from analysis.syntax import scoring as syntax_scoring

TENSORFLOW_NATIVE_LOG = re.compile(r"^([IWE]\d{4} |WARNING: All log messages before absl)")

# "John saw Mary": John -nsubj-> saw, saw = root, Mary -obj-> saw. Positions 0 [CLS], 1-3 the words, 4 [SEP].
# Head 0: John attends to saw (right); saw to [CLS] and John (John counts: [CLS] is never a prediction);
# Mary to itself and [SEP] most, then John (never itself or [SEP]).
HEAD_0 = [[0.6, 0.1, 0.1, 0.1, 0.1],
          [0.1, 0.2, 0.5, 0.1, 0.1],
          [0.3, 0.3, 0.1, 0.2, 0.1],
          [0.05, 0.2, 0.15, 0.3, 0.3],
          [0.2, 0.2, 0.2, 0.2, 0.2]]
# Head 1: John attends to Mary, saw to John, Mary to saw.
HEAD_1 = [[0.2, 0.2, 0.2, 0.2, 0.2],
          [0.7, 0.0, 0.1, 0.2, 0.0],
          [0.1, 0.8, 0.0, 0.05, 0.05],
          [0.05, 0.05, 0.8, 0.05, 0.05],
          [0.2, 0.2, 0.2, 0.2, 0.2]]


def _sentence(maps, words=("John", "saw", "Mary"), heads=(2, 0, 2), relns=("nsubj", "root", "obj")) -> dict:
    """A word-level example with maps `[1, H, n + 2, n + 2]`."""
    return {"words": list(words), "heads": list(heads), "relns": list(relns),
            "tokens": ["[CLS]", *words, "[SEP]"], "attns": np.array([maps], np.float16)}


def _read(tmp_path, examples, name="attn.pkl", **options) -> syntax_scoring.DependencyCounts:
    utils.write_pickle(tmp_path / name, examples)
    return syntax_scoring.read_dependency_data(tmp_path / name, **options)


def test_head_and_baseline_accuracies_by_hand(tmp_path):
    data = _read(tmp_path, [_sentence([HEAD_0, HEAD_1])])
    names, counts, heads, baselines = syntax_scoring.all_accuracies(data)
    assert names == ["all", "nsubj", "obj", "root"]
    np.testing.assert_array_equal(counts, [3, 1, 1, 1])
    # Rows: dep->head of heads 0 and 1, then head->dep of heads 0 and 1 (the word that attends to it most).
    np.testing.assert_allclose(heads, [[1 / 3, 1, 0, 0],
                                       [1 / 3, 0, 1, 0],
                                       [2 / 3, 1, 1, 0],
                                       [1 / 3, 1, 0, 0]])
    # Offsets -3, -2, -1, +1, +2, +3 predict [0 0 0], [0 0 1], [0 1 2], [2 3 3], [3 3 3], [3 3 3].
    np.testing.assert_allclose(baselines, [[1 / 3, 0, 0, 1],
                                           [1 / 3, 0, 0, 1],
                                           [1 / 3, 0, 1, 0],
                                           [1 / 3, 1, 0, 0],
                                           [0, 0, 0, 0],
                                           [0, 0, 0, 0]])


def test_table_keeps_relations_a_head_always_gets_right(tmp_path):
    table = syntax_scoring.accuracy_table(_read(tmp_path, [_sentence([HEAD_0, HEAD_1])]), min_count=1)
    assert [row["relation"] for row in table] == ["all", "nsubj", "obj"]  # root is never in the table
    assert table[0] == {"relation": "all", "count": 3, "layer": 0, "head": 0, "direction": "head->dep",
                        "accuracy": pytest.approx(2 / 3), "baseline_offset": -3,
                        "baseline_accuracy": pytest.approx(1 / 3)}
    assert table[1] == {"relation": "nsubj", "count": 1, "layer": 0, "head": 0, "direction": "dep->head",
                        "accuracy": 1.0, "baseline_offset": 1, "baseline_accuracy": 1.0}
    assert table[2] == {"relation": "obj", "count": 1, "layer": 0, "head": 1, "direction": "dep->head",
                        "accuracy": 1.0, "baseline_offset": -1, "baseline_accuracy": 1.0}
    assert syntax_scoring.accuracy_table(_read(tmp_path, [_sentence([HEAD_0, HEAD_1])]), min_count=2) == table[:1]


def test_heads_chosen_on_other_data_are_scored_on_this_data(tmp_path):
    data = _read(tmp_path, [_sentence([HEAD_0, HEAD_1])])
    swapped = _read(tmp_path, [_sentence([HEAD_1, HEAD_0])], name="swapped.pkl")
    nsubj = {row["relation"]: row for row in syntax_scoring.accuracy_table(data, swapped, min_count=1)}["nsubj"]
    # On the swapped data head 1 is nsubj's best dep->head head; here it gets John wrong.
    assert (nsubj["head"], nsubj["direction"], nsubj["accuracy"]) == (1, "dep->head", 0.0)


def test_accuracies_match_a_float64_evaluation_of_the_definition(tmp_path):
    examples = make_examples(3, 6)
    data = _read(tmp_path, examples)
    names, counts, heads, _ = syntax_scoring.all_accuracies(data)
    n_heads = 6
    for column, relation in enumerate(names):
        correct = np.zeros((2, n_heads))
        total = 0
        for example in examples:
            maps = example["attns"].astype(np.float64).reshape(n_heads, *example["attns"].shape[2:])
            n = len(example["words"])
            for i in range(1, n + 1):
                if relation != "all" and example["relns"][i - 1] != relation:
                    continue
                total += 1
                for direction in range(2):
                    for head in range(n_heads):
                        scores = maps[head] if direction == 0 else maps[head].T
                        best = max((j for j in range(1, n + 1) if j != i), key=lambda j: scores[i, j])
                        correct[direction, head] += best == example["heads"][i - 1]
        assert counts[column] == total
        np.testing.assert_allclose(heads[:, column], correct.ravel() / total)


def test_poss_rule_counts_the_possessive_marker(tmp_path):
    # "John 's dog barked": John -poss-> dog; the head marks 's (which attends to dog), not John (to barked).
    maps = [[[1 / 6] * 6,
             [0.1, 0.0, 0.1, 0.1, 0.6, 0.1],
             [0.1, 0.1, 0.0, 0.7, 0.05, 0.05],
             [0.1, 0.1, 0.1, 0.0, 0.6, 0.1],
             [0.1, 0.6, 0.1, 0.1, 0.0, 0.1],
             [1 / 6] * 6]]
    words, heads = ("John", "'s", "dog", "barked"), (3, 1, 4, 0)
    # A possessor ending its sentence ("dogs of John", as a poss): scored by its own prediction, no IndexError.
    final = _sentence([[[0.25] * 4, [0.1, 0.0, 0.8, 0.1], [0.1, 0.8, 0.0, 0.1], [0.25] * 4]],
                      words=("dogs", "John"), heads=(0, 1), relns=("root", "poss"))
    for label, expected in (("poss", 1.0), ("nmod:poss", 0.0)):
        sentence = _sentence(maps, words, heads, (label, "case", "nsubj", "root"))
        data = _read(tmp_path, [sentence, {**final, "relns": ["root", label]}])
        names, counts, accuracies, _ = syntax_scoring.all_accuracies(data)
        column = names.index(label)
        assert counts[column] == 2
        assert accuracies[0, column] == (1 + expected) / 2


def test_universal_relations_drop_subtypes(tmp_path):
    sentence = _sentence([HEAD_0], relns=("nsubj:pass", "root", "obj"))
    assert _read(tmp_path, [sentence]).relations == ["nsubj:pass", "obj", "root"]
    assert _read(tmp_path, [sentence], universal=True).relations == ["nsubj", "obj", "root"]


def test_right_branching_baseline_by_hand(tmp_path):
    # Right-branching predicts [2, 3, 4, 0] and [0]; punct (word 4) is ignored: right on words 1 and 5 of 4 scored.
    first = _sentence([np.full((6, 6), 1 / 6)], words=("I", "saw", "it", "."), heads=(2, 0, 2, 2),
                      relns=("nsubj", "root", "obj", "punct"))
    second = _sentence([np.full((3, 3), 1 / 3)], words=("Hi",), heads=(0,), relns=("root",))
    assert syntax_scoring.right_branching_uas(_read(tmp_path, [first, second])) == 0.5


def test_script_end_to_end(tmp_path):
    utils.write_pickle(tmp_path / "train_attn.pkl", make_examples(0, 40, planted=(1, 2)))
    utils.write_pickle(tmp_path / "dev_attn.pkl", [*make_examples(1, 12, planted=(1, 2)), {"skipped": "too long"}])
    result = run_script("syntax_analysis.py", "--attn_data_file", str(tmp_path / "dev_attn.pkl"),
                        "--train-attn-data-file", str(tmp_path / "train_attn.pkl"), "--probes", "--select-on", "train",
                        "--min_count", "5", "--probe-epochs", "2", "--outdir", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    assert not [line for line in result.stderr.splitlines() if TENSORFLOW_NATIVE_LOG.match(line)], result.stderr
    output = json.loads((tmp_path / "out" / "syntax.json").read_text())
    assert output["n_examples"] == 12 and output["select_on"] == "train"
    assert output["table"][0]["relation"] == "all"
    for row in output["table"]:
        assert set(row) == {"relation", "count", "layer", "head", "direction", "accuracy", "baseline_offset",
                            "baseline_accuracy"}
        assert row["relation"] not in ("root", "punct") and row["count"] >= 5 or row["relation"] == "all"
        assert (row["layer"], row["head"], row["direction"]) == (1, 2, "dep->head")  # the planted head
    assert set(output["probes"]) == {"right_branching", "attention_only", "attention_glove", "words_distances"}
    assert output["run"]["options"]["probes"]["epochs"] == 2 and output["run"]["options"]["syntax"]["min_count"] == 5
    assert all(0 <= uas <= 1 for uas in output["probes"].values())
    markdown = (tmp_path / "out" / "syntax.md").read_text()
    assert "| all | " in markdown and "| 2-3 | dep->head |" in markdown and "Attention + GloVe" in markdown
    for extension in ("png", "svg"):
        assert (tmp_path / "out" / f"figure5_relation_heads.{extension}").stat().st_size > 1000


@pytest.mark.parametrize("problem, field", [
    ("missing", None), ("token_level", "attns"), ("no_heads", "heads"), ("no_relns", "relns")])
def test_script_rejects_bad_input(tmp_path, problem, field):
    example = make_examples(0, 1)[0]
    if problem == "token_level":
        layers, heads, size, _ = example["attns"].shape  # one position too many: rows of size + 1
        example["attns"] = np.full((layers, heads, size + 1, size + 1), 1 / (size + 1), np.float16)
    elif problem != "missing":
        del example[field]
    path = tmp_path / "dev_attn.pkl"
    if problem != "missing":
        utils.write_pickle(path, [example])
    error = input_error(syntax_analysis.main, "--attn-data-file", str(path), "--outdir", str(tmp_path / "out"))
    assert str(path) in error and (field is None or f"example 0: field '{field}'" in error)
    assert not (tmp_path / "out").exists()


def test_script_error_is_one_line(tmp_path):
    result = run_script("syntax_analysis.py", "--attn-data-file", str(tmp_path / "missing.pkl"))
    assert_one_line_error(result, "missing.pkl: no such file")
