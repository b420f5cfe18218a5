"""The notebooks on the demo's own outputs, their default inputs: the demo chain runs into a scratch folder laid out
as `out/demo/`, and each notebook, started there with no settings, shows its tables and figures."""

import shutil

import pytest
from conftest import ROOT, run_notebook

import extract_attention
import head_distances
import preprocess_depparse
import preprocess_unlabeled

pytestmark = pytest.mark.slow  # runs the model and executes notebooks

SAMPLE = ROOT / "data" / "sample"


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """A folder holding out/demo/ as `make demo` writes it (the general and syntax parts)."""
    root = tmp_path_factory.mktemp("demo")
    out = root / "out" / "demo"
    (out / "depparse").mkdir(parents=True)
    shutil.copy(SAMPLE / "unlabeled.txt", out / "unlabeled.txt")
    preprocess_unlabeled.main(["--data-file", str(out / "unlabeled.txt")])
    extract_attention.main(["--preprocessed-data-file", str(out / "unlabeled.json")])
    head_distances.main(["--attn-data-file", str(out / "unlabeled_attn.pkl"), "--outfile",
                         str(out / "head_distances.pkl")])
    preprocess_depparse.main(["--data-dir", str(SAMPLE / "depparse"), "--output-dir", str(out / "depparse")])
    for split in ("train", "dev"):
        extract_attention.main(["--preprocessed-data-file", str(out / "depparse" / f"{split}.json"), "--word_level"])
    return root


def images(outputs: list) -> int:
    """How many figures the outputs show."""
    return sum("image/png" in output.get("data", {}) for output in outputs)


def test_general_notebook_on_the_demo(demo, monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    outputs = run_notebook("General_Analysis.ipynb", timeout=600, cwd=demo)
    assert any("examples with attention maps; 6 layers x 12 heads" in output.get("text", "") for output in outputs)
    assert images(outputs) == 4  # Figures 1, 2, 4 and 6


def test_syntax_notebook_on_the_demo_shows_relations(demo, monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    outputs = run_notebook("Syntax_Analysis.ipynb", timeout=600, cwd=demo)
    markdown = "".join(output.get("data", {}).get("text/markdown", "") for output in outputs)
    table_rows = [line for line in markdown.splitlines() if line.startswith("| ") and "dep->head" in line
                  or line.startswith("| ") and "head->dep" in line]
    assert len(table_rows) > 3 and "| all |" in markdown  # relations beside the `all` row
    assert images(outputs) == 1  # Figure 5
    assert "Attention + GloVe" in markdown
