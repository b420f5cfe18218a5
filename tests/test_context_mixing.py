"""`extract_attention.py --map attn-res-ln|alti|value-zeroing [--aggregate]`: context-mixing maps against a float64
reference written plainly from Hugging Face's BertModel (golden file: tests/golden/make_golden.py --only mixing), the
golden examples in one padded batch; value zeroing on the rows float32 resolves, its aggregate as the product of its
stored layer maps; word level as the merge of the token-level maps; --aggregate refused for the other maps."""

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import assert_one_line_error, run_script
from test_maps_beyond_attention import WORDS, pieces_per_word, plain_word_level

import extract_attention
from bert.checkpoint import embedded_model_dir, load_encoder, open_tokenizer, read_config
from bert.extraction import AttentionExtractor, PreparedExample, aggregated_mixing, padded_inputs
from bert.model_tokenizer import ModelTokenizer
from utils import read_examples

MIXING_GOLDEN = Path(__file__).parent / "golden" / "minilm_mixing.npz"
KINDS = ("attn-res-ln", "alti", "value-zeroing")
LAYERS = 6
TOLERANCE = 1e-3  # float16 maps of the float32 model against the float64 reference
FLOAT16_TOLERANCE = 2e-3  # float16 maps against float64 sums, products and merges of float16 maps
VALUE_ZEROING_RESOLVED = 1e-3  # rows whose total change sum_j (1 - cos) float32 resolves; the others are not checked
WORD_LEVEL_KINDS = [("attn-res-ln", False), ("attn-res-ln", True), ("alti", False), ("alti", True)]


def stored_name(kind: str, aggregate: bool) -> str:
    """The "map" field of an output: the kind, or "<kind>-aggregated"."""
    return f"{kind}-aggregated" if aggregate else kind


def golden_name(kind: str, aggregate: bool, index: int) -> str:
    """The golden array of a kind's maps [L, n, n] for example `index`."""
    return f"{kind.replace('-', '_')}{'_aggregated' if aggregate else ''}_{index}"


def extract(examples_file: Path, outfile: Path, kind: str, aggregate: bool, *extra: str) -> list[dict]:
    """Run extract_attention.py's main on `examples_file` with `--map kind` (and --aggregate); the examples written."""
    extract_attention.main(["--preprocessed-data-file", str(examples_file), "--outfile", str(outfile), "--map", kind,
                            *(["--aggregate"] if aggregate else []), *extra])
    return read_examples(outfile)


@pytest.fixture(scope="module")
def golden() -> dict[str, np.ndarray]:
    """The arrays of minilm_mixing.npz."""
    with np.load(MIXING_GOLDEN) as archive:
        return {name: archive[name] for name in archive.files}


@pytest.fixture(scope="module")
def golden_tokens(golden) -> list[list[str]]:
    """Each golden example's tokens, [CLS] and [SEP] included."""
    count = len([name for name in golden if name.startswith("tokens_")])
    return [[str(token) for token in golden[f"tokens_{index}"]] for index in range(count)]


@pytest.fixture(scope="module")
def tokenizer() -> ModelTokenizer:
    return open_tokenizer(embedded_model_dir())


@pytest.fixture(scope="module")
def token_outputs(tmp_path_factory, golden_tokens) -> dict[str, list[dict]]:
    """The golden examples (as "tokens") followed by the WORDS examples (as "words"), in one file and so in one
    padded batch, extracted at token level with each kind, plain and aggregated: stored name -> examples."""
    directory = tmp_path_factory.mktemp("mixing_tokens")
    examples_file = directory / "examples.json"
    examples = [{"tokens": tokens} for tokens in golden_tokens] + [{"words": words} for words in WORDS]
    examples_file.write_text(json.dumps(examples), encoding="utf-8")
    return {stored_name(kind, aggregate): extract(examples_file, directory / f"{stored_name(kind, aggregate)}.pkl",
                                                  kind, aggregate)
            for kind in KINDS for aggregate in (False, True)}


