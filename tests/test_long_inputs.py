"""Long inputs: attention weights by blocks of query rows (Encoder.streamed_maps), statistics summed block by block
(QueryRowSums), a 5,000-token document through a 6-layer ModernBERT against float64 transformers in under 3 GiB, the
syntax and coreference analyses by blocks against the file chain's whole maps, the file chain's token maps of a long
input, and the refusals (golden files: tests/golden/make_families.py)."""

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, input_error
from test_analyze_corpus import assert_same_numbers

import analyze_corpus
import coref_analysis
import extract_attention
import preprocess_coref
import syntax_analysis
from analysis.general.statistics import QueryRowSums, StreamedExample, example_statistics
from bert.checkpoint import load_encoder, model_tokenizer, read_config
from bert.extraction import STREAMED_TOKENS, AttentionExtractor, PreparedExample, prepare_example
from bert.special_tokens import SpecialTokens
from utils import read_examples, read_json

FAMILIES_DIR = Path(__file__).parent / "golden" / "families"
LONG_MODEL = FAMILIES_DIR / "modernbert-long"
GIB = 2**30


def long_golden() -> dict[str, np.ndarray]:
    with np.load(FAMILIES_DIR / "modernbert-long.npz", allow_pickle=False) as arrays:
        return dict(arrays)


def float32_extractor(directory: Path) -> AttentionExtractor:
    """An extractor whose maps leave the model as float32 (no float16 rounding to hide differences)."""
    tokenizer = model_tokenizer(directory, read_config(directory))
    return AttentionExtractor(load_encoder(directory, "float32"), tokenizer)


