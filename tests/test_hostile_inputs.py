"""Hostile but realistic inputs for every script, one row per case: what the user types, the message they must
get (one line, exit status 2, through cli.run), and the files that must not appear or must stay as they were.

Each row runs as a direct call of the script's `main(argv)`, which must raise InputError (never another
exception: no traceback); a few rows run as commands too, to check the exit status and that stderr shows one line.
"""

import json
import os
import pickle
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from checkpoints import embedded_copy
from conftest import ROOT, input_error
from coref_fixtures import random_window
from syntax_fixtures import make_examples

import analyze_corpus
import compare_models
import coref_analysis
import extract_attention
import general_analysis
import gradient_importance
import head_distances
import preprocess_coref
import preprocess_depparse
import preprocess_unlabeled
import report_index
import syntax_analysis
import utils
import view_attention
from bert.checkpoint import embedded_model_dir

SCRIPTS: dict[str, Callable[[list[str]], None]] = {
    "preprocess_unlabeled.py": preprocess_unlabeled.main,
    "preprocess_depparse.py": preprocess_depparse.main,
    "preprocess_coref.py": preprocess_coref.main,
    "extract_attention.py": extract_attention.main,
    "head_distances.py": head_distances.main,
    "general_analysis.py": general_analysis.main,
    "syntax_analysis.py": syntax_analysis.main,
    "coref_analysis.py": coref_analysis.main,
    "gradient_importance.py": gradient_importance.main,
    "analyze_corpus.py": analyze_corpus.main,
    "report_index.py": report_index.main,
    "view_attention.py": view_attention.main,
    "compare_models.py": compare_models.main,
}


@dataclass(frozen=True)
class Case:
    """One hostile input: the script, its arguments (`{d}` is the folder of prepared inputs), the message, and
    paths (relative to `{d}`) that must not exist afterwards."""

    name: str
    script: str
    args: tuple[str, ...]
    message: str
    absent: tuple[str, ...] = field(default=())


