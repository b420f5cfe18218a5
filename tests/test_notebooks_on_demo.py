"""The notebooks on the demo's own outputs, their default inputs: `make demo` runs into a scratch folder laid out as
`out/demo/` (the `demo` fixture), and each notebook, started there with no settings, shows its tables and figures."""

import pytest
from conftest import run_notebook

pytestmark = pytest.mark.slow  # runs the model and executes notebooks


def images(outputs: list) -> int:
    """How many figures the outputs show."""
    return sum("image/png" in output.get("data", {}) for output in outputs)


def test_general_notebook_on_the_demo(demo, monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    outputs = run_notebook("General_Analysis.ipynb", timeout=600, cwd=demo.parents[1])
    assert any("examples with attention maps; 6 layers x 12 heads" in output.get("text", "") for output in outputs)
    assert images(outputs) == 4  # Figures 1, 2, 4 and 6


def test_syntax_notebook_on_the_demo_shows_relations(demo, monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    outputs = run_notebook("Syntax_Analysis.ipynb", timeout=600, cwd=demo.parents[1])
    markdown = "".join(output.get("data", {}).get("text/markdown", "") for output in outputs)
    table_rows = [line for line in markdown.splitlines() if line.startswith("| ") and "dep->head" in line
                  or line.startswith("| ") and "head->dep" in line]
    assert len(table_rows) > 3 and "| all |" in markdown  # relations beside the `all` row
    assert images(outputs) == 1  # Figure 5
    assert "Attention + GloVe" in markdown
