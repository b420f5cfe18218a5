"""The analyses name the classifier and separator by role (bert/special_tokens.py): RoBERTa-style data (`<s>`,
`</s>`, recorded per example under "special_tokens") gets the statistics, labels, JSON, Markdown, figures and page data
that BERT data gets with `[CLS]`/`[SEP]`; data without the record is BERT's."""

import json
import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
from conftest import assert_one_line_error, input_error, run_script
from matplotlib import pyplot as plt

import general_analysis
import utils
from analysis.engines import maps
from analysis.general import pipeline as general_pipeline
from analysis.general import statistics as general_statistics
from analysis.report import figures, page
from analysis.syntax.dependency_data import IndexedExamples, RelationExamples
from bert.special_tokens import BERT_SPECIAL_TOKENS, SpecialTokens

ROBERTA = {"cls": "<s>", "sep": "</s>"}
ROLE_KEYS = ("cls", "sep", "sep_sep", "rest_sep")
WORDS = ["The", "Ġcat", ".", "Ġit", "Ġsat", ",", "Ġdown", "Ġhere"]


def roberta_examples(seed: int = 0, count: int = 5, grid: tuple[int, int] = (2, 3)) -> list[dict]:
    """RoBERTa-style token-level examples (`<s> A </s></s> B </s>`, varied lengths) with random row-stochastic float16
    maps `[2, 3, n, n]` and the record of their special tokens."""
    rng = np.random.default_rng(seed)
    examples = []
    for index in range(count):
        first, second = WORDS[: 2 + index % 4], WORDS[3 + index % 3:]
        tokens = ["<s>", *first, "</s>", "</s>", *second, "</s>"]
        n = len(tokens)
        attns = rng.dirichlet(np.full(n, 0.4), size=(*grid, n)).astype(np.float16)
        examples.append({"tokens": tokens, "attns": attns, "special_tokens": dict(ROBERTA)})
    return examples


def as_bert(examples: list[dict]) -> list[dict]:
    """The same examples with `[CLS]`/`[SEP]` for `<s>`/`</s>` and no record (as BERT's files are)."""
    renamed = {"<s>": "[CLS]", "</s>": "[SEP]"}
    return [{"tokens": [renamed.get(token, token) for token in example["tokens"]], "attns": example["attns"]}
            for example in examples]


def plain_role_statistics(examples: list[dict], cls: str, sep: str) -> dict[str, np.ndarray]:
    """The role statistics of docs/definitions.md in float64 with loops, the roles given as strings: means over the
    examples `[layers, heads]`."""
    n_layers, n_heads = examples[0]["attns"].shape[:2]
    sums = {key: np.zeros((n_layers, n_heads)) for key in ROLE_KEYS}
    for example in examples:
        tokens, attns = example["tokens"], example["attns"].astype(np.float64)
        n = len(tokens)
        seps = [j for j, token in enumerate(tokens) if token == sep]
        clss = [j for j, token in enumerate(tokens) if token == cls]
        rest = [i for i in range(n) if i not in seps]
        for layer in range(n_layers):
            for head in range(n_heads):
                a = attns[layer, head]
                sums["cls"][layer, head] += sum(a[i, j] for i in range(n) for j in clss) / n
                sums["sep"][layer, head] += sum(a[i, j] for i in range(n) for j in seps) / n
                sums["sep_sep"][layer, head] += sum(a[i, j] for i in seps for j in seps) / len(seps) if seps else 0.0
                sums["rest_sep"][layer, head] += sum(a[i, j] for i in rest for j in seps) / len(rest) if rest else 0.0
    return {key: total / len(examples) for key, total in sums.items()}


def statistics_of(examples: list[dict], tmp_path: Path, name: str = "attn.pkl") -> general_statistics.GeneralStatistics:
    """The general statistics of the examples, read from an attention pickle as the scripts read it."""
    utils.write_pickle(tmp_path / name, examples)
    statistics, _, _ = general_pipeline.collect(maps.open_attention(tmp_path / name), page_examples=0)
    return statistics


def test_roberta_statistics_measure_the_roles(tmp_path):
    examples = roberta_examples()
    statistics = statistics_of(examples, tmp_path)
    expected = plain_role_statistics(examples, "<s>", "</s>")
    assert statistics.special_tokens == SpecialTokens("<s>", "</s>")
    for key in ROLE_KEYS:
        np.testing.assert_allclose(statistics.avg_attn[key], expected[key], rtol=1e-9, atol=1e-12, err_msg=key)
    assert (statistics.avg_attn["cls"] > 0.01).all() and (statistics.avg_attn["sep_sep"] > 0.01).all()


def test_bert_strings_without_the_record_give_the_same_statistics(tmp_path):
    examples = roberta_examples(seed=1)
    roberta = statistics_of(examples, tmp_path, "roberta.pkl")
    bert = statistics_of(as_bert(examples), tmp_path, "bert.pkl")
    assert bert.special_tokens == BERT_SPECIAL_TOKENS
    for key, values in roberta.avg_attn.items():
        np.testing.assert_array_equal(bert.avg_attn[key], values, err_msg=key)
    np.testing.assert_array_equal(bert.entropy, roberta.entropy)
    np.testing.assert_array_equal(bert.entropy_from_cls, roberta.entropy_from_cls)