def uniform_maps(grid: tuple[int, int], n: int) -> np.ndarray:
    """float16 maps whose rows are uniform."""
    return np.full((*grid, n, n), 1 / n, np.float16)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Path:
    """A folder of prepared inputs, good and bad, shared by the rows."""
    d = tmp_path_factory.mktemp("hostile")
    (d / "adir").mkdir()
    (d / "text.txt").write_text("The cat sat.\nIt slept.\n\nA dog ran.\nIt barked.\n")
    (d / "latin1.txt").write_bytes(b"caf\xe9\n")
    (d / "examples.json").write_text(json.dumps([{"text": "the cat sat"}]))
    (d / "nested.json").write_text("[" * 100_000 + "]" * 100_000)
    (d / "object.json").write_text(json.dumps({"text": "a"}))
    (d / "unknown_token.json").write_text(json.dumps([{"tokens": ["[CLS]", "qqzzxq", "[SEP]"]}]))
    embedded_vocab = (embedded_model_dir() / "vocab.txt").read_bytes()
    for name, changes in (("heads0", {"num_attention_heads": 0}), ("layers0", {"num_hidden_layers": 0}),
                          ("layers_negative", {"num_hidden_layers": -1}), ("vocab_negative", {"vocab_size": -5})):
        embedded_copy(d / name, changes)
    for name, changes in (("gpt2", {"model_type": "gpt2"}), ("relative_positions",
                          {"position_embedding_type": "relative_key"}), ("decoder", {"is_decoder": True})):
        embedded_copy(d / name, changes)
    embedded_copy(d / "vocab_latin1", vocab=b"[PAD]\n[UNK]\n[CLS]\n[SEP]\ncaf\xe9\n")
    embedded_copy(d / "vocab_no_cls", vocab=b"[PAD]\n[UNK]\n[SEP]\nthe\n")
    embedded_copy(d / "vocab_too_long", vocab=embedded_vocab + b"extra1\nextra2\n")
    tokens = ["[CLS]", "a", ".", "[SEP]"]
    good = [{"tokens": tokens, "attns": uniform_maps((2, 3), 4)}]
    utils.write_pickle(d / "good_attn.pkl", good)
    nan_maps = uniform_maps((2, 3), 4)
    nan_maps[1, 2, 0, 0] = np.nan
    utils.write_pickle(d / "nan_attn.pkl", [{"tokens": tokens, "attns": nan_maps}])
    utils.write_pickle(d / "unnormalised_attn.pkl", [{"tokens": tokens, "attns": uniform_maps((2, 3), 4) * 2}])
    with open(d / "malicious.pkl", "wb") as stream:
        stream.write(b"cos\nsystem\n(S'touch " + str(d / "pwned").encode() + b"'\ntR.")
    (d / "shards").mkdir()
    (d / "shards" / "manifest.json").write_text(json.dumps({"complete": True, "shards": [{"n_examples": 1}]}))
    utils.write_pickle(d / "complex_distances.pkl", np.zeros((6, 6), np.complex128))
    utils.write_pickle(d / "dev_attn.pkl", make_examples(1, 6))
    utils.write_pickle(d / "one_train_attn.pkl", make_examples(0, 1))
    cycle = make_examples(2, 1)[0]
    cycle["heads"] = [2, 1, *[1] * (len(cycle["words"]) - 2)]
    utils.write_pickle(d / "cycle_attn.pkl", [cycle])
    utils.write_pickle(d / "coref_attn.pkl", [random_window(np.random.default_rng(0), 6)])
    coref_nan = random_window(np.random.default_rng(0), 6)
    coref_nan["attns"] = coref_nan["attns"] * 3
    utils.write_pickle(d / "coref_unnormalised_attn.pkl", [coref_nan])
    (d / "depparse").mkdir()
    (d / "depparse" / "train.txt").write_text("the 2-det\ncat 0-root\n")
    (d / "depparse" / "dev.txt").write_text("the 2-det\ncat 1-root\n")  # a cycle and no root
    (d / "unbalanced.conllu").write_text("# newdoc id = d\n1\tHe\the\tPRON\t_\t_\t0\troot\t_\tEntity=(1-person\n\n")
    (d / "badid.conllu").write_text("# newdoc id = d\n1\tHe\the\tPRON\t_\t_\t0\troot\t_\tEntity=(x-person)\n\n")
    (d / "badhead.conllu").write_text("# newdoc id = d\n1\tHe\the\tPRON\t_\t_\t4\troot\t_\t_\n\n")
    (d / "columns.conllu").write_text("# newdoc id = d\n1\tHe\the\tPRON\t_\t_\t0\troot\n\n")
    (d / "shards_target").write_text("a file where a directory should be")
    unextracted = {"attns", "tokens"}  # the examples as preprocessing wrote them
    (d / "cycle.json").write_text(json.dumps([{key: value for key, value in cycle.items() if key not in unextracted}]))
    bad_window = {key: value for key, value in random_window(np.random.default_rng(0), 6).items()
                  if key not in unextracted}
    bad_window["mentions"][0]["end"] = 99
    (d / "bad_window.json").write_text(json.dumps([bad_window]))
    (d / "masked_on_cls.json").write_text(json.dumps([{"text": "the cat sat", "masked_positions": [0, 2]}]))
    (d / "masked_out_of_range.json").write_text(json.dumps([{"text": "the cat sat", "masked_positions": [5]}]))
    return d


