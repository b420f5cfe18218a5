"""The report pages (analysis/report/page.py and analysis/report/assets/): what they keep and how, that every script
writes one (unless --no-html) that loads nothing from anywhere, and, in headless Chromium (Debian's `chromium`,
driven by Playwright), that they draw the data: the head view's lines are the maps' weights, hiding [CLS]/[SEP]
renormalises, exports are valid SVG and PNG, tables sort, every head is hoverable and clickable, and the notebooks
show the same pages inline. Expected values come from the attention pickles (or the page's stored bytes, decoded
here), never from the page's code.
"""

import base64
import html
import json
import re
import struct
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, Opened, run_notebook
from syntax_fixtures import make_examples
from test_coref_analysis import planted_windows

import coref_analysis
import general_analysis
import gradient_importance
import report_index
import syntax_analysis
import utils
from analysis.report import page as report_page

SVG = "{http://www.w3.org/2000/svg}"
SEGMENT = re.compile(r"M([-\d.]+) ([-\d.]+)L([-\d.]+) ([-\d.]+)")
STEP = 1 / 255  # a stored weight is round(255 * sqrt(w)): its square root is exact to half a step
MIN_WEIGHT = 0.002  # lighter lines are not drawn
SPECIAL = ("[CLS]", "[SEP]")
SCREENSHOTS = ROOT / "out" / "screenshots"


def page_data(page: str) -> dict:
    """The JSON data inside a page."""
    found = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', page, re.S)
    return json.loads(found.group(1))


def decoded(weights: str, shape: tuple[int, ...]) -> np.ndarray:
    """Stored weights back to weights: base64 of bytes round(255 sqrt(w)) -> w."""
    return (np.frombuffer(base64.b64decode(weights), np.uint8).reshape(shape) / 255.0) ** 2


