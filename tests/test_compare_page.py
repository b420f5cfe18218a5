"""The comparison page (`page_html(..., "compare", data)`, analysis/report/assets/compare.js): several models' heads
on one plane (the head atlas), a head beside its nearest heads in the other models on the same sentence, the layer
means side by side and the models' Tables 1 and 2 side by side, in headless Chromium. Pages are built here from
synthetic data; expected lines come from the page's stored bytes, decoded here, never from the page's code.
"""

import re
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
    decoded,
    drawn_lines,
)

from analysis.report import page as report_page

pytestmark = pytest.mark.slow

MIN_WEIGHT = report_page.MIN_LINE_WEIGHT
MODELS = (("minilm", "dev_attn.pkl", (2, 3), 8), ("control", "control_attn.pkl", (3, 2), 9))  # label, source, grid, n
BEHAVIOURS = [["other", "other"], ["next", "next token"], ["prev", "previous token"], ["broad", "broad"],
              ["cls", "[CLS]"], ["sep", "[SEP]"], ["punct", ". or ,"]]
STATISTICS = ("cls", "sep", "punct", "self", "next", "prev", "entropy")


def compare_data(seed: int = 0, tables: bool = True) -> dict:
    """A consistent comparison of two models of different grids (and tokenisations of one sentence): random
    row-normalised maps, random atlas points, nearest heads from a random symmetric distance matrix."""
    rng = np.random.default_rng(seed)
    heads, head_model, head_flat, examples, layers = [], [], [], [], []
    for model, (label, _, (n_layers, n_heads), n) in enumerate(MODELS):
        for flat in range(n_layers * n_heads):
            heads.append(f"{label}:{flat // n_heads + 1}-{flat % n_heads + 1}")
            head_model.append(model)
            head_flat.append(flat)
        words = [f"w{position}" for position in range(1, 7)]
        tokens = ["[CLS]", *words, "[SEP]"] if n == 8 else ["[CLS]", *words[:3], "##x", *words[3:], "[SEP]"]
        maps = rng.dirichlet(np.full(n, 0.4), size=(n_layers, n_heads, n))
        examples.append({"index": 3, "tokens": tokens, "n_tokens": n, "weights": report_page.encode_weights(maps)})
        layers.append({"label": label, "depth": report_page.rounded([(layer + 1) / n_layers
                                                                     for layer in range(n_layers)]),
                       **{key: report_page.rounded(rng.uniform(0, 3 if key == "entropy" else 0.6, n_layers))
                          for key in STATISTICS}})
    n_total = len(heads)
    distances = rng.uniform(0.01, 0.5, (n_total, n_total))
    distances = (distances + distances.T) / 2
    nearest = []
    for index in range(n_total):
        row = []
        for other in range(len(MODELS)):
            if other == head_model[index]:
                continue
            candidates = [j for j in range(n_total) if head_model[j] == other]
            best = min(candidates, key=lambda j: distances[index, j])
            row.append([other, head_flat[best], report_page.rounded(distances[index, best])])
        nearest.append(row)

    def table(key: str, names: list[str]) -> dict:
        return {"columns": [label for label, *_ in MODELS], "rows": [
            {key: name, "count": int(rng.integers(10, 200)),
             "cells": [[f"{int(rng.integers(n_layers)) + 1}-{int(rng.integers(n_heads)) + 1}",
                        report_page.rounded(rng.uniform(0.1, 0.9))] for _, _, (n_layers, n_heads), _ in MODELS]}
            for name in names]}

    return {"source": "minilm against control on dev", "heads": heads, "head_model": head_model,
            "head_flat": head_flat,
            "models": [{"label": label, "source": source, "grid": list(grid), "map": "attn"}
                       for label, source, grid, _ in MODELS],
            "behaviour": rng.choice([label for label, _ in BEHAVIOURS], n_total).tolist(), "behaviours": BEHAVIOURS,
            "mds": report_page.rounded(rng.normal(size=(n_total, 2))), "nearest": nearest, "layers": layers,
            "table1": table("relation", ["nsubj", "dobj"]) if tables else None,
            "table2": table("type", ["all", "pronoun"]) if tables else None,
            "head_view": {"examples": examples, "note": "Cropped to nothing: a synthetic note."}}


def write_page(tmp_path: Path, data: dict, name: str = "compare.html") -> Path:
    """The page of `data`, written as tmp_path/name."""
    path = tmp_path / name
    path.write_text(report_page.page_html("Compare models", "compare", data), encoding="utf-8")
    return path