def test_without_the_record_the_roles_are_bert_s(tmp_path):
    examples = [{key: value for key, value in example.items() if key != "special_tokens"}
                for example in roberta_examples(seed=2)]
    statistics = statistics_of(examples, tmp_path)
    assert statistics.special_tokens == BERT_SPECIAL_TOKENS
    for key in ROLE_KEYS:
        np.testing.assert_array_equal(statistics.avg_attn[key], np.zeros((2, 3)), err_msg=key)


def test_example_statistics_take_the_roles():
    example = roberta_examples(seed=3, count=1)[0]
    roles = SpecialTokens("<s>", "</s>")
    values = general_statistics.example_statistics(example["tokens"], example["attns"], roles)
    expected = plain_role_statistics([example], "<s>", "</s>")
    for key in ROLE_KEYS:
        np.testing.assert_allclose(values[key], expected[key], rtol=1e-9, atol=1e-12, err_msg=key)
    by_default = general_statistics.example_statistics(example["tokens"], example["attns"])
    assert not by_default["cls"].any() and not by_default["sep"].any()  # BERT's roles: no [CLS], no [SEP]


def test_partials_keep_the_roles_and_refuse_others():
    examples = roberta_examples(seed=4, count=4)
    first, second = general_statistics.StatisticsAccumulator(), general_statistics.StatisticsAccumulator()
    for index, example in enumerate(examples):
        (first if index < 2 else second).add(index, example, example["attns"])
    merged = general_statistics.StatisticsAccumulator.from_state(first.state())
    merged.merge(general_statistics.StatisticsAccumulator.from_state(second.state()))
    assert merged.result().special_tokens == SpecialTokens("<s>", "</s>")
    bert = general_statistics.StatisticsAccumulator()
    bert.add(0, as_bert(examples)[0], examples[0]["attns"])
    with pytest.raises(ValueError, match="special tokens"):
        merged.merge(bert)


def test_general_analysis_writes_the_roles(tmp_path):
    utils.write_pickle(tmp_path / "roberta.pkl", roberta_examples(seed=5, count=6))
    general_analysis.main(["--attn-data-file", str(tmp_path / "roberta.pkl"), "--outdir", str(tmp_path / "out"),
                           "--figure-heads", "1-1,2-3"])
    output = json.loads((tmp_path / "out" / "general.json").read_text())
    assert output["special_tokens"] == ROBERTA
    markdown = (tmp_path / "out" / "general.md").read_text()
    assert "| layer | to `<s>` | to `</s>` |" in markdown and "attends to `</s>`" in markdown
    assert "[CLS]" not in markdown and "[SEP]" not in markdown
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    data = json.loads(html.split('id="report-data">', 1)[1].split("</script>", 1)[0])
    assert data["special_tokens"] == ROBERTA and data["drawing"]["special_tokens"] == ["<s>", "</s>"]
    assert dict(data["behaviours"])["cls"] == "attends to <s>"
    svg = (tmp_path / "out" / "figure2_token_attention.svg").read_text()
    assert "&lt;/s&gt; → &lt;/s&gt; (layer mean)" in svg and "[SEP]" not in svg and "[CLS]" not in svg


def test_bert_general_outputs_keep_their_labels(tmp_path):
    utils.write_pickle(tmp_path / "bert.pkl", as_bert(roberta_examples(seed=5, count=6)))
    general_analysis.main(["--attn-data-file", str(tmp_path / "bert.pkl"), "--outdir", str(tmp_path / "out"),
                           "--no-html"])
    output = json.loads((tmp_path / "out" / "general.json").read_text())
    assert output["special_tokens"] == {"cls": "[CLS]", "sep": "[SEP]"}
    markdown = (tmp_path / "out" / "general.md").read_text()
    assert "| layer | to [CLS] | to [SEP] | to `.` `,` |" in markdown and "attends to [SEP]" in markdown
    assert "[CLS] / [SEP] / `.` `,` when >" in markdown


def legend_texts(figure) -> list[str]:
    """Every legend entry and title of a figure's axes."""
    texts = []
    for ax in figure.axes:
        texts.append(ax.get_title())
        legend = ax.get_legend()
        texts += [text.get_text() for text in legend.get_texts()] if legend else []
    return texts


@pytest.mark.parametrize(("roles", "expected"), [
    (ROBERTA, ["<s> (layer mean)", "</s> (layer mean)", "</s> → </s> (layer mean)", "other → </s> (layer mean)",
               "Attention to </s> by kind of query token"]),
    (None, ["[CLS] (layer mean)", "[SEP] (layer mean)", "[SEP] → [SEP] (layer mean)", "other → [SEP] (layer mean)",
            "Attention to [SEP] by kind of query token"]),
])
def test_figure_2_and_4_labels_name_the_roles(tmp_path, roles, expected):
    examples = roberta_examples(seed=6, count=2)
    statistics = statistics_of(examples if roles else as_bert(examples), tmp_path)
    figure = figures.plot_token_attention(statistics)
    assert set(expected) <= set(legend_texts(figure))
    plt.close(figure)
    figure = figures.plot_entropies(statistics)
    assert f"Entropy of attention from {(roles or {'cls': '[CLS]'})['cls']}" in legend_texts(figure)
    plt.close(figure)


