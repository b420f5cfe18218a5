"""General_Analysis.ipynb runs top to bottom, headless, on a small attention pickle."""

import numpy as np
import pytest
from conftest import run_notebook
from scipy.spatial import distance_matrix

import utils

pytestmark = pytest.mark.slow  # executes a notebook


def test_notebook_executes(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    examples = []
    for n in (6, 9, 12):
        tokens = ["[CLS]", *rng.choice(["a", "b", ".", ","], size=n - 3).tolist(), "[SEP]", "[SEP]"]
        examples.append({"tokens": tokens, "attns": rng.dirichlet(np.ones(n), size=(2, 3, n)).astype(np.float16)})
    utils.write_pickle(tmp_path / "attn.pkl", examples)
    points = rng.normal(size=(6, 2))
    utils.write_pickle(tmp_path / "distances.pkl", distance_matrix(points, points))
    monkeypatch.setenv("ATTN_DATA_FILE", str(tmp_path / "attn.pkl"))
    monkeypatch.setenv("HEAD_DISTANCES", str(tmp_path / "distances.pkl"))
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")

    outputs = run_notebook("General_Analysis.ipynb", timeout=120)
    images = [output for output in outputs if "image/png" in output.get("data", {})]
    assert len(images) == 4  # Figures 1, 2, 4 and 6
    assert any("3 examples with attention maps" in output.get("text", "") for output in outputs)
