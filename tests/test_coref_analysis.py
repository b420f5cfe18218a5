"""Coreference heads (docs/definitions.md, "Coreference heads"): accuracies against a plain evaluation of the
protocol, hand-checked cases, a planted head, coref_analysis.py end to end and its bad inputs."""

import json

import numpy as np
import pytest
from conftest import assert_one_line_error, input_error, run_script
from coref_fixtures import CATEGORIES, plain_reference, random_window

import coref_analysis
import utils
from analysis.coref import scoring as coref_scoring
from bert.checkpoint import embedded_model_dir, open_tokenizer
from preprocessing.coref import document_windows, piece_counter, read_documents


def scores_of(tmp_path, windows, name="attn.pkl") -> coref_scoring.CorefScores:
    utils.write_pickle(tmp_path / name, windows)
    return coref_scoring.read_coref_scores(tmp_path / name)


def assert_matches_reference(scores: coref_scoring.CorefScores, reference: dict) -> None:
    """Counts equal, and every accuracy equals correct / count exactly."""
    assert scores.counts.tolist() == [reference["counts"][category] for category in CATEGORIES]
    for index, name in enumerate(coref_scoring.BASELINES):
        expected = [reference["baselines"][name][category] / max(reference["counts"][category], 1)
                    for category in CATEGORIES]
        np.testing.assert_array_equal(np.nan_to_num(scores.baselines[index]), expected)
    for index, category in enumerate(CATEGORIES):
        expected = reference["heads"][category] / max(reference["counts"][category], 1)
        np.testing.assert_array_equal(np.nan_to_num(scores.heads[index]), expected)


def test_random_windows_match_the_plain_protocol(tmp_path):
    rng = np.random.default_rng(0)
    windows = [random_window(rng, int(rng.integers(2, 12))) for _ in range(60)]
    reference = plain_reference(windows)
    assert reference["counts"]["all"] > 100 and min(reference["counts"].values()) > 20
    assert_matches_reference(scores_of(tmp_path, windows), reference)


@pytest.mark.slow
def test_gum_dev_windows_match_the_plain_protocol(shared_data, tmp_path):
    tokenizer = open_tokenizer(embedded_model_dir())
    documents = read_documents(shared_data / "gum-coref" / "dev.conllu")
    windows = [example for document in documents
               for example in document_windows(document, piece_counter(tokenizer))[0]]
    rng = np.random.default_rng(1)
    for example in windows:
        maps_of_random_window = random_window(rng, len(example["words"]))
        example.update(tokens=maps_of_random_window["tokens"], attns=maps_of_random_window["attns"])
    reference = plain_reference(windows)
    assert reference["counts"]["all"] > 1000 and min(reference["counts"].values()) > 100
    assert_matches_reference(scores_of(tmp_path, windows), reference)


def window(words, mentions, attns, feats=None) -> dict:
    """A hand-made window; `mentions` as (start, end, head, entity, type) tuples; `attns` `[1, H, n + 2, n + 2]`."""
    keys = ("start", "end", "head", "entity", "type")
    return {"words": list(words), "upos": ["X"] * len(words), "feats": feats or ["_"] * len(words),
            "mentions": [dict(zip(keys, mention, strict=True)) for mention in mentions],
            "tokens": ["[CLS]", *words, "[SEP]"], "attns": np.array(attns, np.float16)}


def test_hand_checked_window():
    # "Mary saw the dog . She fed it": Mary (e1, proper), the dog (e2, nominal), She (e1, pronoun),
    # it (e2, pronoun). Scored: She (antecedent Mary, word 0) and it (antecedent dog, word 3).
    words = ["Mary", "saw", "the", "dog", ".", "She", "fed", "it"]
    mentions = [(0, 1, 0, "1", "proper"), (2, 4, 3, "2", "nominal"), (5, 6, 5, "1", "pronoun"),
                (7, 8, 7, "2", "pronoun")]
    feats = ["Gender=Fem|Number=Sing", "_", "_", "Number=Sing", "_", "Gender=Fem|Number=Sing|Person=3", "_",
             "Number=Sing|Person=3"]
    n = len(words) + 2
    head_0 = np.full((n, n), 1 / n)
    head_0[6] = 0.0
    head_0[6, 1] = 1.0  # She -> Mary: right
    head_0[8] = 0.0
    head_0[8, 5] = 1.0  # it -> . (word 4): wrong
    head_1 = np.full((n, n), 1 / n)  # uniform: ties, the first word (0, Mary) is chosen: right for She only
    head_1[8, 1] = 0.0  # ... it skips Mary: the tie goes to word 1 (saw): wrong
    head_1[8] /= head_1[8].sum()
    scores = coref_scoring.CorefAccumulator()
    example = window(words, mentions, [[head_0, head_1]], feats)
    scores.add(0, example, example["attns"])
    result = scores.result()
    assert result.counts.tolist() == [2, 2, 0, 0]
    # nearest: She -> the dog (wrong), it -> She (wrong). head-word match: none (wrong, wrong).
    # rule-based: She: no same words, no same head word; agreement: Mary (Fem, Sing) agrees, the dog's head "dog"
    # (Number=Sing, no Gender) agrees too and is nearer -> wrong. it: agreement: She has Gender=Fem, it has none
    # (agrees), Number Sing = Sing, Person 3 = 3 -> She, wrong.
    np.testing.assert_array_equal(result.baselines[:, :2], [[0, 0], [0, 0], [0, 0]])
    np.testing.assert_array_equal(result.heads[:2, 0], [[0.5, 0.5], [0.5, 0.5]])
    assert result.best_head() == (0, 0)


