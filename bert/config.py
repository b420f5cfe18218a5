"""Encoder hyperparameters, read from Google's `bert_config.json` or Hugging Face's `config.json`.

One config describes every supported family (Hugging Face `model_type`); their differences are fields:
- `bert`, `electra`: absolute positions from 0; ELECTRA projects its smaller embeddings to the hidden size;
- `roberta`, `xlm-roberta`, `camembert`: positions counted from `pad_token_id + 1` over the non-padding tokens;
- `distilbert`: no token types (its config names its fields `dim`, `n_layers`, ...);
- `albert`: factorised embeddings projected to the hidden size, `num_hidden_groups` layers shared in order.
Anything this model would not compute exactly is refused in one line (`from_json_file`).
"""

import dataclasses
from pathlib import Path

from utils import InputError, read_json

ACTIVATIONS = ("gelu", "gelu_new", "gelu_pytorch_tanh", "relu")
BERT_LIKE = ("bert", "electra")
ROBERTA_LIKE = ("roberta", "xlm-roberta", "camembert")
MODEL_TYPES = (*BERT_LIKE, *ROBERTA_LIKE, "distilbert", "albert")
UNSUPPORTED = {  # config keys whose other values this model would not compute exactly: the values it computes
    "position_embedding_type": ("absolute",),
    "is_decoder": (False,),
    "add_cross_attention": (False,),
    "inner_group_num": (1,),
    "sinusoidal_pos_embds": (False,),
}
DISTILBERT_NAMES = {"dim": "hidden_size", "n_layers": "num_hidden_layers", "n_heads": "num_attention_heads",
                    "hidden_dim": "intermediate_size", "activation": "hidden_act"}
POSITIVE_FIELDS = ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
                   "max_position_embeddings", "embedding_size", "num_hidden_groups")


@dataclasses.dataclass(frozen=True)
class EncoderConfig:
    """Model hyperparameters, as in Hugging Face's `config.json` (and Google's `bert_config.json`)."""

    vocab_size: int
    model_type: str = "bert"
    hidden_size: int = 768
    num_hidden_layers: int = 12
    num_attention_heads: int = 12
    intermediate_size: int = 3072
    hidden_act: str = "gelu"
    max_position_embeddings: int = 512
    type_vocab_size: int = 2
    layer_norm_eps: float = 1e-12
    initializer_range: float = 0.02
    embedding_size: int | None = None  # None: the hidden size (ELECTRA and ALBERT give their own)
    num_hidden_groups: int | None = None  # ALBERT: distinct layers, shared in order; None: every layer its own
    pad_token_id: int = 0  # RoBERTa-like: position ids start after it

    def __post_init__(self):
        if self.model_type not in MODEL_TYPES:
            raise InputError(f"model_type {self.model_type!r} is not supported (supported: {', '.join(MODEL_TYPES)})")
        for name in POSITIVE_FIELDS:
            if getattr(self, name) is not None and getattr(self, name) < 1:
                raise InputError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.type_vocab_size < 0:
            raise InputError(f"type_vocab_size must not be negative, got {self.type_vocab_size}")
        if not self.layer_norm_eps > 0:
            raise InputError(f"layer_norm_eps must be positive, got {self.layer_norm_eps}")
        if self.hidden_size % self.num_attention_heads:
            raise InputError(f"hidden_size {self.hidden_size} is not divisible by {self.num_attention_heads} heads")
        if self.hidden_act not in ACTIVATIONS:
            raise InputError(f"hidden_act '{self.hidden_act}' is not one of {', '.join(ACTIVATIONS)}")
        if self.num_hidden_layers % self.layer_groups:
            raise InputError(f"{self.num_hidden_layers} layers cannot be shared by {self.layer_groups} groups")

    @classmethod
    def from_json_file(cls, path: str | Path) -> "EncoderConfig":
        """Read a Google or Hugging Face config file; keys that change nothing this model computes are ignored, and
        a model it would not compute exactly (another `model_type`, relative positions, a decoder) is refused."""
        values = read_json(path)
        if not isinstance(values, dict):
            raise InputError(f"{path}: not a JSON object")
        try:
            return cls(**config_fields(values))
        except InputError as error:
            raise InputError(f"{path}: {error}") from None

    @property
    def embedding_width(self) -> int:
        """The width of the embeddings (the hidden size unless factorised)."""
        return self.embedding_size or self.hidden_size

    @property
    def projects_embeddings(self) -> bool:
        """Whether a dense layer maps the embeddings to the hidden size (ALBERT always, ELECTRA when they differ)."""
        return self.model_type == "albert" or self.embedding_width != self.hidden_size

    @property
    def layer_groups(self) -> int:
        """How many distinct layers there are (ALBERT shares them; every other family has one per layer)."""
        return self.num_hidden_groups or self.num_hidden_layers

    def layer_group(self, layer: int) -> int:
        """The distinct layer that computes `layer` (ALBERT: group int(layer / (layers / groups)))."""
        return layer * self.layer_groups // self.num_hidden_layers

    @property
    def positions_from_padding(self) -> bool:
        """Whether position ids count the non-padding tokens from `pad_token_id + 1` (RoBERTa-like)."""
        return self.model_type in ROBERTA_LIKE

    @property
    def positions(self) -> int:
        """The longest input the model reads: its position embeddings, less the `pad_token_id + 1` that
        RoBERTa-like models skip."""
        offset = self.pad_token_id + 1 if self.positions_from_padding else 0
        return self.max_position_embeddings - offset

    @property
    def head_act(self) -> str:
        """The masked-LM head's activation: RoBERTa-like heads use exact GELU, the others the hidden activation."""
        return "gelu" if self.positions_from_padding else self.hidden_act

    @property
    def head_size(self) -> int:
        return self.hidden_size // self.num_attention_heads


