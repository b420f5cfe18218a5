"""The Keras encoder's attention maps against Hugging Face's BertModel (golden file: tests/golden/make_golden.py)."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from checkpoints import write_google_checkpoint

from bert.checkpoint import embedded_model_dir, load_encoder, open_tokenizer
from bert.extraction import AttentionExtractor, PreparedExample, segment_ids
from bert.model_tokenizer import ModelTokenizer
from utils import InputError

pytestmark = pytest.mark.slow  # runs the model

GOLDEN = Path(__file__).parent / "golden" / "minilm_attention.npz"
TOLERANCE = 1e-5


@pytest.fixture(scope="module")
def golden() -> list[dict]:
    """The reference examples: texts, tokens, ids, token types and float32 maps [6, 12, n, n]."""
    archive = np.load(GOLDEN)
    return [
        {
            "text_a": str(text_a),
            "text_b": str(text_b),
            "tokens": [str(token) for token in archive[f"tokens_{index}"]],
            "input_ids": archive[f"input_ids_{index}"],
            "token_type_ids": archive[f"token_type_ids_{index}"],
            "attention": archive[f"attention_{index}"],
        }
        for index, (text_a, text_b) in enumerate(zip(archive["text_a"], archive["text_b"], strict=True))
    ]


@pytest.fixture(scope="module")
def model_dir() -> Path:
    return embedded_model_dir()


@pytest.fixture(scope="module")
def tokenizer(model_dir) -> ModelTokenizer:
    return open_tokenizer(model_dir)


@pytest.fixture(scope="module")
def extractor(model_dir, tokenizer) -> AttentionExtractor:
    return AttentionExtractor(load_encoder(model_dir), tokenizer)


def pair_tokens(tokenizer: ModelTokenizer, text_a: str, text_b: str) -> list[str]:
    """`[CLS] A [SEP]`, or `[CLS] A [SEP] B [SEP]` when there is a second text."""
    tokens = ["[CLS]", *tokenizer.tokenize(text_a), "[SEP]"]
    return tokens + [*tokenizer.tokenize(text_b), "[SEP]"] if text_b else tokens


def batched_maps(extractor: AttentionExtractor, token_lists: list[list[str]], batch_size: int) -> list[np.ndarray]:
    """Maps of every example, run in batches of `batch_size` in the given order (so with padding)."""
    maps = []
    for start in range(0, len(token_lists), batch_size):
        batch = [PreparedExample(tokens) for tokens in token_lists[start : start + batch_size]]
        maps.extend(extractor.attention_maps(batch))
    return maps


def test_golden_file_is_varied(golden):
    lengths = [len(example["tokens"]) for example in golden]
    assert len(golden) >= 20
    assert min(lengths) <= 5 and max(lengths) >= 40
    assert sum(bool(example["text_b"]) for example in golden) >= 4


def test_tokens_ids_and_segments_match_reference(golden, tokenizer):
    for example in golden:
        tokens = pair_tokens(tokenizer, example["text_a"], example["text_b"])
        assert tokens == example["tokens"]
        np.testing.assert_array_equal(tokenizer.convert_tokens_to_ids(tokens), example["input_ids"])
        np.testing.assert_array_equal(segment_ids(tokens, False, 2, "[SEP]"), example["token_type_ids"])


def test_batched_maps_match_reference(golden, extractor):
    """Golden examples in batches of 8 in file order, so short ones are padded to much longer ones."""
    maps = batched_maps(extractor, [example["tokens"] for example in golden], batch_size=8)
    for example, example_maps in zip(golden, maps, strict=True):
        assert example_maps.shape == example["attention"].shape
        np.testing.assert_allclose(example_maps, example["attention"], rtol=0, atol=TOLERANCE)


def test_batching_does_not_change_results(golden, extractor):
    shortest = min(golden, key=lambda example: len(example["tokens"]))["tokens"]
    longer = sorted((example["tokens"] for example in golden), key=len)[-5:]
    alone = batched_maps(extractor, [shortest], batch_size=1)[0]
    in_batch = batched_maps(extractor, [*longer, shortest], batch_size=6)[-1]
    np.testing.assert_allclose(in_batch, alone, rtol=0, atol=1e-6)


def google_checkpoint_from_hugging_face(model_dir: Path, target: Path) -> None:
    """Write the Hugging Face weights as a Google BERT directory (with a pooler, as real Google checkpoints have)."""
    from safetensors.numpy import load_file

    weights = {name: value for name, value in load_file(model_dir / "model.safetensors").items()
               if name.startswith(("embeddings.", "encoder.")) and name != "embeddings.position_ids"}
    config = json.loads((model_dir / "config.json").read_text())
    google_config = {key: value for key, value in config.items() if key != "layer_norm_eps"}
    write_google_checkpoint(weights, google_config, model_dir / "vocab.txt", target,
                            extra={"bert/pooler/dense/kernel": np.zeros((4, 4), np.float32)})


def test_google_checkpoint_gives_the_same_maps(golden, model_dir, tokenizer, tmp_path):
    google_dir = tmp_path / "google_bert"
    google_checkpoint_from_hugging_face(model_dir, google_dir)
    extractor = AttentionExtractor(load_encoder(google_dir), tokenizer)
    maps = batched_maps(extractor, [example["tokens"] for example in golden], batch_size=8)
    for example, example_maps in zip(golden, maps, strict=True):
        np.testing.assert_allclose(example_maps, example["attention"], rtol=0, atol=TOLERANCE)


def sharded_copy(model_dir: Path, target: Path) -> None:
    """`model_dir` as a Hugging Face checkpoint in two safetensors shards with an index."""
    from safetensors.numpy import load_file, save_file

    target.mkdir()
    for name in ("config.json", "vocab.txt"):
        shutil.copy(model_dir / name, target / name)
    tensors = load_file(model_dir / "model.safetensors")
    names = sorted(tensors)
    shards = {"model-00001-of-00002.safetensors": names[::2], "model-00002-of-00002.safetensors": names[1::2]}
    for shard, shard_names in shards.items():
        save_file({name: tensors[name] for name in shard_names}, target / shard)
    weight_map = {name: shard for shard, shard_names in shards.items() for name in shard_names}
    (target / "model.safetensors.index.json").write_text(json.dumps({"metadata": {}, "weight_map": weight_map}))


def test_sharded_hugging_face_checkpoint_gives_the_same_maps(golden, model_dir, tokenizer, tmp_path):
    sharded_dir = tmp_path / "sharded"
    sharded_copy(model_dir, sharded_dir)
    extractor = AttentionExtractor(load_encoder(sharded_dir), tokenizer)
    maps = batched_maps(extractor, [example["tokens"] for example in golden[:4]], batch_size=4)
    for example, example_maps in zip(golden[:4], maps, strict=True):
        np.testing.assert_allclose(example_maps, example["attention"], rtol=0, atol=TOLERANCE)


@pytest.mark.parametrize(
    ("index", "message"),
    [
        ([], "expected an object whose 'weight_map'"),
        ({"weight_map": {"embeddings.word_embeddings.weight": 3}}, "expected an object whose 'weight_map'"),
        ({"weight_map": {"embeddings.word_embeddings.weight": "absent.safetensors"}}, "absent.safetensors"),
    ],
)
def test_bad_safetensors_index(model_dir, tmp_path, index, message):
    sharded_dir = tmp_path / "sharded"
    sharded_copy(model_dir, sharded_dir)
    (sharded_dir / "model.safetensors.index.json").write_text(json.dumps(index))
    with pytest.raises(InputError, match=message):
        load_encoder(sharded_dir)
