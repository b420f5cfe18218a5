"""Every analysis reads the context-mixing kinds unchanged: the general, syntax and coreference analyses and
compare_models.py on each of the six kinds (three measures, with and without --aggregate), one map a layer; Table 1 and
Table 2 then choose a layer; analyze_corpus.py gives what the file chain gives."""

import json
from pathlib import Path

import pytest

import analyze_corpus
import compare_models
import coref_analysis
import extract_attention
import general_analysis
import preprocess_coref
import preprocess_depparse
import syntax_analysis
from bert.map_kinds import MIXING_KINDS

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "sample"
STORED_KINDS = [kind + suffix for kind in MIXING_KINDS for suffix in ("", "-aggregated")]


@pytest.fixture(scope="module")
def examples(tmp_path_factory) -> dict[str, Path]:
    """The sample's dependency dev set and coreference windows as examples JSON."""
    directory = tmp_path_factory.mktemp("mixing_analyses")
    preprocess_depparse.main(["--data-dir", str(SAMPLE / "depparse"), "--outdir", str(directory)])
    preprocess_coref.main(["--data-file", str(SAMPLE / "coref" / "sample.conllu"),
                           "--outfile", str(directory / "coref.json")])
    return {"syntax": directory / "dev.json", "coref": directory / "coref.json"}


@pytest.fixture(scope="module")
def pickles(examples) -> dict[tuple[str, str], Path]:
    """Word-level maps of both data sets for every stored kind: {(data, kind): pickle}."""
    made = {}
    for data, path in examples.items():
        for stored in STORED_KINDS:
            aggregate = ["--aggregate"] if stored.endswith("-aggregated") else []
            made[data, stored] = outfile = path.with_name(f"{path.stem}_{stored}.pkl")
            extract_attention.main(["--preprocessed-data-file", str(path), "--word_level", "--map",
                                    stored.removesuffix("-aggregated"), *aggregate, "--outfile", str(outfile)])
    return made


@pytest.mark.slow
@pytest.mark.parametrize("stored", STORED_KINDS)
def test_every_analysis_runs_on_the_kind(pickles, stored, tmp_path):
    general_analysis.main(["--attn-data-file", str(pickles["syntax", stored]), "--outdir", str(tmp_path / "general"),
                           "--no-html"])
    general = json.loads((tmp_path / "general" / "general.json").read_text())
    assert general["map"] == stored and (general["n_layers"], general["n_heads"]) == (6, 1)
    syntax_analysis.main(["--attn-data-file", str(pickles["syntax", stored]), "--min-count", "5",
                          "--outdir", str(tmp_path / "syntax"), "--no-html"])
    syntax = json.loads((tmp_path / "syntax" / "syntax.json").read_text())
    assert syntax["map"] == stored and syntax["grid"] == [6, 1]
    assert {row["head"] for row in syntax["table"]} == {0}  # one map a layer: Table 1 chooses a layer
    coref_analysis.main(["--attn-data-file", str(pickles["coref", stored]), "--outdir", str(tmp_path / "coref"),
                         "--no-html"])
    coref = json.loads((tmp_path / "coref" / "coref.json").read_text())
    assert coref["map"] == stored and coref["grid"] == [6, 1]


@pytest.mark.slow
def test_compare_models_puts_kinds_side_by_side(pickles, tmp_path):
    files = [pickles["syntax", "alti"], pickles["syntax", "value-zeroing"]]
    compare_models.main(["--attn-data-file", *map(str, files), "--labels", "alti", "vz", "--min-count", "5",
                         "--outdir", str(tmp_path), "--no-html"])
    compared = json.loads((tmp_path / "compare.json").read_text())
    assert [model["map"] for model in compared["models"]] == ["alti", "value-zeroing"]
    assert len(compared["heads"]) == 12


@pytest.mark.slow
def test_analyze_corpus_equals_the_file_chain(examples, pickles, tmp_path):
    analyze_corpus.main(["--data-file", str(examples["syntax"]), "--map", "alti", "--aggregate", "--min-count", "5",
                         "--outdir", str(tmp_path / "corpus"), "--no-html"])
    syntax_analysis.main(["--attn-data-file", str(pickles["syntax", "alti-aggregated"]), "--min-count", "5",
                          "--outdir", str(tmp_path / "chain"), "--no-html"])
    corpus, chain = (json.loads((tmp_path / name / "syntax.json").read_text()) for name in ("corpus", "chain"))
    assert corpus["map"] == chain["map"] == "alti-aggregated"
    assert corpus["table"] == chain["table"]