def config_fields(values: dict) -> dict:
    """The EncoderConfig fields of a config file's JSON object, checked; InputError for a model or an option this
    model does not compute, or a field of the wrong type."""
    model_type = values.get("model_type", "bert")
    if model_type not in MODEL_TYPES:
        raise InputError(f"model_type {model_type!r} is not supported (supported: {', '.join(MODEL_TYPES)}); "
                         "refusing rather than computing another model")
    for key, computed in UNSUPPORTED.items():
        if key in values and values[key] not in computed:
            raise InputError(f"{key} {values[key]!r} is not supported (this model computes {key} "
                             f"{computed[0]!r} only); refusing rather than computing another model")
    if model_type == "distilbert":
        values = {DISTILBERT_NAMES.get(key, key): value for key, value in values.items()}
        values |= {"type_vocab_size": 0, "layer_norm_eps": 1e-12}
    if model_type not in ("albert", "electra"):
        values = {key: value for key, value in values.items() if key != "embedding_size"}
    if model_type != "albert":
        values = {key: value for key, value in values.items() if key != "num_hidden_groups"}
    kwargs = {}
    for field in dataclasses.fields(EncoderConfig):
        if field.name in values:
            kwargs[field.name] = checked_field(field.name, values[field.name])
    if "vocab_size" not in kwargs:
        raise InputError("field 'vocab_size' is missing")
    return kwargs


def checked_field(name: str, value: object) -> object:
    """A config value of the field's type (a number for floats, a string for names, else an int)."""
    expected = {"layer_norm_eps": "number", "initializer_range": "number", "model_type": "str", "hidden_act": "str"}
    kind = expected.get(name, "int")
    allowed = {"number": (int, float), "str": str, "int": int}[kind]
    if isinstance(value, bool) or not isinstance(value, allowed):
        raise InputError(f"field '{name}' should be {'a' if kind != 'int' else 'an'} {kind}, got {value!r}")
    return value
