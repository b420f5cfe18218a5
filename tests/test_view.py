"""`view()`, `view_maps()` and view_attention.py (analysis/report/view.py): the page holds exactly the maps given
or made, bad arguments are a ValueError naming them (one line and exit status 2 from the shell), and the pages
draw offline in Chromium, from a file and inside a notebook's iframe."""

import html
import re

import nbformat
import numpy as np
import pytest
from conftest import ROOT, Opened, assert_one_line_error, run_script
from test_report_page import STEP, assert_lines_show, decoded, drawn_lines, page_data

import view_attention
from analysis import view, view_maps
from analysis.report.view import ViewError
from bert.checkpoint import embedded_model_dir, open_tokenizer
from bert.model_tokenizer import ModelTokenizer
from utils import InputError


def random_maps(grid: tuple[int, int], n: int, seed: int = 0) -> np.ndarray:
    """Row-normalised random maps `[L, H, n, n]`, some rows sharp, float32."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(*grid, n, n)) * rng.uniform(0.5, 6, size=(*grid, n, 1))
    weights = np.exp(logits)
    return (weights / weights.sum(-1, keepdims=True)).astype(np.float32)


def stored_maps(page: str, example: int = 0) -> tuple[list[str], np.ndarray]:
    """The tokens and the decoded maps `[L, H, n, n]` of a view page's example."""
    data = page_data(page)
    stored = data["head_view"]["examples"][example]
    n = len(stored["tokens"])
    return stored["tokens"], decoded(stored["weights"], (*data["grid"], n, n))


def test_view_maps_takes_transformers_attentions_as_they_are():
    attention_maps = random_maps((2, 3), 7)
    per_layer = tuple(layer[None] for layer in attention_maps)  # outputs.attentions: [1, H, n, n] per layer
    tokens = ["[CLS]", "the", "cat", "sat", ".", "x", "[SEP]"]
    page = view_maps(per_layer, tokens, layer=2, head=3).html
    stored_tokens, stored = stored_maps(page)
    assert stored_tokens == tokens
    np.testing.assert_allclose(np.sqrt(stored), np.sqrt(attention_maps), rtol=0, atol=STEP / 2 + 1e-7)
    data = page_data(page)
    assert data["grid"] == [2, 3] and data["selected"] == [1, 2] and data["map"] == "attn"


def test_the_page_hides_the_model_s_own_special_tokens():
    attention_maps = random_maps((1, 2), 5, seed=2)
    roberta = {"words": ["a", "b", "c"], "tokens": ["<s>", "Ġa", "Ġb", "Ġc", "</s>"], "attns": attention_maps,
               "special_tokens": {"cls": "<s>", "sep": "</s>"}}
    from_example = page_data(view_maps(roberta).html)
    assert from_example["drawing"]["special_tokens"] == ["<s>", "</s>"]
    assert from_example["head_view"]["examples"][0]["tokens"] == ["<s>", "a", "b", "c", "</s>"]
    given = page_data(view_maps(attention_maps, ["<s>", "a", "b", "c", "</s>"], special_tokens=("<s>", "</s>")).html)
    assert given["drawing"]["special_tokens"] == ["<s>", "</s>"]
    assert page_data(view_maps(attention_maps, list("vwxyz")).html)["drawing"]["special_tokens"] == ["[CLS]", "[SEP]"]


def test_view_maps_reads_an_attention_file_example_and_objects_with_numpy():
    class Tensor:  # what a torch or TensorFlow tensor offers, without importing either
        def __init__(self, array: np.ndarray) -> None:
            self.array = array

        def detach(self) -> "Tensor":
            return self

        def cpu(self) -> "Tensor":
            return self

        def numpy(self) -> np.ndarray:
            return self.array

    attention_maps = random_maps((1, 2), 5, seed=1)
    example = {"words": ["a", "b", "c"], "tokens": ["[CLS]", "a", "##b", "c", "[SEP]"], "attns": attention_maps,
               "map": "norm"}
    page = view_maps(example).html
    assert stored_maps(page)[0] == ["[CLS]", "a", "b", "c", "[SEP]"] and page_data(page)["map"] == "norm"
    tensors = tuple(Tensor(layer[None]) for layer in attention_maps)
    np.testing.assert_array_equal(stored_maps(view_maps(tensors, list("vwxyz")).html)[1], stored_maps(page)[1])