@pytest.fixture(scope="module")
def word_outputs(tmp_path_factory) -> dict[str, list[dict]]:
    """The WORDS examples extracted with --word_level for WORD_LEVEL_KINDS: stored name -> examples."""
    directory = tmp_path_factory.mktemp("mixing_words")
    examples_file = directory / "words.json"
    examples_file.write_text(json.dumps([{"words": words} for words in WORDS]), encoding="utf-8")
    return {stored_name(kind, aggregate): extract(examples_file, directory / f"{stored_name(kind, aggregate)}.pkl",
                                                  kind, aggregate, "--word_level")
            for kind, aggregate in WORD_LEVEL_KINDS}


def test_golden_token_types_are_the_extractors_segment_ids(golden, golden_tokens, tokenizer):
    """The golden examples batched as extract_attention.py batches them get the token types the reference used."""
    config = read_config(embedded_model_dir())
    token_ids = [tokenizer.convert_tokens_to_ids(tokens) for tokens in golden_tokens]
    inputs = padded_inputs(token_ids, golden_tokens, False, config.type_vocab_size, tokenizer.special_tokens.sep)
    assert any(golden[f"token_type_ids_{index}"].any() for index in range(len(golden_tokens)))  # pairs among them
    for index, tokens in enumerate(golden_tokens):
        np.testing.assert_array_equal(inputs["segment_ids"][index, : len(tokens)], golden[f"token_type_ids_{index}"])


@pytest.mark.slow
def test_outputs_record_their_map(token_outputs, word_outputs):
    for outputs, level in ((token_outputs, "token"), (word_outputs, "word")):
        for name, examples in outputs.items():
            for example in examples:
                assert example["map"] == name
                assert example["attns"].dtype == np.float16
                n = len(example["words"]) + 2 if level == "word" else len(example["tokens"])
                assert example["attns"].shape == (LAYERS, 1, n, n)
                assert np.isfinite(example["attns"]).all() and (example["attns"] >= 0).all()
                np.testing.assert_allclose(example["attns"].astype(np.float64).sum(axis=-1), 1.0, rtol=0,
                                           atol=FLOAT16_TOLERANCE)


@pytest.mark.slow
@pytest.mark.parametrize("aggregate", [False, True])
@pytest.mark.parametrize("kind", ["attn-res-ln", "alti"])
def test_maps_equal_the_reference(token_outputs, golden, golden_tokens, kind, aggregate):
    """Every row of every layer of each golden example, to 1e-3."""
    examples = token_outputs[stored_name(kind, aggregate)]
    for index, tokens in enumerate(golden_tokens):
        assert examples[index]["tokens"] == tokens
        np.testing.assert_allclose(examples[index]["attns"][:, 0], golden[golden_name(kind, aggregate, index)],
                                   rtol=0, atol=TOLERANCE, err_msg=f"example {index}")


@pytest.mark.slow
def test_value_zeroing_equals_the_reference_on_resolved_rows(token_outputs, golden, golden_tokens):
    """Rows whose total change sum_j (1 - cos) is at least 1e-3, to 1e-3; every layer has such rows."""
    examples = token_outputs["value-zeroing"]
    resolved_per_layer = np.zeros(LAYERS, int)
    for index, tokens in enumerate(golden_tokens):
        assert examples[index]["tokens"] == tokens
        resolved = golden[f"value_zeroing_totals_{index}"] >= VALUE_ZEROING_RESOLVED  # [L, n]
        resolved_per_layer += resolved.sum(axis=-1)
        for layer in range(LAYERS):
            np.testing.assert_allclose(examples[index]["attns"][layer, 0][resolved[layer]],
                                       golden[golden_name("value-zeroing", False, index)][layer][resolved[layer]],
                                       rtol=0, atol=TOLERANCE, err_msg=f"example {index}, layer {layer}")
    assert (resolved_per_layer > 0).all(), resolved_per_layer


