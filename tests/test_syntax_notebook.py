"""Syntax_Analysis.ipynb runs top to bottom, headless, on small word-level attention pickles."""

import pytest
from conftest import run_notebook
from syntax_fixtures import make_examples

import utils

pytestmark = pytest.mark.slow  # executes a notebook


def test_notebook_executes(tmp_path, monkeypatch):
    utils.write_pickle(tmp_path / "train_attn.pkl", make_examples(0, 30, planted=(0, 1)))
    utils.write_pickle(tmp_path / "dev_attn.pkl", make_examples(1, 10, planted=(0, 1)))
    monkeypatch.setenv("DEV_ATTN_DATA_FILE", str(tmp_path / "dev_attn.pkl"))
    monkeypatch.setenv("TRAIN_ATTN_DATA_FILE", str(tmp_path / "train_attn.pkl"))
    monkeypatch.setenv("SELECT_ON", "train")
    monkeypatch.setenv("MIN_COUNT", "3")
    monkeypatch.setenv("PROBE_EPOCHS", "1")
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")

    outputs = run_notebook("Syntax_Analysis.ipynb", timeout=300)
    assert any("10 examples" in output.get("text", "") for output in outputs)
    markdown = "".join(output.get("data", {}).get("text/markdown", "") for output in outputs)
    assert "| all | " in markdown and "| 1-2 | dep->head |" in markdown  # the planted head, 1-based
    assert "Attention + GloVe" in markdown
    assert sum("image/png" in output.get("data", {}) for output in outputs) == 1  # Figure 5
