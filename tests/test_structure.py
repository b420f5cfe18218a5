"""The project's structure: no import cycle among its modules, no sys.path edits, nothing outside it referred to."""

import ast
import re
import subprocess
from pathlib import Path

from conftest import ROOT


def project_files(suffix: str) -> list[Path]:
    """The project's files ending in `suffix` (tracked, or new and not ignored)."""
    command = ["git", "ls-files", "--cached", "--others", "--exclude-standard", f"*{suffix}"]
    listed = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True)
    return [ROOT / name for name in listed.stdout.split()]


def module_name(path: Path) -> str:
    """`analysis/syntax/scoring.py` -> `analysis.syntax.scoring`; `analysis/__init__.py` -> `analysis`."""
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """Module -> the project modules it imports (at any place in the file), for the modules outside tests/bench."""
    paths = {module_name(path): path for path in project_files(".py") if path.parts[len(ROOT.parts)] not in
             ("tests", "bench")}
    graph = {}
    for name, path in paths.items():
        imported = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                imported |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                imported |= {node.module, *(f"{node.module}.{alias.name}" for alias in node.names)}
        graph[name] = {module for module in imported if module in paths and module != name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a list of modules, or None (depth-first search)."""
    state: dict[str, str] = {}

    def visit(module: str, stack: list[str]) -> list[str] | None:
        state[module] = "open"
        for imported in sorted(graph[module]):
            if state.get(imported) == "open":
                return [*stack[stack.index(imported):], imported]
            if imported not in state and (cycle := visit(imported, [*stack, imported])):
                return cycle
        state[module] = "done"
        return None

    for module in sorted(graph):
        if module not in state and (cycle := visit(module, [module])):
            return cycle
    return None


def test_find_cycle_finds_a_planted_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None


def test_no_import_cycle():
    graph = import_graph()
    assert {"analysis.syntax.scoring", "analysis.syntax.probes", "analysis.heads", "cli"} <= set(graph)
    assert find_cycle(graph) is None


def test_probes_do_not_depend_on_scoring():
    assert "analysis.syntax.scoring" not in import_graph()["analysis.syntax.probes"]


def test_no_sys_path_edits_and_no_outside_references():
    for path in project_files(".py") + project_files(".ipynb") + project_files(".md") + [ROOT / "Makefile"]:
        text = path.read_text(encoding="utf-8")
        assert "sys.path" not in text or path.name == "test_structure.py", path
        assert "DESIGN" + ".md" not in text, path


LIBRARY = ("bert", "analysis", "preprocessing", "utils", "provenance", "bpe_utils")  # what never imports cli


def test_no_library_module_imports_the_command_line():
    graph = import_graph()
    library = [module for module in graph if module.split(".")[0] in LIBRARY]
    assert {"analysis.options", "analysis.engines.streaming", "analysis.report.page", "utils"} <= set(library)
    assert [module for module in library if "cli" in graph[module]] == []


def test_nothing_points_outside_the_project_or_tells_how_it_was_made():
    outside = re.compile(r"\.\./shared|\bshared/data\b")
    history = re.compile(r"\b(earlier|previous|this|last|a later) sessions?\b|\bsessions'", re.IGNORECASE)
    for path in project_files(".py") + project_files(".ipynb") + project_files(".md") + [ROOT / "Makefile"]:
        if path.name == "test_structure.py":
            continue
        text = path.read_text(encoding="utf-8")
        assert not outside.search(text), (path, outside.search(text))
        assert not history.search(text), (path, history.search(text))
