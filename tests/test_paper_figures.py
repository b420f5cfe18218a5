"""The `--paper` preset (analysis/report/paper.py): on a synthetic 12 x 12 grid, Figures 1, 5 and 6 are the original
notebooks' (their heads, examples, cut, words, colours and MDS settings, read off the matplotlib objects); other
grids, missing examples and options the preset fixes are refused in one line before the long pass.

The synthetic runs write their figures to out/paper_check/ (git-ignored) for a look by eye.
"""

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.colors
import numpy as np
import pytest
import sklearn.manifold
from conftest import ROOT, input_error, run_notebook
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from scipy.spatial import distance_matrix

import general_analysis
import syntax_analysis
import utils
from analysis.engines import maps
from analysis.general import pipeline as general_pipeline
from analysis.heads import HeadGrid
from analysis.report import figures, paper
from analysis.syntax import pipeline as syntax_pipeline

CHECK_DIR = ROOT / "out" / "paper_check"
SKIPPED = {"text": "too long", "skipped": "longer than max_sequence_length"}
# Figure 1's example: 25 tokens, so the cut to the last 15 drops 10; periods and [SEP] for the heads to find.
FIGURE1_TEXT = "the cat sat on the mat . it was warm , so the dog slept near the door . then it rained ."
FIGURE1_TOKENS = ["[CLS]", *FIGURE1_TEXT.split(), "[SEP]"]
# Figure 5's dev sentences (words, gold heads, relations), each with its panel's words.
SENTENCES = {
    42: ("The firm raised new funds quickly .", [2, 3, 0, 5, 3, 3, 3], ["det", "nsubj", "root", "amod", "dobj",
                                                                          "advmod", "punct"]),
    1286: ("They announced plans for a new line .", [2, 0, 2, 3, 7, 7, 4, 2],
           ["nsubj", "root", "dobj", "prep", "det", "amod", "pobj", "punct"]),
    13: ("The language law took time .", [3, 3, 4, 0, 4, 4], ["det", "nn", "nsubj", "root", "dobj", "punct"]),
    1671: ("The executive fight lasted a long time .", [3, 3, 4, 0, 7, 7, 4, 4],
           ["det", "nn", "nsubj", "root", "det", "amod", "tmod", "punct"]),
    111: ("He sold his car .", [2, 0, 4, 2, 2], ["nsubj", "root", "poss", "dobj", "punct"]),
    244: ("The company 's profit fell and its shares rose .", [2, 4, 2, 5, 0, 5, 8, 9, 5, 5],
          ["det", "poss", "possessive", "nsubj", "root", "cc", "poss", "nsubj", "conj", "punct"]),
    192: ("The bill has been passed .", [2, 5, 5, 5, 0, 5], ["det", "nsubjpass", "aux", "auxpass", "root", "punct"]),
    680: ("The man was arrested .", [2, 4, 4, 0, 4], ["det", "nsubjpass", "auxpass", "root", "punct"]),
    975: ("He lives in a house with a garden .", [2, 0, 2, 5, 3, 5, 8, 6, 2],
          ["nsubj", "root", "prep", "det", "pobj", "prep", "det", "pobj", "punct"]),
    979: ("She went to the store of the town at noon .", [2, 0, 2, 5, 3, 5, 8, 6, 2, 9, 2],
          ["nsubj", "root", "prep", "det", "pobj", "prep", "det", "pobj", "prep", "pobj", "punct"]),
}


# ---------------------------------------------------------------------------- synthetic data


def planted_maps(rng: np.random.Generator, grid: tuple[int, int], targets: dict[tuple[int, int], np.ndarray],
                 n: int) -> np.ndarray:
    """float16 maps `[L, H, n, n]`: random rows, except that head (layer, head) of `targets` puts 0.85 of row i's
    attention on position targets[i]."""
    attns = rng.dirichlet(np.full(n, 0.5), size=(*grid, n))
    for (layer, head), columns in targets.items():
        attns[layer, head] *= 0.15
        attns[layer, head, np.arange(n), columns] += 0.85
    return attns.astype(np.float16)