CASES = [
    # preprocess_unlabeled.py
    Case("text_missing", "preprocess_unlabeled.py", ("--data-file", "{d}/missing.txt"), "missing.txt: no such file"),
    Case("text_empty_name", "preprocess_unlabeled.py", ("--data-file", ""), "an empty file name"),
    Case("text_is_dir", "preprocess_unlabeled.py", ("--data-file", "{d}/adir"), "adir: is a directory"),
    Case("text_dot", "preprocess_unlabeled.py", ("--data-file", "."), ".: is a directory"),
    Case("text_not_utf8", "preprocess_unlabeled.py", ("--data-file", "{d}/latin1.txt"), "line 1: not UTF-8",
         ("latin1.json",)),
    Case("text_seed_negative", "preprocess_unlabeled.py", ("--data-file", "{d}/text.txt", "--seed", "-1"),
         "--seed", ("text.json",)),
    Case("text_num_docs_zero", "preprocess_unlabeled.py", ("--data-file", "{d}/text.txt", "--num-docs", "0"),
         "--num-docs", ("text.json",)),
    Case("text_unknown_option", "preprocess_unlabeled.py", ("--data-file", "{d}/text.txt", "--bogus"),
         "unrecognized arguments: --bogus", ("text.json",)),
    # preprocess_depparse.py
    Case("depparse_cycle_all_or_nothing", "preprocess_depparse.py", ("--data-dir", "{d}/depparse"),
         "dev.txt: line 1: word 1 does not reach the root", ("depparse/train.json", "depparse/dev.json")),
    Case("depparse_no_dir", "preprocess_depparse.py", ("--data-dir", "{d}/nowhere"), "nowhere: no such directory"),
    Case("depparse_output_is_file", "preprocess_depparse.py",
         ("--data-dir", str(ROOT / "data" / "sample" / "depparse"), "--output-dir", "{d}/shards_target"),
         "shards_target: is a file"),
    # preprocess_coref.py
    Case("coref_unbalanced", "preprocess_coref.py", ("--data-file", "{d}/unbalanced.conllu"),
         "unbalanced.conllu: line 2", ("unbalanced.json",)),
    Case("coref_bad_id", "preprocess_coref.py", ("--data-file", "{d}/badid.conllu"), "badid.conllu: line 2",
         ("badid.json",)),
    Case("coref_bad_head", "preprocess_coref.py", ("--data-file", "{d}/badhead.conllu"), "badhead.conllu: line 2",
         ("badhead.json",)),
    Case("coref_columns", "preprocess_coref.py", ("--data-file", "{d}/columns.conllu"), "columns.conllu: line 2",
         ("columns.json",)),
    Case("coref_is_dir", "preprocess_coref.py", ("--data-file", "{d}/adir"), "adir: is a directory"),
    # extract_attention.py
    Case("extract_dir_input", "extract_attention.py", ("--preprocessed-data-file", str(ROOT / "data" / "sample")),
         "sample: is a directory"),
    Case("extract_nested_json", "extract_attention.py", ("--preprocessed-data-file", "{d}/nested.json"),
         "nested too deeply", ("nested_attn.pkl",)),
    Case("extract_not_a_list", "extract_attention.py", ("--preprocessed-data-file", "{d}/object.json"),
         "expected a JSON list", ("object_attn.pkl",)),
    Case("extract_unknown_token", "extract_attention.py", ("--preprocessed-data-file", "{d}/unknown_token.json"),
         "example 0: field 'tokens'", ("unknown_token_attn.pkl",)),
    *(Case(f"extract_config_{name}", "extract_attention.py",
           ("--preprocessed-data-file", "{d}/examples.json", "--bert-dir", f"{{d}}/{name}"), message,
           ("examples_attn.pkl",))
      for name, message in (("heads0", "num_attention_heads must be at least 1"),
                            ("layers0", "num_hidden_layers must be at least 1"),
                            ("layers_negative", "num_hidden_layers must be at least 1"),
                            ("vocab_negative", "vocab_size must be at least 1"),
                            ("vocab_latin1", "vocab.txt: line 5: not UTF-8"),
                            ("vocab_no_cls", "vocab.txt: lacks [CLS]"),
                            ("vocab_too_long", "beyond the model's vocab_size"),
                            ("gpt2", "model_type 'gpt2' is not supported"),
                            ("relative_positions", "position_embedding_type 'relative_key' is not supported"),
                            ("decoder", "is_decoder True is not supported"))),
    Case("extract_outfile_is_dir", "extract_attention.py",
         ("--preprocessed-data-file", "{d}/examples.json", "--outfile", "{d}/adir"), "adir: is a directory"),
    Case("extract_output_dir_is_file", "extract_attention.py",
         ("--preprocessed-data-file", "{d}/examples.json", "--output-dir", "{d}/shards_target"),
         "shards_target: a file is in the way"),
    Case("extract_unwritable", "extract_attention.py",
         ("--preprocessed-data-file", "{d}/examples.json", "--outfile", "/sys/attn.pkl"), "/sys: permission denied"),
    Case("extract_batch_zero", "extract_attention.py",
         ("--preprocessed-data-file", "{d}/examples.json", "--batch_size", "0"), "--batch_size",
         ("examples_attn.pkl",)),
    Case("extract_too_long", "extract_attention.py",
         ("--preprocessed-data-file", "{d}/examples.json", "--max_sequence_length", "513"), "512 positions",
         ("examples_attn.pkl",)),
    Case("extract_original_with_mean", "extract_attention.py",
         ("--preprocessed-data-file", "{d}/examples.json", "--original", "--word-level-mode", "mean"),
         "cannot go with --word-level-mode mean", ("examples_attn.pkl",)),
    # head_distances.py
    Case("distances_nan", "head_distances.py", ("--attn-data-file", "{d}/nan_attn.pkl", "--outfile", "{d}/hd1.pkl"),
         "example 0: field 'attns'", ("hd1.pkl",)),
    Case("distances_malicious", "head_distances.py",
         ("--attn-data-file", "{d}/malicious.pkl", "--outfile", "{d}/hd2.pkl"), "refused to load os.system",
         ("hd2.pkl", "pwned")),
    Case("distances_manifest_without_file", "head_distances.py",
         ("--attn-data-file", "{d}/shards", "--outfile", "{d}/hd3.pkl"), "shard 0: expected", ("hd3.pkl",)),
    Case("distances_outfile_is_dir", "head_distances.py",
         ("--attn-data-file", "{d}/good_attn.pkl", "--outfile", "{d}/adir"), "adir: is a directory"),
    # general_analysis.py
    Case("general_nan", "general_analysis.py", ("--attn-data-file", "{d}/nan_attn.pkl", "--outdir", "{d}/g1"),
         "example 0: field 'attns': expected rows", ("g1",)),
    Case("general_unnormalised", "general_analysis.py",
         ("--attn-data-file", "{d}/unnormalised_attn.pkl", "--outdir", "{d}/g2"), "rows that sum to 1", ("g2",)),
    Case("general_complex_distances", "general_analysis.py",
         ("--attn-data-file", "{d}/good_attn.pkl", "--head-distances", "{d}/complex_distances.pkl", "--outdir",
          "{d}/g3"), "real numbers", ("g3",)),
    Case("general_outdir_is_file", "general_analysis.py",
         ("--attn-data-file", "{d}/good_attn.pkl", "--outdir", "{d}/examples.json"), "examples.json: is a file"),
    Case("general_seed_negative", "general_analysis.py",
         ("--attn-data-file", "{d}/good_attn.pkl", "--seed", "-1", "--outdir", "{d}/g4"), "--seed", ("g4",)),
    Case("general_malicious", "general_analysis.py",
         ("--attn-data-file", "{d}/malicious.pkl", "--outdir", "{d}/g5"), "refused to load", ("g5", "pwned")),
    Case("general_paper_on_another_grid", "general_analysis.py",
         ("--attn-data-file", "{d}/good_attn.pkl", "--paper", "--outdir", "{d}/g6"), "12 x 12 heads; these have 2 x 3",
         ("g6",)),
    # syntax_analysis.py
    Case("syntax_nan", "syntax_analysis.py", ("--attn-data-file", "{d}/nan_attn.pkl", "--outdir", "{d}/s1"),
         "example 0: field 'attns'", ("s1",)),
    Case("syntax_cycle", "syntax_analysis.py", ("--attn-data-file", "{d}/cycle_attn.pkl", "--outdir", "{d}/s2"),
         "field 'heads': word 1 does not reach the root", ("s2",)),
    Case("syntax_probe_epochs", "syntax_analysis.py",
         ("--attn-data-file", "{d}/dev_attn.pkl", "--train-attn-data-file", "{d}/dev_attn.pkl", "--probes",
          "--probe-epochs", "-1", "--outdir", "{d}/s3"), "--probe-epochs", ("s3",)),
    Case("syntax_one_train_sentence", "syntax_analysis.py",
         ("--attn-data-file", "{d}/dev_attn.pkl", "--train-attn-data-file", "{d}/one_train_attn.pkl", "--probes",
          "--probe-epochs", "1", "--min-count", "1", "--outdir", "{d}/s4"), "at least 2 training sentences", ("s4",)),
    Case("syntax_probes_without_train", "syntax_analysis.py",
         ("--attn-data-file", "{d}/dev_attn.pkl", "--probes", "--outdir", "{d}/s5"), "need --select-attn-data-file",
         ("s5",)),
    Case("syntax_paper_on_another_grid", "syntax_analysis.py",
         ("--attn-data-file", "{d}/dev_attn.pkl", "--paper", "--outdir", "{d}/s6"), "12 x 12 heads", ("s6",)),
    Case("syntax_unknown_probe_regime", "syntax_analysis.py",
         ("--attn-data-file", "{d}/dev_attn.pkl", "--train-attn-data-file", "{d}/dev_attn.pkl", "--probes",
          "--probe-regime", "bogus", "--outdir", "{d}/s7"), "invalid choice: 'bogus'", ("s7",)),
    # coref_analysis.py
    Case("coref_unnormalised", "coref_analysis.py",
         ("--attn-data-file", "{d}/coref_unnormalised_attn.pkl", "--outdir", "{d}/c1"), "rows that sum to 1", ("c1",)),
    Case("coref_token_maps", "coref_analysis.py", ("--attn-data-file", "{d}/good_attn.pkl", "--outdir", "{d}/c2"),
         "example 0: field 'words'", ("c2",)),
    Case("coref_select_without_file", "coref_analysis.py",
         ("--attn-data-file", "{d}/coref_attn.pkl", "--select-on", "train", "--outdir", "{d}/c3"),
         "needs --select-attn-data-file", ("c3",)),
    # gradient_importance.py
    Case("grad_no_head", "gradient_importance.py",
         ("--preprocessed-data-file", "{d}/examples.json", "--outdir", "{d}/gr1"), "checkpoint has no masked-LM head",
         ("gr1",)),
    Case("grad_masked_on_cls", "gradient_importance.py",
         ("--preprocessed-data-file", "{d}/masked_on_cls.json", "--debug", "--outdir", "{d}/gr2"),
         "example 0: field 'masked_positions': position 0 is [CLS]", ("gr2",)),
    Case("grad_masked_out_of_range", "gradient_importance.py",
         ("--preprocessed-data-file", "{d}/masked_out_of_range.json", "--debug", "--outdir", "{d}/gr3"),
         "example 0: field 'masked_positions': position 5 is outside the 5 tokens", ("gr3",)),
    # analyze_corpus.py: everything is checked before the first shard, so nothing is written
    Case("corpus_missing", "analyze_corpus.py", ("--data-file", "{d}/missing.txt", "--outdir", "{d}/ac1"),
         "missing.txt: no such file", ("ac1",)),
    Case("corpus_not_utf8", "analyze_corpus.py", ("--data-file", "{d}/latin1.txt", "--outdir", "{d}/ac2"),
         "line 1: not UTF-8", ("ac2",)),
    Case("corpus_json_object", "analyze_corpus.py", ("--data-file", "{d}/object.json", "--outdir", "{d}/ac3"),
         "expected a non-empty JSON list", ("ac3",)),
    Case("corpus_unknown_token", "analyze_corpus.py",
         ("--data-file", "{d}/unknown_token.json", "--outdir", "{d}/ac4"), "not in the vocabulary", ("ac4",)),
    Case("corpus_tree_cycle", "analyze_corpus.py", ("--data-file", "{d}/cycle.json", "--outdir", "{d}/ac5"),
         "example 0: field 'heads'", ("ac5",)),
    Case("corpus_bad_mention", "analyze_corpus.py", ("--data-file", "{d}/bad_window.json", "--outdir", "{d}/ac6"),
         "example 0: field 'mentions'", ("ac6",)),
    Case("corpus_too_long", "analyze_corpus.py",
         ("--data-file", "{d}/text.txt", "--max_sequence_length", "100000", "--outdir", "{d}/ac7"),
         "above the model's 512 positions", ("ac7",)),
    Case("corpus_cpus_zero", "analyze_corpus.py",
         ("--data-file", "{d}/text.txt", "--engine", "ray", "--cpus-per-worker", "0", "--outdir", "{d}/ac8"),
         "--cpus-per-worker", ("ac8",)),
    Case("corpus_paper_grid", "analyze_corpus.py", ("--data-file", "{d}/text.txt", "--paper", "--outdir", "{d}/ac9"),
         "12 x 12", ("ac9",)),
    Case("index_no_pages", "report_index.py", ("--outdir", "{d}/adir"), "adir: no report.html below it",
         ("adir/index.html",)),
    Case("index_missing", "report_index.py", ("--outdir", "{d}/missing"), "missing: no report.html below it"),
    Case("compare_other_words", "compare_models.py",
         ("--attn-data-file", "{d}/dev_attn.pkl", "{d}/one_train_attn.pkl", "--outdir", "{d}/cmp1"),
         "one_train_attn.pkl: example 0: field 'words': differs from", ("cmp1",)),
    Case("compare_malicious", "compare_models.py",
         ("--attn-data-file", "{d}/dev_attn.pkl", "{d}/malicious.pkl", "--outdir", "{d}/cmp2"), "refused to load",
         ("cmp2", "pwned")),
    Case("compare_one_file", "compare_models.py", ("--attn-data-file", "{d}/dev_attn.pkl", "--outdir", "{d}/cmp3"),
         "give two files or more", ("cmp3",)),
    Case("view_empty_text", "view_attention.py", ("--text", " ", "--outfile", "{d}/view.html"),
         "--text: item 0 is an empty text", ("view.html",)),
    Case("view_layer_out_of_range", "view_attention.py",
         ("--text", "a cat", "--layer", "9", "--outfile", "{d}/view.html"), "--layer: 9 is not in [1, 6]",
         ("view.html",)),
    Case("view_unknown_model", "view_attention.py", ("--text", "a cat", "--model", "{d}/adir", "--outfile",
                                                     "{d}/view.html"), "adir: no config.json or bert_config.json",
         ("view.html",)),
]