def word_level_example(record: dict | None, seed: int = 7) -> dict:
    """A word-level example of a dependency tree ("The cat sat ."), maps `[1, 2, 6, 6]`: rows cls, words, sep."""
    rng = np.random.default_rng(seed)
    example = {"words": ["The", "cat", "sat", "."], "heads": [2, 3, 0, 3], "relns": ["det", "nsubj", "root", "punct"],
               "attns": rng.dirichlet(np.full(6, 0.5), size=(1, 2, 6)).astype(np.float16)}
    return example if record is None else {**example, "special_tokens": record}


@pytest.mark.parametrize(("record", "labels"), [
    (ROBERTA, ["<s>", "The", "cat", "sat", ".", "</s>"]),
    (None, ["[CLS]", "The", "cat", "sat", ".", "[SEP]"]),
])
def test_word_level_labels_use_the_roles(record, labels):
    example = word_level_example(record)
    assert maps.example_tokens(example, 6) == labels
    kept, indexed = RelationExamples(), IndexedExamples([0])
    kept.add(0, example, example["attns"])
    indexed.add(0, example, example["attns"])
    assert kept.result(["nsubj"])["nsubj"].tokens == labels and indexed.result("x.pkl")[0].tokens == labels
    rebuilt = RelationExamples.from_state(kept.state())
    assert rebuilt.result(["det"])["det"].tokens == labels
    table = [{"relation": "nsubj", "layer": 0, "head": 1}]
    sentences, _ = page.relation_examples_json(table, kept.result(["nsubj"]))
    assert sentences[0]["tokens"] == labels
    row = {**table[0], "direction": "dep->head", "accuracy": 0.5}
    figure = figures.plot_relation_heads([row], kept.result(["nsubj"]))
    drawn = [text.get_text() for text in figure.axes[0].texts]
    assert drawn == labels * 2  # queries on the left, keys on the right
    plt.close(figure)


def test_a_malformed_record_names_the_example():
    with pytest.raises(maps.ExampleError) as caught:
        maps.example_tokens(word_level_example({"cls": "<s>"}), 6)
    assert caught.value.field == "special_tokens"


def test_examples_of_one_file_must_agree(tmp_path):
    examples = roberta_examples(seed=8, count=3)
    examples[2] = as_bert(examples)[2]
    utils.write_pickle(tmp_path / "mixed.pkl", examples)
    message = input_error(general_analysis.main, "--attn-data-file", str(tmp_path / "mixed.pkl"),
                          "--outdir", str(tmp_path / "out"))
    assert "example 2" in message and "special_tokens" in message and "<s>" in message
    assert not (tmp_path / "out" / "general.json").exists()


def test_a_malformed_record_is_one_line_and_exit_2(tmp_path):
    examples = roberta_examples(seed=9, count=2)
    examples[1]["special_tokens"] = {"cls": "<s>", "sep": ""}
    utils.write_pickle(tmp_path / "bad.pkl", examples)
    result = run_script("general_analysis.py", "--attn-data-file", str(tmp_path / "bad.pkl"),
                        "--outdir", str(tmp_path / "out"))
    assert_one_line_error(result, "bad.pkl", "example 1", "special_tokens")


def test_compared_models_record_their_roles(tmp_path):
    from analysis.compare import pipeline as compare

    words = ["w1", "w2", "w3"]
    rng = np.random.default_rng(10)
    for name, record in (("bert.pkl", None), ("roberta.pkl", ROBERTA)):
        examples = []
        for _ in range(3):
            example = {"words": words, "attns": rng.dirichlet(np.full(5, 0.5), size=(1, 2, 5)).astype(np.float16)}
            examples.append(example if record is None else {**example, "special_tokens": record})
        utils.write_pickle(tmp_path / name, examples)
    output = compare.run([tmp_path / "bert.pkl", tmp_path / "roberta.pkl"], tmp_path / "out")
    assert [model["special_tokens"] for model in output["models"]] == [{"cls": "[CLS]", "sep": "[SEP]"}, ROBERTA]
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    data = json.loads(html.split('id="report-data">', 1)[1].split("</script>", 1)[0])
    assert data["special_tokens"] == {"cls": "[CLS] / <s>", "sep": "[SEP] / </s>"}
    assert data["drawing"]["special_tokens"] == ["[CLS]", "[SEP]", "<s>", "</s>"]
    assert [example["tokens"][0] for example in data["head_view"]["examples"]] == ["[CLS]", "<s>"]
    assert math.isfinite(output["layers"][1]["cls"][0])