def figure1_example(rng: np.random.Generator) -> dict:
    """Figure 1's example on a 12 x 12 grid: head 1-1 uniform, 3-1 to the next token, 8-7 to [SEP], 11-6 to the
    next period."""
    n = len(FIGURE1_TOKENS)
    positions = np.arange(n)
    periods = np.flatnonzero(np.array(FIGURE1_TOKENS) == ".")
    next_period = periods[np.minimum(np.searchsorted(periods, positions), len(periods) - 1)]
    targets = {(2, 0): np.minimum(positions + 1, n - 1), (7, 6): np.full(n, n - 1), (10, 5): next_period}
    attns = planted_maps(rng, tuple(paper.GRID), targets, n)
    attns[0, 0] = np.float16(1 / n)
    return {"tokens": list(FIGURE1_TOKENS), "attns": attns}


def write_general_data(directory: Path, grid: tuple[int, int] = (12, 12), count: int = 582) -> Path:
    """An attention pickle of `count` positions: small examples with maps at 0 to 4, Figure 1's at 581 (when
    `count` allows), skipped ones elsewhere; returns its path."""
    rng = np.random.default_rng(0)
    examples: list[dict] = [dict(SKIPPED) for _ in range(count)]
    for index in range(5):
        tokens = ["[CLS]", "a", ".", "b", "[SEP]"]
        examples[index] = {"tokens": tokens, "attns": rng.dirichlet(np.ones(5), size=(*grid, 5)).astype(np.float16)}
    if count > paper.FIGURE1_EXAMPLE:
        examples[paper.FIGURE1_EXAMPLE] = figure1_example(rng)
    path = directory / "unlabeled_attn.pkl"
    utils.write_pickle(path, examples)
    return path


def write_distances(directory: Path, n_heads: int) -> Path:
    """Head distances of random points in the plane, `[n_heads, n_heads]`."""
    points = np.random.default_rng(1).normal(size=(n_heads, 2))
    path = directory / "head_distances.pkl"
    utils.write_pickle(path, distance_matrix(points, points))
    return path


def dependency_example(rng: np.random.Generator, text: str, heads: list[int], relns: list[str],
                       grid: tuple[int, int]) -> dict:
    """A word-level dev example whose Figure 5 heads (on a 12 x 12 grid) point each word at its gold head."""
    words = text.split()
    n = len(words) + 2
    gold = np.array([0, *heads, n - 1])  # [CLS] and [SEP] attend to themselves, the root word to [CLS]
    targets = {}
    if tuple(grid) == tuple(paper.GRID):
        for panel in paper.FIGURE5_PANELS:
            targets[HeadGrid(*grid).pair(HeadGrid(*grid).parse(panel.head))] = gold
    return {"words": words, "heads": heads, "relns": relns, "tokens": ["[CLS]", *words, "[SEP]"],
            "attns": planted_maps(rng, grid, targets, n)}


def write_dev_data(directory: Path, grid: tuple[int, int] = (12, 12), leave_out: tuple[int, ...] = ()) -> Path:
    """A word-level dev pickle of 1,672 positions: Figure 5's sentences at their positions (but `leave_out`), the
    same sentences again at 0 to 9 so that relations count, skipped examples elsewhere; returns its path."""
    rng = np.random.default_rng(2)
    examples: list[dict] = [dict(SKIPPED) for _ in range(max(paper.figure5_indices()) + 1)]
    for offset, (index, sentence) in enumerate(SENTENCES.items()):
        examples[offset] = dependency_example(rng, *sentence, grid)
        if index not in leave_out:
            examples[index] = dependency_example(rng, *sentence, grid)
    path = directory / "dev_attn.pkl"
    utils.write_pickle(path, examples)
    return path