def arguments(case: Case, directory: Path) -> list[str]:
    """The case's arguments with `{d}` filled in."""
    return [argument.replace("{d}", str(directory)) for argument in case.args]


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_hostile_input_is_refused_in_one_message(inputs, case):
    message = input_error(SCRIPTS[case.script], *arguments(case, inputs))
    assert case.message in message, message
    assert "\n" not in message.strip()
    for name in case.absent:
        assert not (inputs / name).exists(), name


COMMAND_CASES = ["text_empty_name", "depparse_cycle_all_or_nothing", "coref_bad_id", "extract_config_heads0",
                 "extract_config_gpt2", "distances_malicious", "general_outdir_is_file", "syntax_probe_epochs",
                 "syntax_one_train_sentence", "coref_token_maps", "grad_masked_on_cls", "corpus_tree_cycle",
                 "index_no_pages", "view_empty_text", "compare_other_words"]


def run_command(script: str, *args: str) -> subprocess.CompletedProcess:
    """Run a script as a command, its output as bytes decoded without turning carriage returns into newlines."""
    result = subprocess.run([sys.executable, script, *args], cwd=ROOT, capture_output=True, timeout=600)
    return subprocess.CompletedProcess(result.args, result.returncode, result.stdout.decode(),
                                       result.stderr.decode())


