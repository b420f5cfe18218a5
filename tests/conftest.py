"""Shared test fixtures and helpers: the real data beside the project, the demo's outputs, headless Chromium,
scripts run in a child process or called in this one."""

import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import utils

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"  # UD English EWT, GUM, a Wikipedia sample, where CI lays them


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real data beside the project (UD English EWT, GUM, Wikipedia sample); skips the test when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """Debian's Chromium, headless, driven by Playwright (never `playwright install`)."""
    executable = shutil.which("chromium")
    if executable is None:
        pytest.skip("chromium is not installed (apt-get install chromium; make test installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable)
        yield launched
        launched.close()


@pytest.fixture(scope="session")
def demo(tmp_path_factory) -> Path:
    """OUT of `make demo` (the whole chain on the bundled sample, as the README's first command runs it), written
    once per test session into a scratch folder as `<folder>/out/demo`, where the notebooks find it."""
    out = tmp_path_factory.mktemp("demo") / "out" / "demo"
    command = ["make", "--no-print-directory", "-o", ".venv/.installed", "demo", f"OUT={out}", f"PY={sys.executable}"]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=1800)
    assert result.returncode == 0, result.stderr[-5000:]
    return out


def run_script(script: str, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run `script` of the repository root with this Python, from the root; stdout and stderr captured as text."""
    return subprocess.run([sys.executable, script, *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def input_error(main: Callable[[list[str]], None], *args: str) -> str:
    """Call a script's `main(argv)` in this process, expecting an InputError (which the script turns into one line
    and exit status 2); returns its message."""
    with pytest.raises(utils.InputError) as caught:
        main(list(args))
    return str(caught.value)


def assert_one_line_error(result: subprocess.CompletedProcess, *fragments: str) -> str:
    """Exit status 2, and one stderr line starting with "error: ", the last one, that contains every fragment.

    Returns that line. Progress bars and start-up logs may come before it.
    """
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    error_lines = [line for line in lines if line.startswith("error: ")]
    assert len(error_lines) == 1 and lines[-1] == error_lines[0], result.stderr
    for fragment in fragments:
        assert fragment in error_lines[0], (fragment, result.stderr)
    return error_lines[0]


def run_notebook(name: str, timeout: int, cwd: Path = ROOT) -> list:
    """Execute the repository's notebook `name` top to bottom in a fresh kernel, from `cwd` (default the root);
    returns the outputs of its code cells, in order, after checking that none is an error."""
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(ROOT / name, as_version=4)
    resources = {"metadata": {"path": str(cwd)}}
    NotebookClient(notebook, timeout=timeout, kernel_name="python3", resources=resources).execute()
    outputs = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs]
    assert not [output for output in outputs if output.output_type == "error"]
    return outputs


def write_shards(directory: Path, examples: list[dict], per_shard: int) -> None:
    """Write `examples` as a complete shard directory of `per_shard` examples a shard."""
    writer = utils.ShardWriter(directory, fingerprint="test")
    for start in range(0, len(examples), per_shard):
        writer.write_shard(examples[start : start + per_shard])
    writer.finish()


class Opened:
    """A page opened from disk with every non-file request blocked: the page, its errors and blocked requests. With
    `framed`, the page is drawn inside its first iframe (as in a notebook)."""

    def __init__(self, browser, path: Path, framed: bool = False) -> None:
        self.context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.blocked: list[str] = []
        self.page.on("console", lambda message: message.type == "error" and self.errors.append(message.text))
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.context.route("**/*", self.route)
        self.page.goto(path.as_uri())
        self.root = self.page.frame_locator("iframe") if framed else self.page
        self.root.locator("body[data-drawn]").wait_for(state="attached")

    def route(self, route) -> None:
        """Let file: requests through; abort and record any other."""
        if route.request.url.startswith("file:"):
            route.continue_()
        else:
            self.blocked.append(route.request.url)
            route.abort()

    def svg(self, selector: str) -> ET.Element:
        """The drawing at `selector`, serialized by the browser and parsed here."""
        text = self.page.evaluate("(s) => new XMLSerializer().serializeToString(document.querySelector(s))", selector)
        return ET.fromstring(text)

    def close(self) -> None:
        """Close it, checking that there was no error and no request past file:."""
        self.context.close()
        assert not self.errors, self.errors
        assert not self.blocked, self.blocked


@pytest.fixture
def opened(browser) -> Iterator[Callable[[Path], "Opened"]]:
    """Open pages from disk by path; closing checks no console error and no request past file:."""
    pages = []

    def open_page(path: Path) -> Opened:
        pages.append(Opened(browser, path))
        return pages[-1]

    yield open_page
    for page in pages:
        page.close()