def test_sieves_in_order():
    # "the dog barked . a cat saw the dog": the last mention's same-words antecedent beats the nearer "a cat".
    words = ["the", "dog", "barked", ".", "a", "cat", "saw", "the", "dog"]
    mentions = [(0, 2, 1, "1", "nominal"), (4, 6, 5, "2", "nominal"), (7, 9, 8, "1", "nominal")]
    example = window(words, mentions, [[np.full((11, 11), 1 / 11)]])
    scored = coref_scoring.scored_mentions(coref_scoring.read_window(example, example["attns"]))
    assert [item.mention.start for item in scored] == [7]
    choices = coref_scoring.baseline_choices(coref_scoring.read_window(example, example["attns"]), scored[0])
    assert (choices["nearest"].start, choices["head_word_match"].start, choices["rule_based"].start) == (4, 0, 0)


def planted_windows(seed: int, count: int) -> list[dict]:
    """Random windows, one mention per head word, whose head (1, 2) puts 0.9 of each mention head word's attention
    on the head word of its nearest antecedent."""
    rng = np.random.default_rng(seed)
    windows = [random_window(rng, int(rng.integers(3, 12)), grid=(3, 4)) for _ in range(count)]
    for example in windows:
        example["mentions"] = list({mention["head"]: mention for mention in reversed(example["mentions"])}.values())
        example["mentions"].sort(key=lambda mention: (mention["start"], mention["end"]))
        attns = example["attns"].astype(np.float64)
        for scored in coref_scoring.scored_mentions(coref_scoring.read_window(example, attns)):
            antecedents = [other for other in scored.candidates if other.entity == scored.mention.entity]
            row = attns[1, 2, scored.mention.head + 1]
            row *= 0.1
            row[antecedents[0].head + 1] += 0.9
        example["attns"] = attns.astype(np.float16)
    return windows


def test_planted_head_is_perfect_and_chosen(tmp_path):
    scores = scores_of(tmp_path, planted_windows(3, 80))
    assert scores.counts[0] > 50
    np.testing.assert_array_equal(scores.heads[:, 1, 2], 1.0)
    assert scores.best_head() == (1, 2)


def test_script_end_to_end(tmp_path):
    utils.write_pickle(tmp_path / "train_attn.pkl", planted_windows(4, 30))
    utils.write_pickle(tmp_path / "dev_attn.pkl", [*planted_windows(5, 20), {"skipped": "too long"}])
    result = run_script("coref_analysis.py", "--attn_data_file", str(tmp_path / "dev_attn.pkl"),
                        "--select-attn-data-file", str(tmp_path / "train_attn.pkl"), "--select-on", "train",
                        "--outdir", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    output = json.loads((tmp_path / "out" / "coref.json").read_text())
    assert set(output) == {"source", "map", "grid", "n_mentions", "n_by_type", "baselines", "head_accuracy",
                           "best_head", "run"}
    assert output["map"] == "attn"
    assert output["n_mentions"] == sum(output["n_by_type"].values()) > 0
    assert set(output["baselines"]) == {"nearest", "head_word_match", "rule_based"}
    assert all(set(row) == set(CATEGORIES) for row in output["baselines"].values())
    assert np.array(output["head_accuracy"]["pronoun"]).shape == (3, 4)
    best = output["best_head"]
    assert (best["layer"], best["head"], best["label"], best["selected_on"]) == (1, 2, "2-3", "train")
    assert best["accuracy"]["all"] == 1.0
    markdown = (tmp_path / "out" / "coref.md").read_text()
    assert "| Head 2-3 | 100.0 |" in markdown and "| Nearest mention |" in markdown
    for name in ("coref_head_accuracy", "coref_best_head"):
        assert (tmp_path / "out" / f"{name}.png").stat().st_size > 1000
    assert output["run"]["options"] == {"select_on": "train"}


@pytest.mark.parametrize(("problem", "fragments"), [
    ("missing", ["no such file"]),
    ("token_level", ["example 0: field 'attns'", "not word-level"]),
    ("no_mentions", ["example 0: field 'mentions'"]),
    ("outside", ["example 0: field 'mentions'", "start <= head < end"]),
    ("bad_type", ["example 0: field 'mentions'", "type"]),
    ("no_feats", ["example 0: field 'feats'"]),
    ("nothing_scored", ["no mention has an antecedent"]),
])
def test_script_rejects_bad_input(tmp_path, problem, fragments):
    example = random_window(np.random.default_rng(0), 5)
    if problem == "token_level":
        layers, heads, size, _ = example["attns"].shape  # one position too many: rows of size + 1
        example["attns"] = np.full((layers, heads, size + 1, size + 1), 1 / (size + 1), np.float16)
    elif problem == "no_mentions":
        del example["mentions"]
    elif problem == "outside":
        example["mentions"][0]["head"] = example["mentions"][0]["end"]
    elif problem == "bad_type":
        example["mentions"][0]["type"] = "pronominal"
    elif problem == "no_feats":
        example["feats"] = example["feats"][:-1]
    elif problem == "nothing_scored":
        example["mentions"] = example["mentions"][:1]
    path = tmp_path / "dev_attn.pkl"
    if problem != "missing":
        utils.write_pickle(path, [example])
    error = input_error(coref_analysis.main, "--attn-data-file", str(path), "--outdir", str(tmp_path / "out"))
    assert str(path) in error and all(fragment in error for fragment in fragments), error
    assert not (tmp_path / "out").exists()


def test_script_error_is_one_line(tmp_path):
    result = run_script("coref_analysis.py", "--attn-data-file", str(tmp_path / "dev_attn.pkl"))
    assert_one_line_error(result, "dev_attn.pkl: no such file")
