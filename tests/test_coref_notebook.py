"""Coreference_Analysis.ipynb runs top to bottom, headless, on small word-level attention pickles."""

import pytest
from conftest import run_notebook
from test_coref_analysis import planted_windows

import utils

pytestmark = pytest.mark.slow  # executes a notebook


def test_notebook_executes(tmp_path, monkeypatch):
    utils.write_pickle(tmp_path / "train_attn.pkl", planted_windows(0, 30))
    utils.write_pickle(tmp_path / "dev_attn.pkl", planted_windows(1, 20))
    monkeypatch.setenv("ATTN_DATA_FILE", str(tmp_path / "dev_attn.pkl"))
    monkeypatch.setenv("SELECT_ATTN_DATA_FILE", str(tmp_path / "train_attn.pkl"))
    monkeypatch.setenv("SELECT_ON", "train")
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")

    outputs = run_notebook("Coreference_Analysis.ipynb", timeout=300)
    assert any("scored mentions; 3 layers x 4 heads" in output.get("text", "") for output in outputs)
    markdown = "".join(output.get("data", {}).get("text/markdown", "") for output in outputs)
    assert "| Head 2-3 | 100.0 |" in markdown  # the planted head, 1-based
    assert sum("image/png" in output.get("data", {}) for output in outputs) == 2  # heat map, mentions
