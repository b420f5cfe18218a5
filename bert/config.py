"""BERT hyperparameters, read from Google's `bert_config.json` or Hugging Face's `config.json`."""

import dataclasses
from pathlib import Path

from utils import InputError, read_json

ACTIVATIONS = ("gelu", "gelu_new", "gelu_pytorch_tanh", "relu")
UNSUPPORTED = {  # config keys whose other values this model would not compute exactly: the values it computes
    "model_type": ("bert",),
    "position_embedding_type": ("absolute",),
    "is_decoder": (False,),
    "add_cross_attention": (False,),
}
POSITIVE_FIELDS = ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
                   "max_position_embeddings", "type_vocab_size")


@dataclasses.dataclass(frozen=True)
class BertConfig:
    """Model hyperparameters, as in Google's `bert_config.json` and Hugging Face's `config.json`."""

    vocab_size: int
    hidden_size: int = 768
    num_hidden_layers: int = 12
    num_attention_heads: int = 12
    intermediate_size: int = 3072
    hidden_act: str = "gelu"
    max_position_embeddings: int = 512
    type_vocab_size: int = 2
    layer_norm_eps: float = 1e-12
    initializer_range: float = 0.02

    def __post_init__(self):
        for name in POSITIVE_FIELDS:
            if getattr(self, name) < 1:
                raise InputError(f"{name} must be at least 1, got {getattr(self, name)}")
        if not self.layer_norm_eps > 0:
            raise InputError(f"layer_norm_eps must be positive, got {self.layer_norm_eps}")
        if self.hidden_size % self.num_attention_heads:
            raise InputError(f"hidden_size {self.hidden_size} is not divisible by {self.num_attention_heads} heads")
        if self.hidden_act not in ACTIVATIONS:
            raise InputError(f"hidden_act '{self.hidden_act}' is not one of {', '.join(ACTIVATIONS)}")

    @classmethod
    def from_json_file(cls, path: str | Path) -> "BertConfig":
        """Read a Google or Hugging Face config file; keys that change nothing this model computes are ignored, and
        a model it would not compute exactly (another `model_type`, relative positions, a decoder) is refused."""
        values = read_json(path)
        if not isinstance(values, dict):
            raise InputError(f"{path}: not a JSON object")
        for key, computed in UNSUPPORTED.items():
            if key in values and values[key] not in computed:
                raise InputError(f"{path}: {key} {values[key]!r} is not supported (this model computes "
                                 f"{key} {computed[0]!r} only); refusing rather than computing another model")
        kwargs = {}
        for field in dataclasses.fields(cls):
            if field.name not in values:
                continue
            value = values[field.name]
            allowed = (int, float) if field.type is float else field.type
            if isinstance(value, bool) or not isinstance(value, allowed):
                raise InputError(f"{path}: field '{field.name}' should be {field.type.__name__}, got {value!r}")
            kwargs[field.name] = value
        if "vocab_size" not in kwargs:
            raise InputError(f"{path}: field 'vocab_size' is missing")
        try:
            return cls(**kwargs)
        except InputError as error:
            raise InputError(f"{path}: {error}") from None

    @property
    def head_size(self) -> int:
        return self.hidden_size // self.num_attention_heads