def visible_lines(stderr: str) -> list[str]:
    """The non-blank lines a terminal shows: what follows the last carriage return of each line."""
    return [line.rsplit("\r", 1)[-1] for line in stderr.split("\n") if line.rsplit("\r", 1)[-1].strip()]


@pytest.mark.slow
@pytest.mark.parametrize("name", COMMAND_CASES)
def test_hostile_input_as_a_command_is_one_line_and_status_2(inputs, name):
    case = next(case for case in CASES if case.name == name)
    result = run_command(case.script, *arguments(case, inputs))
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    lines = visible_lines(result.stderr)
    assert len(lines) == 1 and lines[0].startswith("error: ") and case.message in lines[0], result.stderr


def test_every_script_has_hostile_cases():
    assert {case.script for case in CASES} == set(SCRIPTS)
    assert {case.script for case in CASES if case.name in COMMAND_CASES} == set(SCRIPTS)


def test_an_error_mid_progress_starts_a_clean_line(tmp_path):
    examples = [{"tokens": ["[CLS]", "a", "[SEP]"], "attns": uniform_maps((1, 1), 3)} for _ in range(3)]
    examples.append({"tokens": ["[CLS]", "a", "[SEP]"], "attns": uniform_maps((1, 1), 3) * 2})
    utils.write_pickle(tmp_path / "attn.pkl", examples)
    result = run_command("head_distances.py", "--attn-data-file", str(tmp_path / "attn.pkl"), "--outfile",
                         str(tmp_path / "d.pkl"))
    assert result.returncode == 2
    assert [line for line in visible_lines(result.stderr)] == [
        f"error: {tmp_path / 'attn.pkl'}: example 3: field 'attns': expected rows that sum to 1, got a row summing "
        "to 2"]


