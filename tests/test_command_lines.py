"""The command lines: every script answers --version, every directory of outputs is --outdir and the older names
stay aliases, options are checked by the library's dataclasses (a script names the flag), and analyze_corpus.py's
--analysis with its refusal of another analysis's flags."""

import argparse
import ast
import importlib.metadata
import json

import pytest
from conftest import ROOT, input_error

import analyze_corpus
import cli
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
import view_attention
from analysis.options import CorpusOptions, GeneralOptions, ModelOptions, ProbeSettings, SyntaxOptions
from utils import InputError, OptionError

SCRIPTS = [preprocess_unlabeled, preprocess_depparse, preprocess_coref, extract_attention, head_distances,
           general_analysis, syntax_analysis, coref_analysis, gradient_importance, analyze_corpus, report_index,
           view_attention, compare_models]
DIRECTORY_OUTPUTS = [extract_attention, preprocess_depparse, general_analysis, syntax_analysis, coref_analysis,
                     gradient_importance, analyze_corpus, report_index, compare_models]


def script_name(script: object) -> str:
    """`extract_attention` for the module extract_attention."""
    return script.__name__


def test_every_top_level_script_is_listed():
    scripts = {path.stem for path in ROOT.glob("*.py")
               if any(isinstance(node, ast.FunctionDef) and node.name == "main"
                      for node in ast.parse(path.read_text(encoding="utf-8")).body)}
    assert scripts == {script_name(script) for script in SCRIPTS}


@pytest.mark.parametrize("script", SCRIPTS, ids=script_name)
def test_every_script_answers_version(script, capsys):
    with pytest.raises(SystemExit) as exited:
        script.main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.strip() == f"attention-analysis {importlib.metadata.version('attention-analysis')}"


def help_text(script: object, capsys: pytest.CaptureFixture) -> str:
    """What `--help` prints."""
    with pytest.raises(SystemExit):
        script.parse_args(["--help"])
    return capsys.readouterr().out


@pytest.mark.parametrize("script", DIRECTORY_OUTPUTS, ids=script_name)
def test_every_directory_of_outputs_is_outdir(script, capsys):
    flags = help_text(script, capsys)
    assert "--outdir" in flags
    assert "--output-dir OUTPUT_DIR" not in flags and "--out-dir OUT_DIR" not in flags  # aliases, not names


@pytest.mark.parametrize(("script", "argv", "expected"), [
    (extract_attention, ["--preprocessed_data_file", "x.json", "--output-dir", "d", "--chunk-size", "8", "--bert_dir",
                         "m"], {"outdir": "d", "shard_size": 8, "model": "m"}),
    (preprocess_depparse, ["--data-dir", "x", "--output_dir", "o"], {"outdir": "o"}),
    (syntax_analysis, ["--attn-data-file", "a", "--train-attn-data-file", "t"], {"select_attn_data_file": "t"}),
    (coref_analysis, ["--attn-data-file", "a", "--train_attn_data_file", "t"], {"select_attn_data_file": "t"}),
    (analyze_corpus, ["--data-file", "x", "--chunk-size", "4", "--bert-dir", "m"], {"shard_size": 4, "model": "m"}),
    (preprocess_unlabeled, ["--data_file", "x", "--bert_dir", "m", "--max_sequence_length", "64"],
     {"model": "m", "max_sequence_length": 64}),
], ids=lambda value: script_name(value) if hasattr(value, "main") else "")
def test_older_names_stay_aliases(script, argv, expected):
    args = script.parse_args(argv)
    assert {name: getattr(args, name) for name in expected} == expected


@pytest.mark.parametrize(("make", "parameter", "problem"), [
    (lambda: GeneralOptions(seed=-1), "seed", "-1 is not in [0, inf]"),
    (lambda: GeneralOptions(example_index=-2), "example_index", "-2 is not in [0, inf]"),
    (lambda: SyntaxOptions(select_on="dev"), "select_on", "'dev' is not one of same, train"),
    (lambda: ProbeSettings(lr_decay=1.5), "lr_decay", "1.5 is not in [1e-12, 1.0]"),
    (lambda: ModelOptions(batch_size=0), "batch_size", "0 is not in [1, inf]"),
    (lambda: CorpusOptions(map="attention"), "map",
     "'attention' is not one of attn, norm, rollout, attn-res-ln, alti, value-zeroing"),
    (lambda: CorpusOptions(cpus_per_worker=0.0), "cpus_per_worker", "0.0 is not in [0.01, inf]"),
])
def test_options_check_their_own_bounds_and_choices(make, parameter, problem):
    with pytest.raises(OptionError) as refused:
        make()
    assert (refused.value.parameter, refused.value.problem) == (parameter, problem)
    assert str(refused.value) == f"{parameter}: {problem}"


def test_defaults_pass_their_own_checks():
    for options in (GeneralOptions(), SyntaxOptions(), ProbeSettings(), ModelOptions(), CorpusOptions()):
        assert options is not None


def test_a_script_names_the_flag_of_a_refused_value(capsys):
    values = {name: getattr(ProbeSettings(), name) for name in ProbeSettings.__dataclass_fields__}
    args = argparse.Namespace(**{f"probe_{name}": value for name, value in values.items() if name != "seed"},
                              seed=0)
    args.probe_lr_decay = 2.0
    with pytest.raises(InputError, match=r"^--probe-lr-decay: 2.0 is not in \[1e-12, 1.0\]$"):
        cli.options_from(args, ProbeSettings, prefix="probe-")

    def main() -> None:
        raise OptionError("max_sequence_length", "4 is not in [5, inf]")

    with pytest.raises(SystemExit) as exited:
        cli.run(main)
    assert exited.value.code == 2
    assert capsys.readouterr().err == "error: --max-sequence-length: 4 is not in [5, inf]\n"


@pytest.fixture
def trees(tmp_path) -> str:
    """An examples JSON of one dependency tree."""
    path = tmp_path / "trees.json"
    path.write_text(json.dumps([{"words": ["the", "cat", "sat"], "heads": [2, 3, 0], "relns": ["det", "nsubj",
                                                                                             "root"]}]))
    return str(path)


@pytest.mark.parametrize(("argv", "message"), [
    (["--seed", "3"], "--seed does not apply to the syntax analysis (it is for the general analysis)"),
    (["--distance-examples", "10"], "--distance-examples does not apply to the syntax analysis"),
    (["--analysis", "coref", "--min-count", "3"], "--min-count does not apply to the coref analysis"),
    (["--analysis", "general", "--word-level-mode", "first"],
     "--word-level-mode does not apply to the general analysis (it is for the syntax and coref analysis)"),
])
def test_analyze_corpus_refuses_another_analysis_s_flags(trees, tmp_path, argv, message):
    assert message in input_error(analyze_corpus.main, "--data-file", trees, "--outdir", str(tmp_path / "out"), *argv)
    assert not (tmp_path / "out").exists()


def test_analyze_corpus_groups_its_flags(capsys):
    flags = help_text(analyze_corpus, capsys)
    for group in ("model:", "engine:", "extraction:", "general analysis:", "syntax and coreference analyses:"):
        assert f"\n{group}\n" in flags
    assert flags.index("\n  --distance-examples") > flags.index("general analysis:")
    assert flags.index("\n  --min-count") > flags.index("syntax and coreference analyses:")