class Markup(HTMLParser):
    """A page's tags with their attributes, and the text of its scripts and styles."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self.feed(page)

    def handle_starttag(self, tag: str, attributes: list) -> None:
        self.tags.append((tag, dict(attributes)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def assert_self_contained(page: str) -> None:
    """Nothing that a browser would load: no element that loads (img, link, iframe...) and no src or href attribute,
    no url() or @import in styles, no request API in scripts, no http(s) address but the SVG namespace's; and a
    policy that forbids any request."""
    markup = Markup(page)
    assert not {tag for tag, _ in markup.tags} & {"link", "img", "iframe", "frame", "object", "embed", "audio",
                                                   "video", "source", "base", "use", "image"}
    assert not [(tag, attributes) for tag, attributes in markup.tags
                if set(attributes) & {"src", "srcset", "href", "poster", "action", "formaction", "background"}]
    text = "\n".join(markup.text)
    for loader in ("url(", "@import", "fetch(", "XMLHttpRequest", "WebSocket", "EventSource", "sendBeacon",
                   "importScripts", "import("):
        assert loader not in text, loader
    addresses = set(re.findall(r"(?:https?:)?//[a-z0-9-]+(?:\.[a-z0-9-]+)+[^\s\"'<>)]*", page, re.I))
    assert addresses <= {"http://www.w3.org/2000/svg"}, addresses
    content_policy = next(attributes["content"] for tag, attributes in markup.tags
                          if tag == "meta" and attributes.get("http-equiv") == "Content-Security-Policy")
    assert content_policy.startswith("default-src 'none';") and "http" not in content_policy


# ---------------------------------------------------------------------------- compact data


def test_stored_weights_keep_the_drawn_opacity_to_half_a_step():
    weights = np.random.default_rng(0).dirichlet(np.full(40, 0.3), size=(2, 3, 40)).astype(np.float16)
    back = decoded(report_page.encode_weights(weights), weights.shape)
    assert np.abs(np.sqrt(back) - np.sqrt(weights.astype(np.float64))).max() <= STEP / 2 + 1e-9
    assert back[weights > 4e-6].min() > 0  # weights down to 4e-6 stay visible


def test_head_view_keeps_figure_1s_example_first_within_its_caps():
    rng = np.random.default_rng(1)
    lengths = [4, 6, 3, 8, 5, 4]
    examples = [(index, {"tokens": [f"t{index}.{i}" for i in range(n)]}, rng.dirichlet(np.ones(n), size=(1, 2, n)))
                for index, n in enumerate(lengths)]
    kept = report_page.HeadViewExamples(first_index=3, max_examples=3, max_tokens=5)
    for example in examples:
        kept.add(*example)
    data = kept.to_json()
    assert [example["index"] for example in data["examples"]] == [3, 0, 1]  # Figure 1's first, then file order
    cropped = data["examples"][0]
    assert cropped["tokens"] == [f"t3.{i}" for i in range(5)] and cropped["n_tokens"] == 8
    back = decoded(cropped["weights"], (1, 2, 5, 5))
    assert np.abs(np.sqrt(back) - np.sqrt(examples[3][2][:, :, :5, :5])).max() <= STEP / 2 + 1e-9
    assert data["note"].startswith("Showing 3 of 6 examples") and "example 3 (8 tokens)" in data["note"]

    by_weights = report_page.HeadViewExamples(max_weights=2 * (16 + 36))  # room for examples 0 and 1 only
    for example in examples:
        by_weights.add(*example)
    assert [example["index"] for example in by_weights.to_json()["examples"]] == [0, 1]


def test_rounding_keeps_four_significant_digits_and_nulls():
    assert report_page.rounded([[0.123456, 12345.6], [float("nan"), None]]) == [[0.1235, 12350.0], [None, None]]


def test_notebook_frame_holds_the_whole_page_escaped():
    page = report_page.page_html("A & B", "index", {"pages": [{"href": "a/report.html", "title": 'x"<y>'}]})
    frame = report_page.notebook_frame(page)
    srcdoc = re.fullmatch(r'<iframe srcdoc="([^"]*)" [^>]*></iframe>', frame).group(1)
    assert html.unescape(srcdoc) == page


# ---------------------------------------------------------------------------- pages written by the scripts


def general_examples(rng: np.random.Generator) -> list[dict]:
    """Four token-level examples with [CLS], [SEP] and random 2 x 3-head maps."""
    examples = []
    for n in (7, 10, 12, 9):
        tokens = ["[CLS]", *rng.choice(["a", "b", ".", "http://x.org"], size=n - 3).tolist(), "[SEP]", "[SEP]"]
        examples.append({"tokens": tokens, "attns": rng.dirichlet(np.ones(n), size=(2, 3, n)).astype(np.float16)})
    return examples


def run_scripts(tmp_path: Path, *extra: str) -> Path:
    """The three analyses and gradient importance (--debug) on small data, into
    tmp_path/{general,syntax,coref,gradients} (with `extra` flags)."""
    utils.write_pickle(tmp_path / "general_attn.pkl", general_examples(np.random.default_rng(2)))
    utils.write_json(tmp_path / "examples.json", [{"text": "The cat sat on the mat, then it slept."},
                                                  {"words": ["Dogs", "bark", "."]}])
    utils.write_pickle(tmp_path / "dev_attn.pkl", make_examples(1, 10, planted=(0, 1)))
    utils.write_pickle(tmp_path / "coref_attn.pkl", planted_windows(3, 20))
    general_analysis.main(["--attn-data-file", str(tmp_path / "general_attn.pkl"), "--outdir",
                           str(tmp_path / "general"), *extra])
    syntax_analysis.main(["--attn-data-file", str(tmp_path / "dev_attn.pkl"), "--min-count", "3", "--outdir",
                          str(tmp_path / "syntax"), *extra])
    coref_analysis.main(["--attn-data-file", str(tmp_path / "coref_attn.pkl"), "--outdir", str(tmp_path / "coref"),
                         *extra])
    gradient_importance.main(["--preprocessed-data-file", str(tmp_path / "examples.json"), "--debug", "--outdir",
                              str(tmp_path / "gradients"), *extra])
    return tmp_path


def test_every_analysis_writes_a_self_contained_page(tmp_path):
    run_scripts(tmp_path)
    for name in ("general", "syntax", "coref", "gradients"):
        page = (tmp_path / name / "report.html").read_text(encoding="utf-8")
        assert_self_contained(page.replace("http://x.org", ""))  # the tokens' address is data, never loaded
        data = page_data(page)
        assert data["source"].endswith("examples.json" if name == "gradients" else "_attn.pkl")
        run = utils.read_json(next((tmp_path / name).glob("*.json")))["run"]
        assert "no_html" not in json.dumps(run["options"])  # it changes no number
    general = page_data((tmp_path / "general" / "report.html").read_text(encoding="utf-8"))
    assert [example["index"] for example in general["head_view"]["examples"]] == [0, 1, 2, 3]
    syntax = page_data((tmp_path / "syntax" / "report.html").read_text(encoding="utf-8"))
    table = utils.read_json(tmp_path / "syntax" / "syntax.json")["table"]
    assert [row["relation"] for row in syntax["table"]] == [row["relation"] for row in table]
    gradients_page = (tmp_path / "gradients" / "report.html").read_text(encoding="utf-8")
    gradients, output = page_data(gradients_page), utils.read_json(tmp_path / "gradients" / "gradients.json")
    assert gradients["grid"] == output["grid"] == [3, 12] and gradients["n_examples"] == 2 and gradients["debug"]
    assert "random --debug model" in report_page.page_summary(tmp_path / "gradients" / "report.html")[1]
    for key in ("grad_importance", "avg_attn"):
        assert gradients[key] == {name: report_page.rounded(values) for name, values in output[key].items()}


def test_no_html_writes_no_page(tmp_path):
    run_scripts(tmp_path, "--no-html")
    assert not list(tmp_path.rglob("report.html"))
    assert (tmp_path / "general" / "general.json").is_file() and (tmp_path / "coref" / "coref.json").is_file()
    assert (tmp_path / "gradients" / "gradients.json").is_file()


def test_index_links_every_page_below_it(tmp_path, capsys):
    for folder, kind in (("a", "coref"), ("b", "general"), ("c/d", "index")):
        (tmp_path / folder).mkdir(parents=True)
        utils.write_text(tmp_path / folder / "report.html", report_page.page_html(f"<{folder}>", kind, {}))
    report_index.main(["--outdir", str(tmp_path)])
    index = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert page_data(index)["pages"] == [{"href": "b/report.html", "title": "<b>"},  # the paper's order
                                         {"href": "a/report.html", "title": "<a>"},
                                         {"href": "c/d/report.html", "title": "<c/d>"}]
    assert f"wrote {tmp_path / 'index.html'}" in capsys.readouterr().err
    with pytest.raises(utils.InputError, match="no report.html"):
        report_index.main(["--outdir", str(tmp_path / "general" / "empty")])


# ---------------------------------------------------------------------------- in the browser


PAGES = {"general": "general/report.html", "gradients": "gradients/report.html", "syntax": "syntax/report.html",
         "coref": "coref/analysis/report.html", "compare": "compare/report.html", "view": "view/report.html",
         "index": "index.html"}  # the index last: the links are read from it


@pytest.fixture
def opened(browser, demo) -> Iterator:
    """Open a demo page by its name in PAGES (here, instead of conftest's by path); closing checks no error and no
    request past file:."""
    pages = []

    def open_page(name: str) -> Opened:
        pages.append(Opened(browser, demo / PAGES[name]))
        return pages[-1]

    yield open_page
    for page in pages:
        page.close()


def drawn_lines(svg: ET.Element, group: str = "lines") -> dict[tuple[int, int], tuple[float, float]]:
    """(query, key) -> (opacity, width) of every line of an attention panel's group: a path holds the lines of one
    opacity, one "M x1 y1 L x2 y2" segment each; the ends' heights are the tokens' rows."""
    rows = {side: {text.get("y"): int(text.get("data-index")) for text in svg.iter(f"{SVG}text")
                   if f"token {side}" == text.get("class")} for side in ("query", "key")}
    lines = {}
    for element in svg.iter(f"{SVG}g"):
        if element.get("class") != group:
            continue
        for path in element:
            for _, y1, _, y2 in SEGMENT.findall(path.get("d")):
                pair = (rows["query"][y1], rows["key"][y2])
                assert pair not in lines
                lines[pair] = (float(path.get("stroke-opacity")), float(path.get("stroke-width")))
    return lines


def assert_lines_show(lines: dict, weights: np.ndarray, tolerance: float) -> None:
    """The lines are the weights `[m, m]`: opacity sqrt(w) and width 0.2 + 2.5 w within `tolerance` (of the opacity),
    drawn exactly where w >= MIN_WEIGHT (up to the same tolerance on sqrt(w))."""
    roots = np.sqrt(weights)
    for (query, key), (opacity, width) in lines.items():
        assert abs(opacity - roots[query, key]) <= tolerance, (query, key)
        assert abs(width - (0.2 + 2.5 * weights[query, key])) <= 5 * tolerance + 1e-3
    drawn = np.zeros(weights.shape, bool)
    drawn[tuple(np.array(list(lines)).T)] = True
    assert not (drawn & (roots < np.sqrt(MIN_WEIGHT) - tolerance)).any()
    assert (drawn | (roots < np.sqrt(MIN_WEIGHT) + tolerance)).all()


def choose(page, selector: str, value: int) -> None:
    """Pick the option of value `value` in the <select> at `selector` (by its place: Playwright matches a string
    against labels too, and option "1" is labelled 2 where option "0" is labelled 1)."""
    assert page.locator(f"{selector} option").nth(int(value)).get_attribute("value") == str(value)
    page.select_option(selector, index=int(value))


@pytest.mark.slow
def test_pages_load_from_disk_offline_without_errors(opened, demo, capsys):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for name in PAGES:
        assert_self_contained((demo / PAGES[name]).read_text(encoding="utf-8"))
        page = opened(name).page
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    links = page.locator("ul.pages a").evaluate_all("(links) => links.map((link) => link.getAttribute('href'))")
    assert links == [  # the paper's order (general, gradients, syntax, coreference), then the others; by path within
        "corpus/deberta/report.html", "corpus/general/report.html", "corpus/long/report.html",
        "corpus/roberta/report.html", PAGES["general"], "general_norm/report.html",
        "mixing/report.html", PAGES["gradients"],
        "corpus/syntax_ray/report.html", PAGES["syntax"], "syntax_alti/report.html", PAGES["coref"], PAGES["compare"],
        PAGES["view"]]
    with capsys.disabled():
        print(f"\nscreenshots of the report pages: {SCREENSHOTS}")


@pytest.mark.slow
def test_head_view_draws_the_chosen_heads_weights(opened, demo):
    page = opened("general")
    maps = utils.read_examples(demo / "unlabeled_attn.pkl")[0]["attns"].astype(np.float64)  # the first example
    drawings = []
    for layer, head in [(0, 0), (1, 8), (5, 11), (3, 2)]:
        choose(page.page, "#head-view select[name=layer]", layer)
        choose(page.page, "#head-view select[name=head]", head)
        lines = drawn_lines(page.svg("#head-view svg"))
        assert_lines_show(lines, maps[layer, head], STEP / 2 + 1e-4)
        assert page.page.locator("#head-view svg text").first.text_content().startswith(f"Head {layer + 1}-{head + 1}")
        drawings.append(lines)
    assert all(first != second for first, second in zip(drawings, drawings[1:], strict=False))


@pytest.mark.slow
def test_hiding_special_tokens_renormalises_the_rows(opened, demo):
    page = opened("general")
    tokens = utils.read_examples(demo / "unlabeled_attn.pkl")[0]["tokens"]
    example = page_data((demo / PAGES["general"]).read_text(encoding="utf-8"))["head_view"]["examples"][0]
    n = len(tokens)
    stored = decoded(example["weights"], (6, 12, n, n))  # what the page holds, decoded here
    shown = [position for position, token in enumerate(tokens) if token not in SPECIAL]
    special_share = stored[:, :, shown][..., [tokens.index(token) for token in SPECIAL]].sum(-1).mean(-1)
    layer, head = np.unravel_index(np.argmax(special_share), special_share.shape)  # where hiding matters most
    choose(page.page, "#head-view select[name=layer]", layer)
    choose(page.page, "#head-view select[name=head]", head)
    page.page.check("#head-view input[name=hide-special]")

    svg = page.svg("#head-view svg")
    assert [text.text for text in svg.iter(f"{SVG}text") if text.get("class") == "token query"] == [
        tokens[position] for position in shown]
    visible = stored[layer, head][np.ix_(shown, shown)]
    renormalised = visible / visible.sum(1, keepdims=True)
    lines = drawn_lines(svg)
    assert_lines_show(lines, renormalised, STEP / 2 + 1e-4)
    assert max(abs(opacity - np.sqrt(visible[pair])) for pair, (opacity, _) in lines.items()) > 0.1


@pytest.mark.slow
def test_export_gives_a_valid_svg_and_png(opened):
    page = opened("general")
    choose(page.page, "#head-view select[name=layer]", 2)
    with page.page.expect_download() as download:
        page.page.click("#head-view .export-svg")
    exported = ET.parse(download.value.path()).getroot()
    assert exported.tag == f"{SVG}svg" and download.value.suggested_filename.startswith("general-head-view-3-")
    assert drawn_lines(exported) == drawn_lines(page.svg("#head-view svg"))
    assert not [element for element in exported.iter() if element.get("class") == "hover-only"]
    with page.page.expect_download() as download:
        page.page.click("#head-view .export-png")
    png = Path(download.value.path()).read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", png[16:24]) == (2 * int(exported.get("width")), 2 * int(exported.get("height")))
    for view in ("#model-view", "#figure-2", "#figure-4", "#figure-6"):
        with page.page.expect_download() as download:
            page.page.click(f"{view} .export-svg")
        assert ET.parse(download.value.path()).getroot().tag == f"{SVG}svg"


def tooltip_number(page, label: str) -> float:
    """The number after `label: ` in the tooltip."""
    return float(re.search(re.escape(label) + r":? ([-\d.]+)", page.locator("#tooltip").inner_text()).group(1))


@pytest.mark.slow
def test_every_head_is_described_on_hover_and_opens_on_click(opened, demo):
    page = opened("general").page
    general = utils.read_json(demo / "general" / "general.json")
    n_heads = general["n_heads"]
    for flat in (0, 17, 71):
        layer, head = divmod(flat, n_heads)
        point = page.locator(f"#figure-2 circle[data-head='{flat}'][data-series='[CLS]']")
        box = point.bounding_box()
        point.dispatch_event("mousemove", {"clientX": box["x"], "clientY": box["y"]})  # points may overlap
        assert page.locator("#tooltip").inner_text().startswith(f"Head {layer + 1}-{head + 1}")
        assert abs(tooltip_number(page, "[CLS]") - general["avg_attn"]["cls"][layer][head]) <= 6e-4
        assert abs(tooltip_number(page, "entropy") - general["entropy"][layer][head]) <= 6e-3
    page.locator("#figure-6 circle[data-head='29']").dispatch_event("click")
    assert page.input_value("#head-view select[name=layer]") == "2"
    assert page.input_value("#head-view select[name=head]") == "5"
    page.click("#model-view rect.thumbnail[data-head='13']")
    assert page.locator("#model-view svg").get_attribute("data-head") == "13"
    assert page.locator("#head-view svg text").first.text_content().startswith("Head 2-2")


@pytest.mark.slow
def test_syntax_table_sorts_and_rows_open_their_head(opened, demo):
    page = opened("syntax")
    table = utils.read_json(demo / "syntax" / "syntax.json")["table"]
    column = "#table-1 tbody td:nth-child(5)"
    page.page.click("#table-1 th:has-text('accuracy (%)') >> nth=0")
    shown = [float(text) for text in page.page.locator(column).all_text_contents()]
    expected = sorted((100 * row["accuracy"] for row in table), reverse=True)
    assert np.allclose(shown, expected, rtol=0, atol=0.051)  # percent with one decimal
    page.page.click("#table-1 th:has-text('relation')")
    assert page.page.locator("#table-1 tbody td:nth-child(1)").all_text_contents() == sorted(
        row["relation"] for row in table)

    row = table[1]
    page.page.click(f"#table-1 tbody tr:has(td:text-is('{row['relation']}'))")
    sentence = next(example for example in utils.read_examples(demo / "depparse" / "dev_attn.pkl")
                    if len(example["words"]) <= 20 and row["relation"] in example["relns"])
    svg = page.svg("#relation-view svg")
    red = {int(text.get("data-index")) for text in svg.iter(f"{SVG}text") if text.get("class") == "token query"
           and text.get("fill") == "#d62728"}
    dependents = [word for word, label in enumerate(sentence["relns"], start=1) if label == row["relation"]]
    assert red == set(dependents if row["direction"] == "dep->head" else [sentence["heads"][word - 1]
                                                                          for word in dependents])
    maps = sentence["attns"][row["layer"], row["head"]].astype(np.float64)
    lines = {**drawn_lines(svg), **drawn_lines(svg, "lines-highlight")}
    assert_lines_show(lines, maps, STEP / 2 + 1e-4)
    probes = utils.read_json(demo / "syntax" / "syntax.json")["probes"]
    shown = [float(text) for text in page.page.locator("#table-3 tbody td:nth-child(2)").all_text_contents()]
    assert np.allclose(shown, [100 * value for value in probes.values()], rtol=0, atol=0.051)


@pytest.mark.slow
def test_coref_heat_map_describes_and_opens_every_head(opened, demo):
    page = opened("coref")
    coref = utils.read_json(demo / "coref" / "analysis" / "coref.json")
    n_heads = coref["grid"][1]
    flat = 40
    layer, head = divmod(flat, n_heads)
    page.page.hover(f"#head-accuracy rect[data-head='{flat}']")
    tooltip = page.page.locator("#tooltip").inner_text()
    for category in ("all", "pronoun", "proper", "nominal"):
        value = coref["head_accuracy"][category][layer][head]
        shown = re.search(rf"{category}: ([-\d.]+)%", tooltip).group(1)
        assert shown == "-" if value is None else abs(float(shown) - 100 * value) <= 0.051
    page.page.click(f"#head-accuracy rect[data-head='{flat}']")
    assert page.page.locator("#mention-view svg").get_attribute("data-head") == str(flat)
    best = coref["best_head"]
    best_row = page.page.locator("#table-2 tbody tr:last-child td:first-child").inner_text()
    assert best_row == f"Head {best['label']} (best)"


# in the page: hover each head's point of each panel of Figure 3; [[flat, series, tooltip text]] per panel
HOVER_EVERY_POINT = """() => [...document.querySelectorAll("#figure-3 g.panel")].map((panel) =>
  [...panel.querySelectorAll("circle.head-mark")].map((point) => {
    const box = point.getBoundingClientRect();
    point.dispatchEvent(new MouseEvent("mousemove", {clientX: box.x, clientY: box.y}));
    return [Number(point.dataset.head), point.dataset.series, document.getElementById("tooltip").innerText];
  }))"""
GRADIENT_SERIES = {"[SEP]": "sep", ". or ,": "punct", "other tokens": "other"}


def tooltip_six_numbers(tooltip: str) -> dict[str, list[float]]:
    """The gradient importances and attentions ([SEP], . or ,, other) that a gradient page's tooltip shows."""
    numbers = {}
    for name, prefix in (("grad_importance", r"mean \|dL/dα\|"), ("avg_attn", "average attention")):
        found = re.search(prefix + r": \[SEP\] (\S+), \. or , (\S+), other tokens (\S+)", tooltip)
        numbers[name] = [float(value) for value in found.groups()]
    return numbers


@pytest.mark.slow
def test_gradient_page_describes_every_head_sorts_and_exports(opened, demo):
    assert_self_contained((demo / PAGES["gradients"]).read_text(encoding="utf-8"))
    page = opened("gradients").page
    output = utils.read_json(demo / "gradients" / "gradients.json")
    n_layers, n_heads = output["grid"]
    assert output["debug"] and "Its numbers mean nothing" in page.locator("p.warning").inner_text()

    panels = page.evaluate(HOVER_EVERY_POINT)
    assert len(panels) == 2
    for points in panels:
        assert sorted((flat, series) for flat, series, _ in points) == sorted(
            (flat, series) for flat in range(n_layers * n_heads) for series in GRADIENT_SERIES)
        for flat, _, tooltip in points:
            layer, head = divmod(flat, n_heads)
            assert tooltip.startswith(f"Head {layer + 1}-{head + 1}\n")
            shown = tooltip_six_numbers(tooltip)
            for position, key in enumerate(GRADIENT_SERIES.values()):
                expected = output["grad_importance"][key][layer][head]
                assert shown["grad_importance"][position] == pytest.approx(expected, rel=6e-3)
                assert abs(shown["avg_attn"][position] - output["avg_attn"][key][layer][head]) <= 6e-4
    page.locator("#figure-3 circle[data-head='17']").first.dispatch_event("click")
    assert page.locator("#heads tr.chosen td:first-child").inner_text() == f"{17 // n_heads + 1}-{17 % n_heads + 1}"

    labels = {f"{layer + 1}-{head + 1}": output["grad_importance"]["sep"][layer][head]
              for layer in range(n_layers) for head in range(n_heads)}
    for descending in (True, False):  # a numeric column sorts from the largest first, then the other way
        page.click("#heads th:has-text('|dL/dα| [SEP]')")
        heads = page.locator("#heads tbody td:nth-child(1)").all_text_contents()
        shown = [float(text) for text in page.locator("#heads tbody td:nth-child(2)").all_text_contents()]
        assert sorted(heads) == sorted(labels)
        assert shown == sorted(shown, reverse=descending) and shown[0] != shown[-1]
        assert np.allclose(shown, [labels[label] for label in heads], rtol=6e-3, atol=0)

    with page.expect_download() as download:
        page.click("#figure-3 .export-svg")
    exported = ET.parse(download.value.path()).getroot()
    assert exported.tag == f"{SVG}svg" and download.value.suggested_filename == "gradients-figure-3.svg"
    assert len([point for point in exported.iter(f"{SVG}circle") if point.get("data-head") is not None]) == (
        2 * len(GRADIENT_SERIES) * n_layers * n_heads)
    with page.expect_download() as download:
        page.click("#heads .export-svg")
    table = ET.parse(download.value.path()).getroot()
    assert table.tag == f"{SVG}svg" and "|dL/dα| [SEP]" in [text.text for text in table.iter(f"{SVG}text")]


@pytest.mark.slow
@pytest.mark.parametrize(("notebook", "environment", "view"), [
    ("General_Analysis.ipynb", {"ATTN_DATA_FILE": "unlabeled_attn.pkl", "HEAD_DISTANCES": "head_distances.pkl"},
     "#head-view svg g.lines path"),
    ("Syntax_Analysis.ipynb", {"DEV_ATTN_DATA_FILE": "depparse/dev_attn.pkl", "TRAIN_ATTN_DATA_FILE":
                               "depparse/train_attn.pkl", "PROBE_EPOCHS": "1", "MIN_COUNT": "5"}, "#table-3 tbody tr"),
    ("Coreference_Analysis.ipynb", {"ATTN_DATA_FILE": "coref/sample_attn.pkl"}, "#mention-view svg g.lines path"),
])
def test_notebooks_show_the_page_inline_offline(browser, demo, tmp_path, monkeypatch, notebook, environment, view):
    for name, value in environment.items():
        monkeypatch.setenv(name, str(demo / value) if value.endswith(".pkl") else value)
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    outputs = run_notebook(notebook, timeout=300)
    frames = [output["data"]["text/html"] for output in outputs if "<iframe srcdoc" in
              output.get("data", {}).get("text/html", "")]
    assert len(frames) == (2 if notebook == "General_Analysis.ipynb" else 1)  # the general one opens with view()
    (tmp_path / "notebook.html").write_text(f"<!DOCTYPE html><html><body>{frames[-1]}</body></html>",
                                            encoding="utf-8")
    shown = Opened(browser, tmp_path / "notebook.html", framed=True)
    assert shown.root.locator(view).count() > 0
    shown.close()
