"""The view page (`page_html(..., "view", data)`, analysis/report/assets/view.js): the head view and the model view
of a few examples, in headless Chromium. Pages are built here from synthetic maps; expected lines come from the
page's stored bytes, decoded here, never from the page's code. Long examples (more than the head view's window of
queries) draw the lines of a range of queries only, chosen in the toolbar, in a drawing that scrolls.
"""

import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from conftest import Opened
from test_report_page import (
    SCREENSHOTS,
    STEP,
    SVG,
    assert_lines_show,
    assert_self_contained,
    choose,
    decoded,
    drawn_lines,
)

from analysis.report import page as report_page

pytestmark = pytest.mark.slow

GRID = (2, 3)
WINDOW = 128  # Report.HEAD_VIEW_WINDOW: longer examples draw this many queries' lines at first
MIN_WEIGHT = report_page.MIN_LINE_WEIGHT

# in the page: click the element at `selector` (a range button) or set the <input>/<select> there to `value`, and time
# the redraw alone, then up to the next painted frame (ms)
TIME_CHANGE = """async ([selector, value]) => {
  const element = document.querySelector(selector);
  const start = performance.now();
  if (value === null) element.click();
  else {
    element.value = String(value);
    element.dispatchEvent(new Event("change"));
  }
  const drawn = performance.now();
  await new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
  return [drawn - start, performance.now() - start];
}"""


def example_maps(rng: np.random.Generator, n: int) -> tuple[list[str], np.ndarray]:
    """Tokens ([CLS] ... [SEP]) and row-normalised random maps [*GRID, n, n] of an example of `n` tokens."""
    tokens = ["[CLS]", *[f"w{position}" for position in range(1, n - 1)], "[SEP]"]
    return tokens, rng.dirichlet(np.full(n, 0.5), size=(*GRID, n))


def view_page(tmp_path: Path, examples: list[tuple[list[str], np.ndarray]], selected: tuple[int, int],
              name: str) -> tuple[Path, dict]:
    """Write the view page of `examples` (tokens, maps) as tmp_path/name; returns its path and its data."""
    data = {"source": "synthetic maps (attn)", "grid": list(GRID), "map": "attn", "selected": list(selected),
            "head_view": {"examples": [{"index": index, "tokens": tokens, "weights": report_page.encode_weights(maps)}
                                       for index, (tokens, maps) in enumerate(examples)], "note": ""}}
    path = tmp_path / name
    path.write_text(report_page.page_html("Attention view", "view", data), encoding="utf-8")
    return path, data


def stored(data: dict, example: int) -> np.ndarray:
    """An example's maps as the page holds them, decoded: [*GRID, n, n]."""
    n = len(data["head_view"]["examples"][example]["tokens"])
    return decoded(data["head_view"]["examples"][example]["weights"], (*GRID, n, n))


def expected_lines(weights: np.ndarray, queries: range) -> set[tuple[int, int]]:
    """The (query, key) pairs of the lines drawn from `queries` of a head's weights `[m, m]`."""
    return {(query, key) for query in queries for key in np.flatnonzero(weights[query] >= MIN_WEIGHT).tolist()}


def queries_drawn(page: Opened) -> set[int]:
    """The query rows with at least one line in the head view."""
    return {query for query, _ in drawn_lines(page.svg("#head-view svg"))}


def set_range(page: Opened, first: int, last: int) -> None:
    """Type the range of queries first..last (1-based) in the head view: "to", then "from"."""
    for name, value in (("query-to", last), ("query-from", first)):
        page.page.fill(f"#head-view input[name={name}]", str(value))
        page.page.locator(f"#head-view input[name={name}]").dispatch_event("change")
    assert page.page.input_value("#head-view input[name=query-from]") == str(first)
    assert page.page.input_value("#head-view input[name=query-to]") == str(last)