def stored_head(data: dict, index: int) -> np.ndarray:
    """Head `index`'s weights on its model's example, as the page holds them, decoded: [n, n]."""
    model, flat = data["head_model"][index], data["head_flat"][index]
    example = data["head_view"]["examples"][model]
    n = len(example["tokens"])
    return decoded(example["weights"], (*data["models"][model]["grid"], n, n)).reshape(-1, n, n)[flat]


def index_of(data: dict, model: int, flat: int) -> int:
    """The index (0..N-1) of a model's head."""
    return next(index for index in range(len(data["heads"]))
                if data["head_model"][index] == model and data["head_flat"][index] == flat)


def panels(page: Opened) -> list:
    """The same-sentence panels, each serialized by the browser and parsed here."""
    count = page.page.locator("#same-sentence g.compare-panel").count()
    return [page.svg(f"#same-sentence g.compare-panel:nth-of-type({place + 1})") for place in range(count)]


def assert_panels_show(page: Opened, data: dict, index: int) -> None:
    """The panels are head `index` and its nearest head in each other model, each drawing its stored weights."""
    expected = [index, *[index_of(data, model, flat) for model, flat, _ in data["nearest"][index]]]
    drawn = panels(page)
    assert [int(panel.get("data-head")) for panel in drawn] == expected
    assert len(drawn) == len(data["models"])
    for panel, head in zip(drawn, expected, strict=True):
        titles = [text.text for text in panel.iter(f"{SVG}text") if "token" not in (text.get("class") or "")]
        assert titles[0].startswith(data["heads"][head] + ":")
        weights = stored_head(data, head)
        lines = drawn_lines(panel)
        assert len(lines) == int((weights >= MIN_WEIGHT).sum())
        assert_lines_show(lines, weights, STEP / 2 + 1e-4)
    for panel, (model, _, distance) in zip(drawn[1:], data["nearest"][index], strict=True):
        subtitle = [text.text for text in panel.iter(f"{SVG}text") if "token" not in (text.get("class") or "")][1]
        assert subtitle == f"nearest in {data['models'][model]['label']}, {distance:.3f} nats"


def test_page_names_every_model_and_draws_every_head_in_the_atlas(tmp_path, opened):
    data = compare_data()
    path = write_page(tmp_path, data)
    assert_self_contained(path.read_text(encoding="utf-8"))
    page = opened(path)
    assert page.page.locator("header .source").inner_text() == (
        "Source: minilm against control on dev: 2 models (minilm 2×3, control 3×2); heads are 1-based "
        "label:layer-head")
    text = page.page.locator("body").inner_text()
    for label, source, (n_layers, n_heads), _ in MODELS:
        assert label in text and source in text and f"{n_layers} layers × {n_heads} heads" in text
    marks = page.page.locator("#atlas svg .head-mark")
    assert marks.count() == len(data["heads"])
    assert sorted(int(head) for head in marks.evaluate_all("(marks) => marks.map((mark) => mark.dataset.head)")
                  ) == list(range(len(data["heads"])))
    shapes = marks.evaluate_all("(marks) => marks.map((mark) => mark.dataset.shape || 'circle')")
    by_behaviour = {}
    for head, shape in zip(marks.evaluate_all("(marks) => marks.map((mark) => Number(mark.dataset.head))"), shapes,
                           strict=True):
        by_behaviour.setdefault(data["behaviour"][head], set()).add(shape)
    assert all(len(found) == 1 for found in by_behaviour.values())  # one shape a behaviour
    assert len({next(iter(found)) for found in by_behaviour.values()}) == len(by_behaviour)  # and its own
    legend = [text.text_content() for text in page.page.locator("#atlas svg > text").all()]
    assert {"minilm", "control"} <= set(legend)
    assert {name for label, name in BEHAVIOURS if label in data["behaviour"]} <= set(legend)

    for index in (0, 4, 7, len(data["heads"]) - 1):
        mark = page.page.locator(f"#atlas svg .head-mark[data-head='{index}']")
        box = mark.bounding_box()
        mark.dispatch_event("mousemove", {"clientX": box["x"], "clientY": box["y"]})  # points may overlap
        tooltip = page.page.locator("#tooltip").inner_text().splitlines()
        assert tooltip[0].startswith(data["heads"][index] + ": ")
        for model, flat, distance in data["nearest"][index]:
            label = data["models"][model]["label"]
            assert f"nearest in {label}: {data['heads'][index_of(data, model, flat)]}, {distance:.3f} nats" in tooltip

    page.page.select_option("#atlas select[name=colour-by]", "depth")  # colour by layer: same marks, same shapes
    assert page.page.locator("#atlas svg .head-mark").count() == len(data["heads"])
    assert "relative depth 0.5" in [text.text_content() for text in page.page.locator("#atlas svg > text").all()]
    with page.page.expect_download() as download:
        page.page.click("#atlas .export-svg")
    assert download.value.suggested_filename == "compare-atlas.svg"


