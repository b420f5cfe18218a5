"""Coreference_Analysis.ipynb runs top to bottom, headless: on the demo's chain (the bundled sample through
preprocess_coref.py and extract_attention.py with the embedded model), and with a head chosen on other data."""

import pytest
from conftest import run_notebook
from test_coref_analysis import planted_windows

import utils

pytestmark = pytest.mark.slow  # executes a notebook


def test_notebook_on_the_demo_chain(demo, monkeypatch):
    monkeypatch.setenv("ATTN_DATA_FILE", str(demo / "coref" / "sample_attn.pkl"))
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")

    outputs = run_notebook("Coreference_Analysis.ipynb", timeout=300)
    assert any("scored mentions; 6 layers x 12 heads" in output.get("text", "") for output in outputs)
    markdown = "".join(output.get("data", {}).get("text/markdown", "") for output in outputs)
    assert "| Rule-based (four sieves) |" in markdown and "| Head " in markdown
    assert sum("image/png" in output.get("data", {}) for output in outputs) == 2  # heat map, mentions


def test_notebook_with_the_head_chosen_on_train(tmp_path, monkeypatch):
    utils.write_pickle(tmp_path / "train_attn.pkl", planted_windows(0, 30))
    utils.write_pickle(tmp_path / "dev_attn.pkl", planted_windows(1, 20))
    monkeypatch.setenv("ATTN_DATA_FILE", str(tmp_path / "dev_attn.pkl"))
    monkeypatch.setenv("SELECT_ATTN_DATA_FILE", str(tmp_path / "train_attn.pkl"))
    monkeypatch.setenv("SELECT_ON", "train")
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")

    outputs = run_notebook("Coreference_Analysis.ipynb", timeout=300)
    markdown = "".join(output.get("data", {}).get("text/markdown", "") for output in outputs)
    assert "| Head 2-3 | 100.0 |" in markdown  # the planted head, 1-based
