"""`extract_attention.py --map norm|rollout`: norm-based maps against a float64 reference from Hugging Face's hidden
states and weights (golden file: tests/golden/make_golden.py --only norm), rollout against a plain loop, both at
token and word level; the analyses read them unchanged."""

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import assert_one_line_error, run_script

import extract_attention
import general_analysis
import head_distances
from bert.checkpoint import embedded_model_dir, load_encoder, open_tokenizer
from bert.extraction import AttentionExtractor, PreparedExample, attention_rollout
from bert.model_tokenizer import ModelTokenizer
from utils import read_examples

NORM_GOLDEN = Path(__file__).parent / "golden" / "minilm_norm.npz"
TOLERANCE = 1e-5
FLOAT16_TOLERANCE = 2e-3  # maps written as float16, compared with float32/float64 references
WORDS = [
    ["Unbelievably", ",", "tokenizers", "rarely", "misbehave", "."],
    ["Dogs", "bark", "."],
    ["Grandmother's", "sourdough", "starter", "survived", "Zürich's", "winter", "."],
]


def plain_rollout(attention: np.ndarray) -> np.ndarray:
    """Rollout [L, 1, n, n] of maps [L, H, n, n] written plainly in float64: one layer, one head at a time."""
    layers, heads, n, _ = attention.shape
    rollout = np.zeros((layers, 1, n, n))
    previous = None
    for layer in range(layers):
        mean = np.zeros((n, n))
        for head in range(heads):
            mean += attention[layer, head].astype(np.float64) / heads
        mixed = 0.5 * mean + 0.5 * np.eye(n)
        previous = mixed if previous is None else mixed @ previous
        rollout[layer, 0] = previous
    return rollout


def plain_word_level(token_maps: np.ndarray, pieces_per_word: list[int]) -> np.ndarray:
    """Word-level maps written plainly in float64: groups [CLS], each word's pieces, [SEP]; to a group: the sum over
    its columns, from a group: the mean of its rows."""
    groups, position = [[0]], 1
    for count in pieces_per_word:
        groups.append(list(range(position, position + count)))
        position += count
    groups.append([position])
    word_maps = np.zeros((*token_maps.shape[:2], len(groups), len(groups)))
    for row, from_group in enumerate(groups):
        for column, to_group in enumerate(groups):
            block = token_maps[:, :, from_group][:, :, :, to_group].astype(np.float64)
            word_maps[:, :, row, column] = block.sum(axis=-1).mean(axis=-1)
    return word_maps


def test_rollout_equals_a_plain_loop():
    rng = np.random.default_rng(0)
    attention = rng.random((4, 3, 7, 7))
    attention /= attention.sum(axis=-1, keepdims=True)
    rollout = attention_rollout(attention.astype(np.float32))
    assert rollout.shape == (4, 1, 7, 7) and rollout.dtype == np.float32
    np.testing.assert_allclose(rollout, plain_rollout(attention), rtol=0, atol=1e-6)
    np.testing.assert_allclose(rollout.sum(axis=-1), 1.0, atol=1e-6)


def test_unknown_map_is_one_line(tmp_path):
    path = tmp_path / "examples.json"
    path.write_text(json.dumps([{"text": "Hello there."}]))
    result = run_script("extract_attention.py", "--preprocessed-data-file", str(path), "--map", "gradients")
    assert_one_line_error(result, "--map", "gradients", "attn", "norm", "rollout")


def test_map_changes_the_shard_fingerprint(tmp_path):
    path = tmp_path / "examples.json"
    path.write_text(json.dumps([{"text": "Hello there."}]))
    bert_dir = embedded_model_dir()
    fingerprints = {
        kind: extract_attention.run_fingerprint(
            path, bert_dir, extract_attention.parse_args(["--preprocessed-data-file", str(path), "--map", kind])
        )
        for kind in ("attn", "norm", "rollout")
    }
    assert len(set(fingerprints.values())) == 3
    plain = extract_attention.parse_args(["--preprocessed-data-file", str(path)])
    assert extract_attention.run_fingerprint(path, bert_dir, plain) == fingerprints["attn"]


@pytest.fixture(scope="module")
def tokenizer() -> ModelTokenizer:
    return open_tokenizer(embedded_model_dir())


@pytest.mark.slow
def test_norm_maps_equal_the_reference(tokenizer):
    """Golden examples in one padded batch: norm maps to 1e-5, value norms to 1e-5 relative."""
    archive = np.load(NORM_GOLDEN)
    count = len([name for name in archive.files if name.startswith("tokens_")])
    batch = [PreparedExample([str(token) for token in archive[f"tokens_{index}"]]) for index in range(count)]
    extractor = AttentionExtractor(load_encoder(embedded_model_dir(), map_kind="norm"), tokenizer, map_kind="norm")
    for index, (maps, norms) in enumerate(extractor.model_maps(batch)):
        np.testing.assert_allclose(maps, archive[f"norm_maps_{index}"], rtol=0, atol=TOLERANCE)
        np.testing.assert_allclose(norms, archive[f"value_norms_{index}"], rtol=TOLERANCE, atol=0)


@pytest.fixture(scope="module")
def outputs(tmp_path_factory) -> dict[str, list[dict]]:
    """The WORDS examples extracted with every map kind, at token and word level, and the float32 token-level
    attention and norm maps of the model for them."""
    directory = tmp_path_factory.mktemp("maps")
    path = directory / "words.json"
    path.write_text(json.dumps([{"words": words} for words in WORDS]), encoding="utf-8")
    results = {}
    for kind in ("attn", "norm", "rollout"):
        for level in ("token", "word"):
            outfile = directory / f"{kind}_{level}.pkl"
            extra = ["--word_level"] if level == "word" else []
            extract_attention.main(["--preprocessed-data-file", str(path), "--outfile", str(outfile), "--map", kind,
                                    *extra])
            results[f"{kind}_{level}"] = read_examples(outfile)
    return results