def test_a_full_disk_keeps_the_older_output(tmp_path, monkeypatch):
    target = tmp_path / "out.json"
    utils.write_json(target, {"old": True})
    os.chmod(target, 0o600)

    def full(*_):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(utils.InputError, match="out.json: No space left on device"):
        utils.write_json(target, {"new": True})
    assert json.loads(target.read_text()) == {"old": True}
    assert sorted(path.name for path in tmp_path.iterdir()) == ["out.json"]


def test_rewriting_an_output_keeps_its_permissions(tmp_path):
    target = tmp_path / "out.pkl"
    utils.write_pickle(target, [1])
    os.chmod(target, 0o600)
    utils.write_pickle(target, [2])
    assert target.stat().st_mode & 0o777 == 0o600
    with open(target, "rb") as stream:
        assert pickle.load(stream) == [2]


def test_the_depparse_outputs_appear_together(tmp_path):
    shutil.copytree(ROOT / "data" / "sample" / "depparse", tmp_path / "in")
    (tmp_path / "in" / "test.txt").write_text("a 2-x\nb 1-y\n")
    error = input_error(preprocess_depparse.main, "--data-dir", str(tmp_path / "in"), "--output-dir",
                        str(tmp_path / "out"))
    assert "test.txt: line 1" in error and not (tmp_path / "out").exists()