@pytest.fixture(scope="module")
def general_data(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("paper_general")
    write_general_data(directory)
    write_distances(directory, paper.GRID.size)
    return directory


@pytest.fixture(scope="module")
def dev_path(tmp_path_factory) -> Path:
    return write_dev_data(tmp_path_factory.mktemp("paper_syntax"))


# ---------------------------------------------------------------------------- reading figures back


def line_table(ax) -> list[tuple[int, int, tuple, float]]:
    """The lines of an attention-lines axes as (query position, key position, rgb, alpha, width)."""
    (lines,) = [child for child in ax.collections if isinstance(child, LineCollection)]
    rows = []
    for segment, color, width in zip(lines.get_segments(), lines.get_colors(), lines.get_linewidths(), strict=True):
        rows.append((round(-segment[0][1]), round(-segment[1][1]), tuple(np.round(color[:3], 6)), color[3], width))
    return rows


def side_labels(ax, left: bool) -> list:
    """The token texts of one side of an attention-lines axes, top to bottom."""
    texts = [text for text in ax.texts if (text.get_position()[0] < 0.5) == left]
    return sorted(texts, key=lambda text: -text.get_position()[1])


def rgb(color: str) -> tuple:
    return tuple(np.round(matplotlib.colors.to_rgb(color), 6))


class RecordedFigures:
    """save_figure's stand-in: draws and saves as usual, but keeps each figure's texts first."""

    def __init__(self, save):
        self.save, self.figures = save, {}

    def __call__(self, figure: Figure, outdir, name: str):
        self.figures[name] = {
            "axes_titles": [ax.get_title() for ax in figure.get_axes()],
            "subfigure_titles": [sub._suptitle.get_text() for sub in figure.subfigs if sub._suptitle],
            "texts": [text.get_text() for ax in figure.get_axes() for text in ax.texts],
            "suptitle": figure._suptitle.get_text() if figure._suptitle else "",
        }
        return self.save(figure, outdir, name)


# ---------------------------------------------------------------------------- the preset's pieces


def test_last_tokens_cut_and_renormalise():
    rng = np.random.default_rng(3)
    tokens = [f"t{i}" for i in range(20)]
    maps20 = rng.dirichlet(np.ones(20), size=(2, 3, 20))
    kept, crop = paper.last_tokens(tokens, maps20)
    assert kept == ["...", *tokens[6:]] and crop.shape == (2, 3, 15, 15)
    np.testing.assert_allclose(crop.sum(-1), 1.0)
    np.testing.assert_allclose(crop[0, 1, 3], maps20[0, 1, 8, 5:] / maps20[0, 1, 8, 5:].sum())
    short, whole = paper.last_tokens(tokens[:10], maps20[..., :10, :10])
    assert short == tokens[:10]  # nothing cut: no "..."
    np.testing.assert_allclose(whole.sum(-1), 1.0)


def test_hide_special_columns_renormalises_rows():
    attention = np.array([[0.5, 0.5, 0.0], [0.2, 0.6, 0.2], [0.9, 0.0, 0.1]])
    hidden = paper.hide_special_columns(attention)
    np.testing.assert_allclose(hidden, [[0, 1, 0], [0, 1, 0], [0, 0, 0]])  # a row left with nothing stays 0


def test_preset_constants_are_the_original_notebooks():
    assert paper.figure1_heads() == [(0, "attends broadly"), (24, "attends to next token"),
                                     (7 * 12 + 6, "attends to [SEP]"), (10 * 12 + 5, "attends to periods")]
    assert {panel.title: (panel.head, panel.examples) for panel in paper.FIGURE5_PANELS} == {
        "Direct object": ("8-10", (42, 1286)), "Noun premodifiers": ("8-11", (13, 1671)),
        "Possessive": ("7-6", (111, 244)), "Passive auxiliary": ("4-10", (192, 680)),
        "Object of prep": ("9-6", (975, 979))}
    assert paper.named_heads()[4 * 12 + 3] == "Coreference" and len(paper.named_heads()) == 6
    assert paper.MDS_SETTINGS == {"init": "random", "n_init": 5, "eps": 1e-10, "max_iter": 1000}


def test_figure1_is_the_papers(general_data):
    data = maps.open_attention(general_data / "unlabeled_attn.pkl")
    _, shown, _ = general_pipeline.collect(data, paper.FIGURE1_EXAMPLE, page_examples=0)
    figure = figures.plot_paper_example_heads(shown, paper.figure1_heads())
    axes = figure.get_axes()
    assert [ax.get_title() for ax in axes] == ["Head 1-1\nattends broadly", "Head 3-1\nattends to next token",
                                               "Head 8-7\nattends to [SEP]", "Head 11-6\nattends to periods"]
    expected_labels = ["...", *FIGURE1_TOKENS[-14:]]
    _, crop = paper.last_tokens(shown.tokens, shown.attention_maps)
    np.testing.assert_allclose(crop.sum(-1), 1.0)  # every row renormalised after the cut
    for ax, (flat_index, _) in zip(axes, paper.figure1_heads(), strict=True):
        for left in (True, False):
            assert [text.get_text() for text in side_labels(ax, left)] == expected_labels
        lines = line_table(ax)
        weights = crop.reshape(144, 15, 15)[flat_index]
        assert lines and all(query > 0 and key > 0 for query, key, *_ in lines)  # nothing from or to "..."
        for query, key, color, alpha, width in lines:
            assert alpha == pytest.approx(weights[query, key]) and width == 1.0 and color == rgb(paper.LINE_COLOR)
        drawn = {(query, key) for query, key, *_ in lines}
        assert drawn == {(i, j) for i, j in zip(*np.nonzero(weights >= 0.002), strict=True) if i and j}
    next_token = {(query, key) for query, key, _, alpha, _ in line_table(axes[1]) if alpha > 0.5}
    assert next_token == {(i, i + 1) for i in range(1, 14)} | {(14, 14)}  # the planted next-token head
    matplotlib.pyplot.close(figure)


def test_figure5_is_the_papers(dev_path):
    dev = syntax_pipeline.read_syntax_data(dev_path, keep=paper.figure5_indices())
    kept = dev.kept_examples.result(dev_path)
    assert sorted(kept) == paper.figure5_indices()
    figure = figures.plot_paper_relation_heads(paper.FIGURE5_PANELS, kept)
    assert [sub._suptitle.get_text() for sub in figure.subfigs[:5]] == [
        "Direct object\nhead 8-10", "Noun premodifiers\nhead 8-11", "Possessive\nhead 7-6",
        "Passive auxiliary\nhead 4-10", "Object of prep\nhead 9-6"]
    red, blue = rgb(paper.WORD_COLOR), rgb(paper.LINE_COLOR)
    for sub, panel in zip(figure.subfigs, paper.FIGURE5_PANELS, strict=False):
        layer, head = paper.GRID.pair(paper.GRID.parse(panel.head))
        for ax, index in zip(sub.get_axes(), panel.examples, strict=True):
            assert ax.get_title() == f"dev {index}"
            tokens = ["[CLS]", *SENTENCES[index][0].split(), "[SEP]"]
            named = {position for position, token in enumerate(tokens) if token in panel.words}
            assert named, (panel.title, index)  # each crafted sentence has its panel's words
            coloured_side, plain_side = side_labels(ax, not panel.color_keys), side_labels(ax, panel.color_keys)
            assert [text.get_text() for text in coloured_side] == tokens
            assert {position for position, text in enumerate(coloured_side)
                    if rgb(text.get_color()) == red} == named
            assert all(rgb(text.get_color()) != red for text in plain_side)
            weights = kept[index].attention_maps[layer, head].astype(np.float64)
            if panel.hide_special:
                weights = paper.hide_special_columns(weights)
                np.testing.assert_allclose(weights[:, 1:-1].sum(-1), 1.0, rtol=1e-6)
            for query, key, color, alpha, width in line_table(ax):
                assert alpha == pytest.approx(weights[query, key]) and width == 1.0
                end = key if panel.color_keys else query
                assert color == (red if end in named else blue)
                assert not panel.hide_special or key not in (0, len(tokens) - 1)  # [CLS]/[SEP] columns hidden
    matplotlib.pyplot.close(figure)


# ---------------------------------------------------------------------------- the scripts


@pytest.mark.slow  # MDS with five random starts over 144 heads, figures at 150 dpi
def test_general_script_draws_the_papers_figures(general_data, monkeypatch):
    recorded = RecordedFigures(figures.save_figure)
    monkeypatch.setattr(figures, "save_figure", recorded)
    settings = []

    class RecordingMDS(sklearn.manifold.MDS):
        def __init__(self, **kwargs):
            settings.append(kwargs)
            super().__init__(**kwargs)

    monkeypatch.setattr(sklearn.manifold, "MDS", RecordingMDS)
    outdir = CHECK_DIR / "general"
    general_analysis.main(["--attn-data-file", str(general_data / "unlabeled_attn.pkl"), "--head-distances",
                           str(general_data / "head_distances.pkl"), "--paper", "--outdir", str(outdir)])
    figure1 = recorded.figures["figure1_example_heads"]
    assert figure1["axes_titles"] == ["Head 1-1\nattends broadly", "Head 3-1\nattends to next token",
                                      "Head 8-7\nattends to [SEP]", "Head 11-6\nattends to periods"]
    assert figure1["texts"][0] == figure1["texts"][15] == "..." and "example 581" in figure1["suptitle"]
    assert settings == [{"n_components": 2, "metric": "precomputed", "random_state": 0, "init": "random",
                         "n_init": 5, "eps": 1e-10, "max_iter": 1000}]
    named = {text for text in recorded.figures["figure6_head_embedding"]["texts"]}
    assert {"5-4 Coreference", "8-11 Determiner", "8-10 Direct object", "9-6 Object of prep.",
            "4-10 Passive auxiliary", "7-6 Possessive"} <= named
    output = json.loads((outdir / "general.json").read_text())
    assert output["run"]["options"]["paper"] is True and np.array(output["mds"]).shape == (144, 2)
    for name in ("figure1_example_heads", "figure6_head_embedding"):
        assert (outdir / f"{name}.png").stat().st_size > 10_000
    assert (outdir / "report.html").exists()


@pytest.mark.slow  # a 12 x 12 dev file of 1,672 positions and a five-panel figure
def test_syntax_script_draws_the_papers_figure5(dev_path, monkeypatch):
    recorded = RecordedFigures(figures.save_figure)
    monkeypatch.setattr(figures, "save_figure", recorded)
    outdir = CHECK_DIR / "syntax"
    syntax_analysis.main(["--attn-data-file", str(dev_path), "--paper", "--min-count", "2", "--outdir", str(outdir)])
    figure5 = recorded.figures["figure5_relation_heads"]
    assert [title.split("\n")[0] for title in figure5["subfigure_titles"]] == [
        panel.title for panel in paper.FIGURE5_PANELS]
    assert figure5["axes_titles"] == [f"dev {index}" for panel in paper.FIGURE5_PANELS for index in panel.examples]
    output = json.loads((outdir / "syntax.json").read_text())
    assert output["run"]["options"]["syntax"]["paper"] is True and output["n_examples"] == 20
    assert (outdir / "figure5_relation_heads.png").stat().st_size > 10_000


@pytest.mark.slow  # executes the two notebooks
def test_notebooks_switch_to_the_preset(general_data, dev_path, monkeypatch):
    monkeypatch.setenv("PAPER", "1")
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    monkeypatch.setenv("ATTN_DATA_FILE", str(general_data / "unlabeled_attn.pkl"))
    monkeypatch.setenv("HEAD_DISTANCES", str(general_data / "head_distances.pkl"))
    outputs = run_notebook("General_Analysis.ipynb", timeout=300)
    figures_shown = [output["data"]["text/plain"] for output in outputs if "image/png" in output.get("data", {})]
    # Figures 1 (the paper's: four heads on 15 tokens, 2.8 x (1.4 + 0.22 * 15) inches), 2, 4 and 6
    assert len(figures_shown) == 4 and figures_shown[0] == "<Figure size 1120x470 with 4 Axes>"
    monkeypatch.setenv("DEV_ATTN_DATA_FILE", str(dev_path))
    monkeypatch.setenv("TRAIN_ATTN_DATA_FILE", str(dev_path.parent / "absent_train_attn.pkl"))
    monkeypatch.setenv("MIN_COUNT", "2")
    outputs = run_notebook("Syntax_Analysis.ipynb", timeout=300)
    figures_shown = [output["data"]["text/plain"] for output in outputs if "image/png" in output.get("data", {})]
    assert figures_shown == ["<Figure size 1680x780 with 10 Axes>"]  # the paper's Figure 5: 5 panels of 2 examples
    assert any("20 examples" in output.get("text", "") for output in outputs)


# ---------------------------------------------------------------------------- refusals


def test_paper_refuses_other_grids(tmp_path):
    attn = write_general_data(tmp_path, grid=(6, 12), count=6)
    error = input_error(general_analysis.main, "--attn-data-file", str(attn), "--paper", "--outdir",
                        str(tmp_path / "general"))
    assert str(attn) in error and "12 x 12" in error and "6 x 12" in error and "\n" not in error
    dev = write_dev_data(tmp_path, grid=(6, 12))
    error = input_error(syntax_analysis.main, "--attn-data-file", str(dev), "--paper", "--outdir",
                        str(tmp_path / "syntax"))
    assert str(dev) in error and "6 x 12" in error and "\n" not in error
    assert not (tmp_path / "general").exists() and not (tmp_path / "syntax").exists()


def test_paper_refuses_grids_before_the_long_pass(tmp_path, monkeypatch):
    def no_pass(*args, **kwargs):
        raise AssertionError("the data was read through before the grid was checked")

    monkeypatch.setattr(maps, "feed", no_pass)
    attn = write_general_data(tmp_path, grid=(6, 12), count=6)
    assert "6 x 12" in input_error(general_analysis.main, "--attn-data-file", str(attn), "--paper")
    dev = write_dev_data(tmp_path, grid=(6, 12))
    assert "6 x 12" in input_error(syntax_analysis.main, "--attn-data-file", str(dev), "--paper",
                                   "--train-attn-data-file", str(dev), "--select-on", "train")


def test_paper_refuses_missing_examples(tmp_path):
    attn = write_general_data(tmp_path, count=300)
    error = input_error(general_analysis.main, "--attn-data-file", str(attn), "--paper", "--outdir",
                        str(tmp_path / "general"))
    assert str(attn) in error and "example 581 does not exist" in error
    dev = write_dev_data(tmp_path, leave_out=(1671, 244))
    error = input_error(syntax_analysis.main, "--attn-data-file", str(dev), "--paper", "--min-count", "2",
                        "--outdir", str(tmp_path / "syntax"))
    assert str(dev) in error and "but 244, 1671 do not exist" in error and "\n" not in error
    assert not (tmp_path / "general" / "general.json").exists() and not (tmp_path / "syntax").exists()


@pytest.mark.parametrize("extra", [["--example-index", "3"], ["--figure-heads", "1-1"], ["--named-heads", "paper"]])
def test_paper_refuses_the_options_it_fixes(general_data, tmp_path, extra):
    error = input_error(general_analysis.main, "--attn-data-file", str(general_data / "unlabeled_attn.pkl"),
                        "--paper", *extra, "--outdir", str(tmp_path))
    assert "--paper fixes" in error


def test_paper_refuses_figure_relations(dev_path, tmp_path):
    error = input_error(syntax_analysis.main, "--attn-data-file", str(dev_path), "--paper", "--figure-relations",
                        "dobj", "--outdir", str(tmp_path))
    assert "--paper fixes Figure 5" in error
