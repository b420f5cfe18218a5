"""Model directories the tests write: a copy of the embedded model with its config or vocabulary changed, a Google
BERT checkpoint made from Hugging Face weights, and a Hugging Face Hub cache holding a model.

The Google names are written out here, independently of bert/checkpoint.py, so that a mistake in the loader's
mapping cannot be repeated by the test that checks it.
"""

import json
import os
from pathlib import Path

import numpy as np

from bert.checkpoint import embedded_model_dir

EMBEDDINGS = {
    "embeddings.word_embeddings.weight": "bert/embeddings/word_embeddings",
    "embeddings.position_embeddings.weight": "bert/embeddings/position_embeddings",
    "embeddings.token_type_embeddings.weight": "bert/embeddings/token_type_embeddings",
    "embeddings.LayerNorm.weight": "bert/embeddings/LayerNorm/gamma",
    "embeddings.LayerNorm.bias": "bert/embeddings/LayerNorm/beta",
}
DENSE_SCOPES = [("attention.self.query", "attention/self/query"), ("attention.self.key", "attention/self/key"),
                ("attention.self.value", "attention/self/value"), ("attention.output.dense", "attention/output/dense"),
                ("intermediate.dense", "intermediate/dense"), ("output.dense", "output/dense")]
NORM_SCOPES = [("attention.output.LayerNorm", "attention/output/LayerNorm"), ("output.LayerNorm", "output/LayerNorm")]
MASKED_LM_HEAD = {
    "cls.predictions.transform.dense.weight": "cls/predictions/transform/dense/kernel",
    "cls.predictions.transform.dense.bias": "cls/predictions/transform/dense/bias",
    "cls.predictions.transform.LayerNorm.weight": "cls/predictions/transform/LayerNorm/gamma",
    "cls.predictions.transform.LayerNorm.bias": "cls/predictions/transform/LayerNorm/beta",
    "cls.predictions.bias": "cls/predictions/output_bias",
}


def google_names(n_layers: int, model_scope: str = "bert") -> dict[str, str]:
    """Hugging Face parameter name (without the `bert.` prefix) -> Google checkpoint name, encoder and head; the
    encoder under `model_scope` (`electra` for Google's ELECTRA release)."""
    names = {name: google.replace("bert/", f"{model_scope}/", 1) for name, google in EMBEDDINGS.items()}
    for layer in range(n_layers):
        scope = f"{model_scope}/encoder/layer_{layer}"
        for hugging_face, google in DENSE_SCOPES:
            names[f"encoder.layer.{layer}.{hugging_face}.weight"] = f"{scope}/{google}/kernel"
            names[f"encoder.layer.{layer}.{hugging_face}.bias"] = f"{scope}/{google}/bias"
        for hugging_face, google in NORM_SCOPES:
            names[f"encoder.layer.{layer}.{hugging_face}.weight"] = f"{scope}/{google}/gamma"
            names[f"encoder.layer.{layer}.{hugging_face}.bias"] = f"{scope}/{google}/beta"
    return {**names, **MASKED_LM_HEAD}


def write_google_checkpoint(weights: dict[str, np.ndarray], config: dict, vocab: Path, target: Path,
                            extra: dict[str, np.ndarray] | None = None) -> None:
    """Write Hugging Face `weights` (names with or without `bert.`) as a Google BERT directory, with TensorFlow:
    Google's names, kernels transposed to [in, out], `extra` tensors as they are, `config` as bert_config.json."""
    import tensorflow as tf

    renames = google_names(config["num_hidden_layers"])
    tensors = {}
    for name, value in weights.items():
        google = renames[name.removeprefix("bert.")]
        tensors[google] = value.T if google.endswith("/kernel") else value
    tensors.update(extra or {})
    target.mkdir()
    tf.raw_ops.SaveV2(prefix=str(target / "bert_model.ckpt"), tensor_names=list(tensors),
                      shape_and_slices=[""] * len(tensors), tensors=list(tensors.values()))
    (target / "bert_config.json").write_text(json.dumps(config))
    (target / "vocab.txt").write_bytes(vocab.read_bytes())


def embedded_copy(directory: Path, config_changes: dict | None = None, vocab: bytes | None = None) -> Path:
    """A copy of the embedded model (weights linked) with its config changed or its vocab replaced."""
    embedded = embedded_model_dir()
    directory.mkdir()
    config = {**json.loads((embedded / "config.json").read_text()), **(config_changes or {})}
    (directory / "config.json").write_text(json.dumps(config))
    os.symlink(embedded / "model.safetensors", directory / "model.safetensors")
    if vocab is None:
        os.symlink(embedded / "vocab.txt", directory / "vocab.txt")
    else:
        (directory / "vocab.txt").write_bytes(vocab)
    return directory


def hub_cache(hf_home: Path, hub_id: str, model_dir: Path, commit: str = "0123456789abcdef" * 2 + "01234567") -> str:
    """Lay `model_dir`'s files out as the Hugging Face cache in `hf_home` holds a downloaded `hub_id` (a snapshot of
    `commit`, linked from `refs/main`), as huggingface_hub writes it; returns the commit."""
    repository = hf_home / "hub" / f"models--{hub_id.replace('/', '--')}"
    snapshot = repository / "snapshots" / commit
    snapshot.mkdir(parents=True)
    for path in model_dir.iterdir():
        if path.is_file():
            os.symlink(path.resolve(), snapshot / path.name)
    (repository / "refs").mkdir()
    (repository / "refs" / "main").write_text(commit)
    return commit


def write_google_electra_checkpoint(model_dir: Path, target: Path) -> Path:
    """The ELECTRA discriminator of Hugging Face directory `model_dir` laid out as Google's ELECTRA release: a TF
    checkpoint `model.ckpt-1000` under `electra/...` (with `embeddings_project`), beside a generator and the
    discriminator's head that the encoder does not use, and the model's config.json and tokenizer files."""
    import tensorflow as tf
    from safetensors.numpy import load_file

    config = json.loads((model_dir / "config.json").read_text())
    renames = google_names(config["num_hidden_layers"], "electra")
    renames |= {"embeddings_project.weight": "electra/embeddings_project/kernel",
                "embeddings_project.bias": "electra/embeddings_project/bias"}
    tensors = {}
    for name, value in load_file(model_dir / "model.safetensors").items():
        google = renames.get(name.removeprefix("electra."))
        if google is not None:
            tensors[google] = value.T if google.endswith("/kernel") else value
    tensors["generator/embeddings/word_embeddings"] = np.ones((3, 2), np.float32)
    tensors["discriminator_predictions/dense/kernel"] = np.ones((2, 2), np.float32)
    target.mkdir()
    tf.raw_ops.SaveV2(prefix=str(target / "model.ckpt-1000"), tensor_names=list(tensors),
                      shape_and_slices=[""] * len(tensors), tensors=list(tensors.values()))
    for path in model_dir.iterdir():
        if path.name != "model.safetensors":
            (target / path.name).write_bytes(path.read_bytes())
    return target