def test_short_example_draws_the_selected_heads_weights(tmp_path, opened):
    tokens, maps = example_maps(np.random.default_rng(0), 10)
    path, data = view_page(tmp_path, [(tokens, maps)], (1, 2), "short.html")
    assert_self_contained(path.read_text(encoding="utf-8"))
    page = opened(path)
    assert page.page.locator("header .source").inner_text() == (
        "Source: synthetic maps (attn): 1 example, 2 layers × 3 heads; heads are 1-based layer-head")
    assert page.page.locator("#head-view input[name=query-from]").is_hidden()  # no range for 10 tokens
    assert page.page.input_value("#head-view select[name=layer]") == "1"
    assert page.page.input_value("#head-view select[name=head]") == "2"
    weights = stored(data, 0)
    for layer, head in [(1, 2), (0, 0), (1, 1)]:
        choose(page.page, "#head-view select[name=layer]", layer)
        choose(page.page, "#head-view select[name=head]", head)
        assert page.page.locator("#head-view svg text").first.text_content() == f"Head {layer + 1}-{head + 1}"
        lines = drawn_lines(page.svg("#head-view svg"))
        assert len(lines) == int((weights[layer, head] >= MIN_WEIGHT).sum())
        assert set(lines) == expected_lines(weights[layer, head], range(10))
        assert_lines_show(lines, maps[layer, head], STEP / 2 + 1e-4)
        assert page.page.locator("#model-view svg").get_attribute("data-head") == str(layer * GRID[1] + head)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.page.screenshot(path=str(SCREENSHOTS / "view-short.png"), full_page=True)


