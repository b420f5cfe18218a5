"""The report pages in headless Chromium: how long each demo page takes to open, how long the head view takes to
redraw when the head changes on a 128-token example, and how big each page is.

    .venv/bin/python bench/report_bench.py [--demo out/demo] [--runs 5]     # after `make demo`

Each page is opened from disk `--runs` times, each time in a fresh browser context with every non-file request
blocked: "load" is the load event's end, "drawn" the moment the page's script has drawn every view, "painted" the
first frame after that (all in ms since the navigation started; medians, and the slowest run). The redraw is timed
on the general page's first example (128 tokens), for every head in turn: from the head selector's change to the
first frame after the new drawing (rAF, then a task), with the lines drawn counted.
"""

import argparse
import shutil
import statistics
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
PAGES = ("index.html", "general/report.html", "syntax/report.html", "coref/analysis/report.html")

OPEN_TIMES = """() => {
  const navigation = performance.getEntriesByType("navigation")[0];
  return {load: navigation.loadEventEnd, drawn: window.reportDrawnAt, painted: window.reportPaintedAt};
}"""

# Every head of the head view in turn: [milliseconds to the next frame, lines drawn].
REDRAW_TIMES = """async () => {
  const [layers, heads] = Report.data.grid;
  const layerSelect = document.querySelector("#head-view select[name=layer]");
  const headSelect = document.querySelector("#head-view select[name=head]");
  const times = [];
  for (let layer = 0; layer < layers; layer++) {
    layerSelect.value = String(layer);
    layerSelect.dispatchEvent(new Event("change"));
    await new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
    for (let head = 0; head < heads; head++) {
      const start = performance.now();
      headSelect.value = String(head);
      headSelect.dispatchEvent(new Event("change"));
      await new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
      const lines = [...document.querySelectorAll("#head-view g.lines path")]
        .reduce((count, path) => count + path.getAttribute("d").split("M").length - 1, 0);
      times.push([performance.now() - start, lines]);
    }
  }
  return times;
}"""


def open_page(browser, path: Path) -> tuple[object, object]:
    """A fresh context and the page at `path`, opened offline and drawn."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file:") else route.abort())
    page = context.new_page()
    page.goto(path.as_uri())
    page.wait_for_function("window.reportPaintedAt !== undefined")
    return context, page


def open_times(browser, path: Path, runs: int) -> dict[str, list[float]]:
    """Load, drawn and painted times (ms) of `runs` fresh openings of the page."""
    times: dict[str, list[float]] = {"load": [], "drawn": [], "painted": []}
    for _ in range(runs):
        context, page = open_page(browser, path)
        for name, value in page.evaluate(OPEN_TIMES).items():
            times[name].append(value)
        context.close()
    return times


def redraw_times(browser, path: Path) -> tuple[int, list[tuple[float, int]]]:
    """The general page's first example's length, and (ms, lines) of a head change to every head."""
    context, page = open_page(browser, path)
    n_tokens = page.evaluate("Report.data.head_view.examples[0].tokens.length")
    times = [(float(ms), int(lines)) for ms, lines in page.evaluate(REDRAW_TIMES)]
    context.close()
    return n_tokens, times


def main() -> None:
    """Measure the demo's pages and print the figures as Markdown tables."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--demo", default=str(ROOT / "out" / "demo"), help="the demo's output folder (make demo)")
    parser.add_argument("--runs", type=int, default=5, help="openings of each page")
    args = parser.parse_args()
    demo = Path(args.demo)
    missing = [name for name in PAGES if not (demo / name).is_file()]
    if missing:
        sys.exit(f"{demo}: no {', '.join(missing)}; run `make demo` first")
    executable = shutil.which("chromium")
    if executable is None:
        sys.exit("chromium is not installed: apt-get install chromium (make bench installs it)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable)
        print(f"Chromium {browser.version}, headless; {args.runs} openings of each page (median, slowest in "
              "parentheses), ms since the navigation started\n")
        print("| page | size | load event | drawn | first frame drawn |")
        print("| --- | ---: | ---: | ---: | ---: |")
        for name in PAGES:
            times = open_times(browser, demo / name, args.runs)
            cells = [f"{statistics.median(values):.0f} ({max(values):.0f})" for values in times.values()]
            size = (demo / name).stat().st_size
            print(f"| `{name}` | {size / 1024:,.0f} KiB | " + " | ".join(cells) + " |")
        n_tokens, times = redraw_times(browser, demo / PAGES[1])
        browser.close()
    milliseconds = sorted(ms for ms, _ in times)
    slowest_ms, slowest_lines = max(times)
    print(f"\nHead view, head changed to each of {len(times)} heads on a {n_tokens}-token example (from the change to "
          "the next frame):")
    print(f"median {statistics.median(milliseconds):.1f} ms, 90th percentile "
          f"{milliseconds[int(0.9 * (len(milliseconds) - 1))]:.1f} ms, slowest {slowest_ms:.1f} ms "
          f"({slowest_lines:,} lines); lines per head {min(lines for _, lines in times):,} to "
          f"{max(lines for _, lines in times):,}")


if __name__ == "__main__":
    main()