@pytest.fixture(scope="module")
def float32_maps(outputs, tokenizer) -> dict[str, list[np.ndarray]]:
    """Token-level attention and norm maps in float32 for the WORDS examples, from the model directly."""
    batch = [PreparedExample(example["tokens"]) for example in outputs["attn_token"]]
    bert_dir = embedded_model_dir()
    attention = AttentionExtractor(load_encoder(bert_dir), tokenizer).attention_maps(batch)
    norm = AttentionExtractor(load_encoder(bert_dir, map_kind="norm"), tokenizer, map_kind="norm").attention_maps(batch)
    return {"attn": attention, "norm": norm}


def pieces_per_word(tokenizer: ModelTokenizer, words: list[str]) -> list[int]:
    return [len(tokenizer.tokenize(word)) for word in words]


@pytest.mark.slow
def test_outputs_record_their_map(outputs):
    for name, examples in outputs.items():
        kind, level = name.split("_")
        for example in examples:
            assert example.get("map", "attn") == kind
            assert ("map" in example) == (kind != "attn")
            assert example["attns"].dtype == np.float16
            np.testing.assert_allclose(example["attns"].astype(np.float32).sum(axis=-1), 1.0, atol=FLOAT16_TOLERANCE)
            n = len(example["words"]) + 2 if level == "word" else len(example["tokens"])
            assert example["attns"].shape == (6, 1 if kind == "rollout" else 12, n, n)
            has_norms = kind == "norm" and level == "token"
            assert ("value_norms" in example) == has_norms
            if has_norms:
                assert example["value_norms"].dtype == np.float16 and example["value_norms"].shape == (6, 12, n)


@pytest.mark.slow
def test_token_level_maps(outputs, float32_maps):
    for attention, norm in zip(float32_maps["attn"], float32_maps["norm"], strict=True):
        assert not np.allclose(attention, norm, atol=0.05)  # norms do change the maps
    for example, norm in zip(outputs["norm_token"], float32_maps["norm"], strict=True):
        np.testing.assert_allclose(example["attns"], norm, rtol=0, atol=FLOAT16_TOLERANCE)
    for example, attention in zip(outputs["rollout_token"], float32_maps["attn"], strict=True):
        np.testing.assert_allclose(example["attns"], plain_rollout(attention), rtol=0, atol=FLOAT16_TOLERANCE)


@pytest.mark.slow
def test_word_level_maps(outputs, float32_maps, tokenizer):
    assert max(max(pieces_per_word(tokenizer, words)) for words in WORDS) > 1  # some words are split
    for index, words in enumerate(WORDS):
        pieces = pieces_per_word(tokenizer, words)
        expected_norm = plain_word_level(float32_maps["norm"][index], pieces)
        np.testing.assert_allclose(outputs["norm_word"][index]["attns"], expected_norm, rtol=0,
                                   atol=FLOAT16_TOLERANCE)
        expected_rollout = plain_word_level(plain_rollout(float32_maps["attn"][index]), pieces)
        np.testing.assert_allclose(outputs["rollout_word"][index]["attns"], expected_rollout, rtol=0,
                                   atol=FLOAT16_TOLERANCE)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["norm", "rollout"])
def test_analyses_read_them_unchanged(outputs, tmp_path, kind):
    from utils import write_pickle

    attention_file = tmp_path / f"{kind}.pkl"
    write_pickle(attention_file, outputs[f"{kind}_token"])
    distances = tmp_path / "distances.pkl"
    head_distances.main(["--attn-data-file", str(attention_file), "--outfile", str(distances)])
    general_analysis.main(["--attn-data-file", str(attention_file), "--outdir", str(tmp_path / "general"),
                           "--no-html"])
    assert json.loads((tmp_path / "general" / "general.json").read_text())["map"] == kind


@pytest.mark.slow
def test_general_analysis_draws_map_kinds_side_by_side(outputs, tmp_path):
    from analysis.general.statistics import StatisticsAccumulator
    from utils import write_pickle

    paths = {}
    for kind in ("attn", "norm", "rollout"):
        paths[kind] = tmp_path / f"{kind}.pkl"
        write_pickle(paths[kind], outputs[f"{kind}_token"])
    outdir = tmp_path / "general"
    general_analysis.main(["--attn-data-file", *(str(paths[kind]) for kind in ("attn", "norm", "rollout")),
                           "--outdir", str(outdir), "--no-html"])
    output = json.loads((outdir / "general.json").read_text())
    assert output["map"] == "attn" and [item["map"] for item in output["compared"]] == ["norm", "rollout"]
    for item in output["compared"]:
        alone = StatisticsAccumulator()
        for example in outputs[f"{item['map']}_token"]:
            alone.update(example["tokens"], example["attns"])
        expected = alone.result()
        assert item["n_examples"] == expected.n_examples
        for key, values in item["avg_attn"].items():
            np.testing.assert_allclose(values, expected.avg_attn[key], rtol=1e-12)
    assert (outdir / "figure2_by_map.png").stat().st_size > 10_000
    markdown = (outdir / "general.md").read_text()
    assert "by kind of map" in markdown and "norm (`norm.pkl`)" in markdown and "rollout (`rollout.pkl`)" in markdown