def test_long_example_draws_a_range_of_queries_in_a_scrolling_drawing(tmp_path, opened, capsys):
    rng = np.random.default_rng(1)
    long_example, short_example = example_maps(rng, 600), example_maps(rng, 40)
    path, data = view_page(tmp_path, [long_example, short_example], (0, 1), "long.html")
    page = opened(path)
    weights = stored(data, 0)[0, 1]
    query_from, query_to = "#head-view input[name=query-from]", "#head-view input[name=query-to]"
    assert page.page.evaluate("Report.HEAD_VIEW_WINDOW") == WINDOW
    assert page.page.locator(query_from).is_visible()
    assert (page.page.input_value(query_from), page.page.input_value(query_to)) == ("1", str(WINDOW))
    assert page.page.locator("#head-view .range-note").inner_text() == f"lines from queries 1–{WINDOW} of 600"
    lines = drawn_lines(page.svg("#head-view svg"))
    assert set(lines) == expected_lines(weights, range(WINDOW))
    assert_lines_show(lines, weights[:WINDOW], STEP / 2 + 1e-4)  # every row of the window, to every key
    assert len(page.svg("#head-view svg").findall(f".//{SVG}text[@class='token key']")) == 600
    scroller = page.page.locator("#head-view .head-view-drawing")
    assert scroller.evaluate("(element) => element.scrollHeight > element.clientHeight + 1000")
    assert scroller.evaluate("(element) => element.getBoundingClientRect().height") <= 900  # the window's height

    page.page.fill(query_from, "301")
    page.page.locator(query_from).dispatch_event("change")
    assert (page.page.input_value(query_from), page.page.input_value(query_to)) == ("301", str(300 + WINDOW))
    assert set(drawn_lines(page.svg("#head-view svg"))) == expected_lines(weights, range(300, 300 + WINDOW))
    assert page.page.locator("#head-view .range-note").inner_text() == f"lines from queries 301–{300 + WINDOW} of 600"
    assert scroller.evaluate("(element) => element.scrollTop") > 300 * 16 - 100  # scrolled to query 301
    page.page.click("#head-view .range-next")
    page.page.click("#head-view .range-next")  # moves by the range's width, stopping at the last token
    assert (page.page.input_value(query_from), page.page.input_value(query_to)) == (str(600 - WINDOW + 1), "600")
    assert page.page.locator("#head-view .range-next").is_disabled()
    page.page.fill(query_to, "20")  # below "from": the range becomes the WINDOW queries up to it, at most
    page.page.locator(query_to).dispatch_event("change")
    assert (page.page.input_value(query_from), page.page.input_value(query_to)) == ("1", "20")
    assert queries_drawn(page) == set(range(20))
    assert page.page.locator("#head-view svg text").nth(1).text_content() == "example 0, lines from queries 1–20 of 600"

    # hiding [CLS]/[SEP]: the range stays token positions, rows renormalised over the tokens shown
    page.page.check("#head-view input[name=hide-special]")
    svg = page.svg("#head-view svg")
    assert [text.text for text in svg.iter(f"{SVG}text") if text.get("class") == "token query"][:2] == ["w1", "w2"]
    shown = list(range(1, 599))
    renormalised = weights[np.ix_(shown, shown)] / weights[np.ix_(shown, shown)].sum(1, keepdims=True)
    lines = drawn_lines(svg)
    assert set(lines) == expected_lines(renormalised, range(19))  # positions 2..20
    assert_lines_show(lines, renormalised[:19], STEP / 2 + 1e-4)
    page.page.uncheck("#head-view input[name=hide-special]")

    # hovering a query outside the range still shows its lines
    page.page.hover("#head-view text.token.query[data-index='450']")
    hovered = page.page.locator("#head-view g.hover-only path").evaluate_all(
        "(paths) => paths.map((path) => path.getAttribute('d')).join('')")
    assert hovered.count("M") == int((weights[450] >= MIN_WEIGHT).sum())
    assert page.page.locator("#tooltip").inner_text().startswith("w450 attends to")
    page.page.mouse.move(0, 0)
    assert page.page.locator("#head-view g.hover-only path").count() == 0

    # the export holds the whole drawing, as it is drawn
    with page.page.expect_download() as download:
        page.page.click("#head-view .export-svg")
    exported = ET.parse(download.value.path()).getroot()
    assert int(exported.get("height")) > 600 * 16
    assert drawn_lines(exported) == drawn_lines(page.svg("#head-view svg"))

    set_range(page, 1, WINDOW)
    changes = {"range": [(".range-next", None), (".range-next", None), (".range-previous", None),
                         ("input[name=query-from]", 501), ("input[name=query-to]", WINDOW)],
               "head": [("select[name=head]", head) for head in (2, 0, 1)]}
    timings = {kind: [page.page.evaluate(TIME_CHANGE, [f"#head-view {selector}", value]) for selector, value in done]
               for kind, done in changes.items()}
    assert page.page.locator("#head-view .range-note").inner_text() == f"lines from queries 1–{WINDOW} of 600"
    for kind, measured in timings.items():
        assert max(total for _, total in measured) < 1000, (kind, measured)
    with capsys.disabled():
        print("\n600 tokens, redraw ms (drawing, to the next frame):",
              {kind: [(round(drawn), round(total)) for drawn, total in measured] for kind, measured in timings.items()})
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.page.screenshot(path=str(SCREENSHOTS / "view-long.png"), full_page=True)
    set_range(page, 301, 300 + WINDOW)
    page.page.screenshot(path=str(SCREENSHOTS / "view-long-range.png"), full_page=True)

    choose(page.page, "#head-view select[name=example]", 1)  # a short example: no range, every query drawn
    assert page.page.locator(query_from).is_hidden()
    assert not scroller.evaluate("(element) => element.classList.contains('scrolling')")
    assert set(drawn_lines(page.svg("#head-view svg"))) == expected_lines(stored(data, 1)[0, 1], range(40))


def test_model_view_has_a_thumbnail_per_head_that_opens_it(tmp_path, opened):
    path, _ = view_page(tmp_path, [example_maps(np.random.default_rng(2), 12)], (0, 0), "model.html")
    page = opened(path).page
    thumbnails = page.locator("#model-view rect.thumbnail")
    assert thumbnails.count() == GRID[0] * GRID[1]
    assert sorted(int(flat) for flat in thumbnails.evaluate_all("(rects) => rects.map((rect) => rect.dataset.head)")
                  ) == list(range(GRID[0] * GRID[1]))
    page.hover("#model-view rect.thumbnail[data-head='4']")
    assert page.locator("#tooltip").inner_text().splitlines() == ["Head 2-2", "click: show it in the head view"]
    page.click("#model-view rect.thumbnail[data-head='4']")
    assert page.locator("#model-view svg").get_attribute("data-head") == "4"
    assert page.locator("#head-view svg text").first.text_content() == "Head 2-2"