def test_clicking_a_head_draws_it_beside_its_nearest_heads(tmp_path, opened):
    data = compare_data(1)
    page = opened(write_page(tmp_path, data))
    assert "a synthetic note" in page.page.locator("#same-sentence .note").inner_text()
    assert_panels_show(page, data, 0)  # at first: model 0's first head
    for index in (5, 6, 11, 2):  # heads of both models
        page.page.locator(f"#atlas svg .head-mark[data-head='{index}']").dispatch_event("click")
        assert page.page.input_value("#same-sentence select[name=head]") == str(index)
        assert_panels_show(page, data, index)
        circled = {text.text_content() for text in page.page.locator("#atlas svg > text").all()}
        assert data["heads"][index] in circled  # the chosen head is named in the atlas
    page.page.select_option("#same-sentence select[name=head]", "9")
    assert_panels_show(page, data, 9)
    with page.page.expect_download() as download:
        page.page.click("#same-sentence .export-svg")
    assert download.value.suggested_filename == "compare-same-sentence-control_2-2.svg"

    charts = page.page.locator("#layers g.layer-chart")
    assert charts.count() == len(STATISTICS)
    for key in STATISTICS:
        assert page.page.locator(f"#layers g.layer-chart[data-statistic='{key}'] polyline.model-line").count() == 2
    page.page.click("#layers summary")
    numbers = page.page.locator("#layers table").nth(1).locator("tbody td:nth-child(3)").all_text_contents()
    assert [float(value) for value in numbers] == pytest.approx(data["layers"][1]["cls"], abs=5e-4)


def test_tables_sort_and_a_head_cell_shows_that_head(tmp_path, opened):
    data = compare_data(2)
    page = opened(write_page(tmp_path, data))
    rows = data["table1"]["rows"]
    header = [text.strip() for text in page.page.locator("#table-1 th").all_text_contents()]
    assert header == ["relation", "count", "minilm head", "minilm accuracy (%)", "control head",
                      "control accuracy (%)"]
    page.page.click("#table-1 th:text-is('control accuracy (%)')")
    shown = page.page.locator("#table-1 tbody td:nth-child(6)").all_text_contents()
    expected = sorted((row["cells"][1][1] for row in rows), reverse=True)  # numbers: largest first
    assert shown == [f"{100 * value:.1f}" for value in expected]
    page.page.click("#table-1 th:text-is('relation')")
    assert page.page.locator("#table-1 tbody td:nth-child(1)").all_text_contents() == sorted(
        row["relation"] for row in rows)

    row = sorted(rows, key=lambda row: row["relation"])[1]
    layer, head = (int(part) - 1 for part in row["cells"][1][0].split("-"))
    index = index_of(data, 1, layer * MODELS[1][2][1] + head)
    page.page.click("#table-1 tbody tr:nth-child(2) td:nth-child(5)")
    assert_panels_show(page, data, index)
    assert page.page.locator("#table-1 td.head-cell.chosen").first.inner_text() == row["cells"][1][0]
    assert page.page.locator("#table-2 tbody tr").count() == 2
    assert page.page.locator("#table-2 th").first.inner_text().strip() == "mention type"
    row2 = data["table2"]["rows"][0]
    layer, head = (int(part) - 1 for part in row2["cells"][0][0].split("-"))
    page.page.click("#table-2 tbody tr:nth-child(1) td:nth-child(3)")
    assert_panels_show(page, data, index_of(data, 0, layer * MODELS[0][2][1] + head))
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.page.evaluate("window.scrollTo(0, 0)")
    page.page.screenshot(path=str(SCREENSHOTS / "compare.png"), full_page=True)


def test_without_tables_their_sections_are_absent(tmp_path, opened):
    data = compare_data(3, tables=False)
    page = opened(write_page(tmp_path, data, "no-tables.html"))
    assert page.page.locator("#table-1").count() == 0 and page.page.locator("#table-2").count() == 0
    assert [re.sub(r"\s+", " ", link) for link in page.page.locator("header nav a").all_text_contents()] == [
        "Head atlas", "Same sentence", "Layers side by side"]
    assert_panels_show(page, data, 0)