@pytest.mark.parametrize(("call", "argument", "problem"), [
    (lambda maps: view_maps(maps, list("abc")), "tokens", "3 tokens for maps of 5 positions"),
    (lambda maps: view_maps(maps, list("abcde"), layer=3), "layer", "3 is not in [1, 2]"),
    (lambda maps: view_maps(maps, list("abcde"), head=0), "head", "0 is not in [1, 3]"),
    (lambda maps: view_maps(maps), "tokens", "needed"),
    (lambda maps: view_maps(maps[:, :, :4], list("abcd")), "attentions", "expected maps [layers, heads, n, n]"),
    (lambda maps: view_maps(maps * 2, list("abcde")), "attentions", "rows that sum to 1"),
    (lambda maps: view_maps(tuple(np.stack([layer, layer]) for layer in maps), list("abcde")), "attentions",
     "a batch of 2 examples"),
    (lambda maps: view(""), "texts", "item 0 is an empty text"),
    (lambda maps: view(["fine", ("a", " ")]), "texts", "item 1 is an empty text"),
    (lambda maps: view([]), "texts", "non-empty list"),
    (lambda maps: view("a b", map="weights"), "map", "'weights' is not one of"),
    (lambda maps: view(("a", "b"), word_level=True), "texts", "not pairs"),
])
def test_bad_arguments_are_a_value_error_naming_them(call, argument, problem):
    with pytest.raises(ValueError) as refused:
        call(random_maps((2, 3), 5))
    assert isinstance(refused.value, ViewError) and refused.value.argument == argument
    assert problem in str(refused.value) and str(refused.value).startswith(f"{argument}: ")


@pytest.fixture(scope="module")
def tokenizer() -> ModelTokenizer:
    """The embedded model's WordPiece tokenizer."""
    return open_tokenizer(embedded_model_dir())


@pytest.mark.slow
def test_view_runs_the_embedded_model_on_texts_pairs_and_words(tokenizer, tmp_path):
    import extract_attention
    from utils import read_examples

    text, pair = "The cat sat on the mat because it was warm.", ("The cat sat.", "It slept.")
    page = view([text, pair], layer=2, head=5).html
    data = page_data(page)
    assert data["grid"] == [6, 12] and data["selected"] == [1, 4] and "embedded MiniLM" in data["source"]
    tokens, shown = stored_maps(page)
    assert tokens == ["[CLS]", *tokenizer.tokenize(text), "[SEP]"]
    assert stored_maps(page, 1)[0] == ["[CLS]", *tokenizer.tokenize(pair[0]), "[SEP]", *tokenizer.tokenize(pair[1]),
                                       "[SEP]"]
    (tmp_path / "examples.json").write_text(f'[{{"text": "{text}"}}]')
    extract_attention.main(["--preprocessed-data-file", str(tmp_path / "examples.json")])
    extracted = read_examples(tmp_path / "examples_attn.pkl")[0]["attns"].astype(np.float64)
    np.testing.assert_allclose(np.sqrt(shown), np.sqrt(extracted), rtol=0, atol=STEP / 2 + 1e-3)
    words = view("Tokenization matters here", word_level=True, map="norm").html
    assert stored_maps(words)[0] == ["[CLS]", "Tokenization", "matters", "here", "[SEP]"]
    assert page_data(words)["map"] == "norm"