@pytest.mark.slow
def test_value_zeroing_aggregate_is_the_product_of_its_layer_maps(token_outputs):
    """A_1 = M_1, A_l = M_l A_(l-1) in float64 from the stored float16 layer maps, every row of every example."""
    for layer_maps, aggregated in zip(token_outputs["value-zeroing"], token_outputs["value-zeroing-aggregated"],
                                      strict=True):
        assert layer_maps["tokens"] == aggregated["tokens"]
        maps = layer_maps["attns"][:, 0].astype(np.float64)
        product = np.eye(maps.shape[-1])
        for layer in range(LAYERS):
            product = maps[layer] @ product
            np.testing.assert_allclose(aggregated["attns"][layer, 0], product, rtol=0, atol=FLOAT16_TOLERANCE,
                                       err_msg=f"layer {layer} of {layer_maps['tokens']}")


@pytest.mark.slow
@pytest.mark.parametrize(("kind", "aggregate"), WORD_LEVEL_KINDS)
def test_word_level_merges_the_token_maps(token_outputs, word_outputs, tokenizer, kind, aggregate):
    """To a word the sum over its pieces' columns, from a word the mean of its pieces' rows, of the token map (the
    aggregate too is merged after the product)."""
    name = stored_name(kind, aggregate)
    token_examples = token_outputs[name][-len(WORDS):]
    assert max(max(pieces_per_word(tokenizer, words)) for words in WORDS) > 1  # some words are split
    for words, token_example, word_example in zip(WORDS, token_examples, word_outputs[name], strict=True):
        assert token_example["words"] == words and word_example["words"] == words
        assert word_example["tokens"] == token_example["tokens"]
        expected = plain_word_level(token_example["attns"], pieces_per_word(tokenizer, words))
        np.testing.assert_allclose(word_example["attns"], expected, rtol=0, atol=FLOAT16_TOLERANCE,
                                   err_msg=" ".join(words))


@pytest.mark.parametrize("map_args", [[], ["--map", "attn"], ["--map", "norm"], ["--map", "rollout"]],
                         ids=["default", "attn", "norm", "rollout"])
def test_aggregate_is_refused_for_other_maps(tmp_path, map_args):
    path = tmp_path / "examples.json"
    path.write_text(json.dumps([{"text": "Hello there."}]))
    result = run_script("extract_attention.py", "--preprocessed-data-file", str(path), *map_args, "--aggregate")
    assert_one_line_error(result, "--aggregate")
    assert [entry.name for entry in tmp_path.iterdir()] == ["examples.json"]  # nothing written


FAMILY_MIXING = ("deberta-v2", "modernbert")  # post-norm with disentangled attention; pre-norm with local windows


@pytest.mark.parametrize("family", FAMILY_MIXING)
@pytest.mark.parametrize("kind", KINDS)
def test_family_maps_equal_the_reference(family, kind):
    """DeBERTa's (post-norm) and ModernBERT's (pre-norm: L_ij = T_ij, y_i = r_i) maps of the golden examples, in one
    padded batch, against a float64 reference written plainly from transformers' model (golden files:
    tests/golden/make_golden.py --only family-mixing), every layer and row; their aggregates as products. The random
    weights change the residual stream so little that every value-zeroing row is unresolved (totals 2e-6 to 1.4e-5):
    computed as ||z/|z| - z'/|z'| ||^2 / 2, its normalised rows still keep about 1e-5 in float32."""
    directory = Path(__file__).parent / "golden" / "families"
    with np.load(directory / f"{family}_mixing.npz") as archive:
        reference = {name: archive[name] for name in archive.files}
    tokens = [[str(token) for token in reference[f"tokens_{index}"]] for index in range(int(reference["n_examples"]))]
    extractor = AttentionExtractor(load_encoder(directory / family, "float32", kind),
                                   open_tokenizer(directory / family), map_kind=kind)
    maps = extractor.attention_maps([PreparedExample(example) for example in tokens])
    tolerance = 5e-5 if kind == "value-zeroing" else 1e-5
    for index, example_maps in enumerate(maps):
        np.testing.assert_allclose(example_maps[:, 0], reference[golden_name(kind, False, index)], rtol=0,
                                   atol=tolerance, err_msg=f"example {index}")
        np.testing.assert_allclose(aggregated_mixing(example_maps)[:, 0], reference[golden_name(kind, True, index)],
                                   rtol=0, atol=tolerance, err_msg=f"example {index}, aggregated")
