"""extract_attention.py end to end, and its answer to every bad input (an InputError naming what is wrong, which the
script prints on one line with exit status 2)."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from checkpoints import embedded_copy, hub_cache
from conftest import ROOT, assert_one_line_error, input_error, run_script
from tokenizers import BertWordPieceTokenizer

import extract_attention
from bert.checkpoint import embedded_model_dir
from bert.extraction import length_batches
from utils import read_examples, read_json

TENSORFLOW_NATIVE_LOG = re.compile(r"^([IWE]\d{4} |WARNING: All log messages before absl)")


def assert_error(*args: str) -> str:
    """The InputError that extract_attention.py's main raises for these arguments; returns its message."""
    return input_error(extract_attention.main, *args)


def write_examples(tmp_path: Path, examples: list, name: str = "examples.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(examples), encoding="utf-8")
    return path




@pytest.mark.slow
def test_extracts_every_input_kind_in_order(tmp_path):
    examples = [
        {"text": "Attention is all you need, they said.", "source": "title"},
        {"words": ["Tokenization", "matters", "."]},
        {"tokens": ["[CLS]", "hello", "[SEP]", "world", "[SEP]"]},
        {"text": " ".join(["word"] * 40)},
    ]
    path = write_examples(tmp_path, examples)
    result = run_script("extract_attention.py", "--preprocessed-data-file", str(path), "--max_sequence_length", "20",
                        "--batch-size", "2")
    assert result.returncode == 0, result.stderr
    assert "1 of 4 examples longer than 20 tokens were skipped" in result.stderr
    assert not [line for line in result.stderr.splitlines() if TENSORFLOW_NATIVE_LOG.match(line)], result.stderr
    run = read_json(tmp_path / "examples_attn.run.json")
    assert run["script"] == "extract_attention.py" and run["options"]["max_sequence_length"] == 20
    assert run["model"]["directory"] == str(embedded_model_dir().resolve()) and not run["model"]["debug"]
    assert (run["model"]["config"]["num_hidden_layers"], run["model"]["config"]["num_attention_heads"]) == (6, 12)
    output = read_examples(tmp_path / "examples_attn.pkl")
    assert [example.get("text", example.get("words")) for example in output[:2]] == [
        examples[0]["text"], examples[1]["words"]
    ]
    assert output[0]["source"] == "title"
    assert output[2]["tokens"] == examples[2]["tokens"]
    assert output[1]["tokens"][:3] == ["[CLS]", "token", "##ization"]
    for example in output[:3]:
        n = len(example["tokens"])
        assert example["attns"].dtype == np.float16
        assert example["attns"].shape == (6, 12, n, n)
        np.testing.assert_allclose(example["attns"].astype(np.float32).sum(axis=-1), 1.0, atol=2e-3)
    assert "attns" not in output[3]
    assert output[3]["skipped"].startswith("too long: 42 tokens")


@pytest.mark.slow
def test_word_level_output(tmp_path):
    path = write_examples(tmp_path, [{"words": ["Unbelievably", ",", "tokenizers", "work", "."]}])
    outfile = tmp_path / "words.pkl"
    extract_attention.main(["--preprocessed_data_file", str(path), "--word_level", "--outfile", str(outfile),
                            "--debug"])
    (example,) = read_examples(outfile)
    reference = BertWordPieceTokenizer(str(embedded_model_dir() / "vocab.txt"), lowercase=True)
    expected = reference.encode(example["words"], is_pretokenized=True).tokens
    assert example["tokens"] == expected and len(expected) > 7  # WordPiece tokens: some words are split
    assert example["attns"].shape == (3, 12, 7, 7)  # rows: [CLS], the five words, [SEP]
    np.testing.assert_allclose(example["attns"].astype(np.float32).sum(axis=-1), 1.0, atol=2e-3)


ORIGINAL_GOLDEN = Path(__file__).parent / "golden" / "minilm_original_word_level.npz"
FLOAT16_ROUNDING = 2.0**-11  # relative error of rounding to float16


def original_golden() -> list[dict]:
    """The reference word-level examples of tests/golden/make_golden.py: words, tokens and first-piece maps of
    Hugging Face's BertModel with all token type ids 0."""
    with np.load(ORIGINAL_GOLDEN) as arrays:
        n_examples = sum(name.startswith("words_") for name in arrays.files)
        return [{"words": arrays[f"words_{i}"].tolist(), "tokens": arrays[f"tokens_{i}"].tolist(),
                 "attention": arrays[f"attention_{i}"]} for i in range(n_examples)]


@pytest.mark.slow
def test_original_maps_equal_the_reference_first_piece_maps(tmp_path):
    golden = original_golden()
    assert any("[SEP]" in example["words"] for example in golden)  # a second segment: segment ids matter
    path = write_examples(tmp_path, [{"words": example["words"]} for example in golden])
    outputs = {}
    runs = (("original", ["--original"]), ("ours", []), ("first_piece_only", ["--word-level-mode", "first"]))
    for name, flags in runs:
        outfile = tmp_path / f"{name}.pkl"
        extract_attention.main(["--preprocessed-data-file", str(path), "--word_level", "--outfile", str(outfile),
                                *flags])
        outputs[name] = read_examples(outfile)
    options = read_json(tmp_path / "original.run.json")["options"]
    assert options["original"] and options["single_segment"] and options["word_level_mode"] == "first"
    for index, example in enumerate(golden):
        maps = {name: output[index]["attns"].astype(np.float32) for name, output in outputs.items()}
        assert outputs["original"][index]["tokens"] == example["tokens"]
        assert outputs["original"][index]["attns"].dtype == np.float16
        np.testing.assert_allclose(maps["original"], example["attention"], rtol=FLOAT16_ROUNDING, atol=1e-5)
        if len(example["tokens"]) > len(example["words"]) + 2:  # a split word: the mean of its rows differs
            assert np.abs(maps["ours"] - example["attention"]).max() > 1e-2
        if "[SEP]" in example["words"]:  # a second segment: its token type ids differ
            assert np.abs(maps["first_piece_only"] - example["attention"]).max() > 1e-2


def test_original_refuses_another_word_level_mode(tmp_path):
    path = write_examples(tmp_path, [{"words": ["fine"]}])
    error = assert_error("--preprocessed-data-file", str(path), "--word_level", "--original",
                         "--word-level-mode", "mean")
    assert "--original" in error and "--word-level-mode mean" in error
    args = extract_attention.parse_args(["--preprocessed-data-file", str(path), "--original"])
    assert args.single_segment and args.word_level_mode == "first"
    assert extract_attention.parse_args(["--preprocessed-data-file", str(path)]).word_level_mode == "mean"


def test_original_changes_the_shard_fingerprint(tmp_path):
    path = write_examples(tmp_path, [{"words": ["fine"]}])
    runs = (["--original"], [], ["--single-segment", "--word-level-mode", "first"])
    fingerprints = {
        extract_attention.run_fingerprint(path, embedded_model_dir(), extract_attention.parse_args(
            ["--preprocessed-data-file", str(path), "--word_level", *flags]))
        for flags in runs
    }
    assert len(fingerprints) == len(runs)


@pytest.mark.parametrize(
    ("examples", "fragments"),
    [
        ([{"text": "fine"}, {"id": 3}], ["example 1", "text/words/tokens", "found none"]),
        ([{"text": "a", "words": ["a"]}], ["example 0", "text/words/tokens", "found text, words"]),
        ([{"tokens": ["[CLS]", "qwxzqv", "[SEP]"]}], ["example 0", "'tokens'", "'qwxzqv'"]),
        ([{"words": ["fine"]}, {"words": ["ok", "\u200b"]}], ["example 1", "'words'", "word 1"]),
        ([{"text": 42}], ["example 0", "'text'", "string"]),
        ([{"words": "not a list"}], ["example 0", "'words'", "list of strings"]),
    ],
)
def test_bad_examples(tmp_path, examples, fragments):
    path = write_examples(tmp_path, examples)
    error = assert_error("--preprocessed-data-file", str(path))
    assert all(fragment in error for fragment in [str(path), *fragments]), error
    assert not (tmp_path / "examples_attn.pkl").exists()


def test_word_level_needs_words(tmp_path):
    path = write_examples(tmp_path, [{"tokens": ["[CLS]", "hello", "[SEP]", "world", "[SEP]"]}])
    error = assert_error("--preprocessed-data-file", str(path), "--word_level")
    assert f"{path}: example 0: field 'words': --word_level needs 'words'" in error


def test_malformed_and_non_utf8_json(tmp_path):
    malformed = tmp_path / "malformed.json"
    malformed.write_text('[{"text": "a"},', encoding="utf-8")
    assert f"{malformed}: malformed JSON" in assert_error("--preprocessed-data-file", str(malformed))
    latin1 = tmp_path / "latin1.json"
    latin1.write_bytes('[{"text": "café"}]'.encode("latin-1"))
    assert f"{latin1}: not UTF-8" in assert_error("--preprocessed-data-file", str(latin1))
    not_a_list = write_examples(tmp_path, {"text": "a"}, "object.json")
    assert f"{not_a_list}: expected a JSON list" in assert_error("--preprocessed-data-file", str(not_a_list))


def test_model_directory_without_checkpoint(tmp_path):
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    path = write_examples(tmp_path, [{"text": "a"}])
    assert f"{model_dir}: no config.json or bert_config.json" in assert_error(
        "--preprocessed-data-file", str(path), "--bert-dir", str(model_dir))
    (model_dir / "config.json").write_text('{"vocab_size": 5}')
    assert f"{model_dir}: no weights: expected model.safetensors" in assert_error(
        "--preprocessed-data-file", str(path), "--bert-dir", str(model_dir))
    (model_dir / "model.safetensors").write_bytes(b"")
    assert f"{model_dir}: no tokenizer: expected tokenizer.json, vocab.txt" in assert_error(
        "--preprocessed-data-file", str(path), "--bert-dir", str(model_dir))


@pytest.mark.slow
def test_checkpoint_that_does_not_fit_its_config(tmp_path):
    model_dir = embedded_copy(tmp_path / "model", {"intermediate_size": 1024})
    path = write_examples(tmp_path, [{"text": "a"}])
    error = assert_error("--preprocessed-data-file", str(path), "--bert-dir", str(model_dir))
    assert all(fragment in error for fragment in (str(model_dir), "intermediate/dense/kernel", "(384, 1536)",
                                                    "(384, 1024)")), error


def test_max_sequence_length_above_model_positions(tmp_path):
    path = write_examples(tmp_path, [{"text": "a"}])
    result = run_script("extract_attention.py", "--preprocessed-data-file", str(path), "--max_sequence_length", "513")
    assert_one_line_error(result, "--max-sequence-length: 513", "512 positions")


def test_length_batches_fill_a_token_budget():
    lengths = [30, 5, 128, 6, 64, 5, 7, 100]
    batches = length_batches(lengths, tokens_per_batch=128)
    assert sorted(index for batch in batches for index in batch) == list(range(len(lengths)))
    assert [lengths[index] for batch in batches for index in batch] == sorted(lengths)
    for batch in batches:
        assert len(batch) == 1 or len(batch) * max(lengths[index] for index in batch) <= 128
    assert batches[0] == [1, 5, 3, 6]  # four short examples share one batch: 4 * 7 <= 128 tokens


def run_offline(hf_home: Path, *args: str) -> subprocess.CompletedProcess:
    """extract_attention.py as a command, with `hf_home` as the Hugging Face cache and no network (HF_HUB_OFFLINE)."""
    environment = {**os.environ, "HF_HOME": str(hf_home), "HF_HUB_OFFLINE": "1"}
    return subprocess.run([sys.executable, "extract_attention.py", *args], cwd=ROOT, capture_output=True, text=True,
                          env=environment, timeout=600)


@pytest.mark.slow
def test_a_hub_id_in_the_cache_gives_its_directory_s_maps_offline(tmp_path):
    hub_id = "sentence-transformers/all-MiniLM-L6-v2"
    commit = hub_cache(tmp_path / "hf", hub_id, embedded_model_dir())
    path = write_examples(tmp_path, [{"text": "The cat sat on the mat."}, {"words": ["Hub", "ids", "resolve"]}])
    by_id = run_offline(tmp_path / "hf", "--preprocessed-data-file", str(path), "--model", hub_id, "--outfile",
                        str(tmp_path / "by_id.pkl"))
    assert by_id.returncode == 0, by_id.stderr
    extract_attention.main(["--preprocessed-data-file", str(path), "--outfile", str(tmp_path / "by_directory.pkl")])
    for from_hub, from_directory in zip(read_examples(tmp_path / "by_id.pkl"),
                                        read_examples(tmp_path / "by_directory.pkl"), strict=True):
        assert from_hub["tokens"] == from_directory["tokens"]
        np.testing.assert_array_equal(from_hub["attns"], from_directory["attns"])
    model = read_json(tmp_path / "by_id.run.json")["model"]
    assert (model["hub_id"], model["revision"], model["commit"]) == (hub_id, None, commit)
    assert model["directory"].endswith(f"snapshots/{commit}")

    missing = run_offline(tmp_path / "hf", "--preprocessed-data-file", str(path), "--model", "org/not-cached",
                          "--outfile", str(tmp_path / "missing.pkl"))
    assert_one_line_error(missing, "org/not-cached: not a model directory, and not resolved as a Hugging Face Hub id")
    assert not (tmp_path / "missing.pkl").exists()