@pytest.mark.slow
def test_view_attention_writes_a_page_that_draws_offline(browser, tmp_path):
    outfile = tmp_path / "cat.html"
    result = run_script("view_attention.py", "--text", "The cat sat on the mat.", "--layer", "3", "--head", "7",
                        "--outfile", str(outfile))
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip().splitlines()[-1] == f"wrote {outfile}"
    tokens, stored = stored_maps(outfile.read_text(encoding="utf-8"))
    opened = Opened(browser, outfile)
    assert opened.page.locator("#head-view select[name=layer]").input_value() == "2"
    assert opened.page.locator("#head-view select[name=head]").input_value() == "6"
    lines = drawn_lines(opened.svg("#head-view svg"))
    expected = {pair for pair in zip(*np.nonzero(stored[2, 6] >= 0.0021), strict=True)}
    assert expected <= set(lines) and set(lines) <= set(zip(*np.nonzero(stored[2, 6] >= 0.0019), strict=True))
    assert_lines_show(lines, stored[2, 6], STEP / 2 + 1e-4)
    opened.page.screenshot(path=str(ROOT / "out" / "screenshots" / "view_attention.png"), full_page=True)
    opened.close()


@pytest.mark.parametrize(("args", "message"), [
    (("--text", "   "), "--text: item 0 is an empty text"),
    (("--text", "The cat.", "--layer", "7"), "--layer: 7 is not in [1, 6]"),
    (("--text", "The cat.", "--head", "13"), "--head: 13 is not in [1, 12]"),
])
def test_view_attention_refuses_bad_arguments_in_one_line(tmp_path, args, message):
    with pytest.raises(InputError, match=re.escape(message)):
        view_attention.main([*args, "--outfile", str(tmp_path / "page.html")])
    assert not (tmp_path / "page.html").exists()


@pytest.mark.slow
def test_view_attention_command_is_one_line_and_status_2(tmp_path):
    result = run_script("view_attention.py", "--text", "", "--outfile", str(tmp_path / "page.html"))
    assert_one_line_error(result, "--text: item 0 is an empty text")


NOTEBOOK_CELLS = [
    "from analysis import view, view_maps\nview('The cat sat on the mat.', layer=2, head=5)",
    "import numpy as np\n"
    "rng = np.random.default_rng(0)\n"
    "weights = np.exp(rng.normal(size=(2, 3, 4, 4)) * 3)\n"
    "attentions = tuple(layer[None] / layer.sum(-1, keepdims=True) for layer in weights)\n"
    "view_maps(attentions, ['[CLS]', 'a', 'b', '[SEP]'])",
]


@pytest.mark.slow
def test_view_and_view_maps_show_the_page_in_a_notebook(browser, tmp_path):
    from nbclient import NotebookClient

    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in NOTEBOOK_CELLS])
    NotebookClient(notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}}).execute()
    for index, cell in enumerate(notebook.cells):
        frames = [output["data"]["text/html"] for output in cell.outputs if "text/html" in output.get("data", {})]
        assert len(frames) == 1 and frames[0].startswith("<iframe srcdoc="), cell.outputs
        page = html.unescape(re.search(r'srcdoc="([^"]*)"', frames[0]).group(1))
        (tmp_path / f"cell{index}.html").write_text(page, encoding="utf-8")
        opened = Opened(browser, tmp_path / f"cell{index}.html")
        assert opened.page.locator("#head-view svg g.lines path").count() > 0
        opened.close()
    data = page_data((tmp_path / "cell1.html").read_text(encoding="utf-8"))
    assert data["grid"] == [2, 3] and data["head_view"]["examples"][0]["tokens"] == ["[CLS]", "a", "b", "[SEP]"]


@pytest.mark.slow
def test_view_attention_opens_the_page_when_asked(tmp_path, monkeypatch):
    opened = []
    monkeypatch.setattr(view_attention.webbrowser, "open", opened.append)
    view_attention.main(["--text", "Open it.", "--outfile", str(tmp_path / "page.html"), "--open"])
    assert opened == [(tmp_path / "page.html").resolve().as_uri()]