def random_maps(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Rows that are probability distributions, some nearly one-hot."""
    logits = rng.normal(size=shape) * rng.choice([1.0, 8.0], size=shape[:-1] + (1,))
    weights = np.exp(logits - logits.max(-1, keepdims=True))
    return (weights / weights.sum(-1, keepdims=True)).astype(np.float32)


def test_statistics_summed_by_blocks_of_rows_equal_the_whole_example():
    rng = np.random.default_rng(0)
    tokens = ["[CLS]", "a", ",", "b", "[SEP]", "c", ".", "d", "e", "[SEP]", "f", ",", "[SEP]"]
    attention_maps = random_maps(rng, (3, 4, len(tokens), len(tokens)))
    whole = example_statistics(tokens, attention_maps)
    for rows in (1, 3, 5, len(tokens)):
        by_blocks = QueryRowSums(tokens, (3, 4))
        for layer in range(3):
            for start in range(0, len(tokens), rows):
                by_blocks.add(slice(layer, layer + 1), attention_maps[layer:layer + 1, :, start:start + rows], start)
        for name, expected in whole.items():
            np.testing.assert_allclose(by_blocks.statistics()[name], expected, rtol=1e-12, atol=0, err_msg=name)
    maps64 = attention_maps.astype(np.float64)
    n = len(tokens)
    assert np.allclose(whole["prev"], sum(maps64[..., i, i - 1] for i in range(1, n)) / n, rtol=1e-12)
    assert np.allclose(whole["next"], sum(maps64[..., i, i + 1] for i in range(n - 1)) / n, rtol=1e-12)


def test_a_streamed_example_keeps_its_first_tokens_maps():
    rng = np.random.default_rng(1)
    tokens = ["[CLS]", *[f"w{i}" for i in range(80)], "[SEP]"]
    attention_maps = random_maps(rng, (2, 3, len(tokens), len(tokens)))
    streamed = StreamedExample(tokens, (2, 3), SpecialTokens("[CLS]", "[SEP]"))
    for layer in range(2):
        for start in range(0, len(tokens), 7):
            streamed.add(layer, start, attention_maps[layer:layer + 1, :, start:start + 7])
    assert streamed.shown_tokens == tokens[:64]
    np.testing.assert_array_equal(streamed.shown_maps, attention_maps[:, :, :64, :64])


@pytest.mark.parametrize("family", ["bert", "albert", "deberta-v2", "deberta-v2-separate", "modernbert"])
def test_maps_by_blocks_of_query_rows_equal_the_whole_forward_pass(family):
    extractor = float32_extractor(FAMILIES_DIR / family)
    text = ("Although the harbour walls needed repairs, the committee approved the new tram line and 250 trees for "
            "the northern suburbs in March 2021.")
    example = prepare_example({"text": text}, extractor.tokenizer, Path("text"), 0, 64, False)
    whole = extractor.attention_maps([example])[0]
    by_blocks = np.full_like(whole, np.nan)

    def keep(layer: int, start: int, block: np.ndarray) -> None:
        by_blocks[layer, :, start:start + block.shape[2]] = block[0]

    extractor.encoder.streamed_maps(extractor.batch_inputs([example]), keep, 5)
    np.testing.assert_allclose(by_blocks, whole, rtol=0, atol=2e-6)


def long_document(tmp_path: Path, length: int) -> Path:
    """The golden long document's first `length` tokens (its [SEP] last) as one tokens example."""
    tokens = [str(token) for token in long_golden()["tokens"]]
    path = tmp_path / f"document_{length}.json"
    path.write_text(json.dumps([{"tokens": tokens[:length - 1] + [tokens[-1]]}]))
    return path


def test_the_file_chain_writes_a_long_input_s_token_maps(tmp_path):
    extractor = float32_extractor(LONG_MODEL)
    tokens = json.loads(long_document(tmp_path, STREAMED_TOKENS + 88).read_text())[0]["tokens"]
    example = PreparedExample(tokens)
    assert extractor.streams(example)
    (position, streamed, _), = extractor.chunk_maps([example])
    whole = extractor.encoder.predict_on_batch(extractor.batch_inputs([example]))[0]
    assert position == 0 and streamed.dtype == np.float32 and streamed.shape == whole.shape
    np.testing.assert_allclose(streamed, whole, rtol=0, atol=2e-6)


@pytest.mark.slow
def test_a_5000_token_document_gives_the_float64_statistics_in_under_3_gib(tmp_path):
    arrays = long_golden()
    document = long_document(tmp_path, 5000)
    outdir = tmp_path / "analysis"
    command = [sys.executable, "analyze_corpus.py", "--data-file", str(document), "--outdir", str(outdir),
               "--model", str(LONG_MODEL), "--max-sequence-length", "5000"]
    # a fresh parent, so that the peak it reports is this run's alone
    measure = ("import resource, subprocess, sys; result = subprocess.run(sys.argv[1:]); "
               "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(result.returncode)")
    result = subprocess.run([sys.executable, "-c", measure, *command], cwd=ROOT, capture_output=True, text=True,
                            timeout=1200)
    assert result.returncode == 0, result.stderr[-3000:]
    peak = int(result.stdout.split()[-1]) * 1024
    assert peak < 3 * GIB, f"peak memory {peak / GIB:.2f} GiB"
    output = read_json(outdir / "general.json")
    assert output["n_examples"] == 1 and "mds" not in output  # no head distances of a long input
    for name in ("cls", "sep", "punct", "self", "next", "prev", "sep_sep", "rest_sep"):
        np.testing.assert_allclose(output["avg_attn"][name], arrays[f"stat_{name}"], rtol=1e-3, atol=0,
                                   err_msg=name)
    for name in ("entropy", "entropy_from_cls"):
        np.testing.assert_allclose(output[name], arrays[f"stat_{name}"], rtol=1e-3, atol=0, err_msg=name)
    assert math.isclose(output["uniform_entropy"], float(arrays["uniform_entropy"]), rel_tol=1e-12)
    assert (outdir / "figure1_example_heads.png").is_file() and (outdir / "report.html").is_file()


@pytest.mark.slow
def test_a_long_sentence_s_syntax_by_blocks_equals_the_file_chain(tmp_path):
    """A dependency tree of 500 words (910 tokens) beside a short one: analyze_corpus.py reads the long one by
    blocks, pooling word rows as they come; extract_attention.py writes its whole word-level map; the tables agree."""
    words = (["The", "cat", "sat", "on", "the", "mat", ",", "and", "it", "slept", "."] * 50)[:500]
    heads = [0] + [max(0, position - 1) for position in range(1, len(words))]
    relations = ["root"] + ["dep", "obj", "case", "nmod"] * 124 + ["dep"] * 3
    sentences = [{"words": words, "heads": heads, "relns": relations},
                 {"words": ["It", "slept", "."], "heads": [2, 0, 2], "relns": ["nsubj", "root", "punct"]}]
    data = tmp_path / "sentences.json"
    data.write_text(json.dumps(sentences))
    model = ["--model", str(LONG_MODEL), "--max-sequence-length", "1024"]
    extract_attention.main(["--preprocessed-data-file", str(data), "--word_level", *model,
                            "--outfile", str(tmp_path / "sentences_attn.pkl")])
    assert len(read_examples(tmp_path / "sentences_attn.pkl")[0]["tokens"]) > STREAMED_TOKENS
    syntax_analysis.main(["--attn-data-file", str(tmp_path / "sentences_attn.pkl"), "--min-count", "1",
                          "--outdir", str(tmp_path / "chain")])
    analyze_corpus.main(["--data-file", str(data), *model, "--min-count", "1", "--outdir", str(tmp_path / "blocks")])
    expected = read_json(tmp_path / "chain" / "syntax.json")
    assert_same_numbers(read_json(tmp_path / "blocks" / "syntax.json"), expected)
    assert expected["n_examples"] == 2 and len(expected["table"]) >= 5


@pytest.mark.slow
def test_a_long_document_s_coreference_by_blocks_equals_the_file_chain(shared_data, tmp_path):
    """GUM dev's first document as windows of up to 1,024 tokens: analyze_corpus.py reads those over 512 tokens by
    blocks, the word rows of mention heads pooled as they come; the file chain reads whole word-level maps; Table 2
    agrees."""
    text = (shared_data / "gum-coref" / "dev.conllu").read_text(encoding="utf-8")
    document = text[:text.index("# newdoc", 1)] if text.count("# newdoc") > 1 else text
    (tmp_path / "dev.conllu").write_text(document, encoding="utf-8")
    model = ["--model", str(LONG_MODEL), "--max-sequence-length", "1024"]
    preprocess_coref.main(["--data-file", str(tmp_path / "dev.conllu"), *model,
                           "--outfile", str(tmp_path / "dev.json")])
    extract_attention.main(["--preprocessed-data-file", str(tmp_path / "dev.json"), "--word_level", *model,
                            "--outfile", str(tmp_path / "dev_attn.pkl")])
    lengths = [len(example["tokens"]) for example in read_examples(tmp_path / "dev_attn.pkl")]
    assert max(lengths) > STREAMED_TOKENS, lengths
    coref_analysis.main(["--attn-data-file", str(tmp_path / "dev_attn.pkl"), "--outdir", str(tmp_path / "chain")])
    analyze_corpus.main(["--data-file", str(tmp_path / "dev.json"), *model, "--outdir", str(tmp_path / "blocks")])
    expected = read_json(tmp_path / "chain" / "coref.json")
    assert_same_numbers(read_json(tmp_path / "blocks" / "coref.json"), expected)
    assert expected["n_mentions"] > 20


def test_other_maps_of_long_inputs_are_refused(tmp_path):
    document = long_document(tmp_path, STREAMED_TOKENS + 8)
    common = ["--data-file", str(document), "--model", str(LONG_MODEL), "--max-sequence-length", "1024"]
    message = input_error(analyze_corpus.main, *common, "--map", "norm", "--outdir", str(tmp_path / "norm"))
    assert (f"example 0: field 'tokens': {STREAMED_TOKENS + 8} tokens: inputs over {STREAMED_TOKENS} tokens are "
            "read by blocks of attention weights, not --map norm") in message
    message = input_error(extract_attention.main, "--preprocessed-data-file", str(document), "--model",
                          str(LONG_MODEL), "--max-sequence-length", "1024", "--map", "alti")
    assert "read by blocks of attention weights, not --map alti" in message
    assert not (tmp_path / "norm").exists() and not list(tmp_path.glob("*_attn.pkl"))


def test_a_length_above_the_model_s_positions_is_refused(tmp_path):
    document = long_document(tmp_path, 600)
    message = input_error(extract_attention.main, "--preprocessed-data-file", str(document), "--model",
                          str(LONG_MODEL), "--max-sequence-length", "8193")
    assert "8193 is above the model's 8192 positions" in message
    small = FAMILIES_DIR / "modernbert"  # 64 positions
    for main, flag in ((extract_attention.main, "--preprocessed-data-file"), (analyze_corpus.main, "--data-file")):
        message = input_error(main, flag, str(document), "--model", str(small), "--max-sequence-length", "64")
        assert "example 0: field 'tokens': 600 tokens, more than the model's 64 positions" in message
    assert not list(tmp_path.glob("document_600_*"))
