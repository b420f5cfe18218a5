"""Encoder hyperparameters, read from Google's `bert_config.json` or Hugging Face's `config.json`.

One config describes every supported family (Hugging Face `model_type`); their differences are fields:
- `bert`, `electra`: absolute positions from 0; ELECTRA projects its smaller embeddings to the hidden size;
- `roberta`, `xlm-roberta`, `camembert`: positions counted from `pad_token_id + 1` over the non-padding tokens;
- `distilbert`: no token types (its config names its fields `dim`, `n_layers`, ...);
- `albert`: factorised embeddings projected to the hidden size, `num_hidden_groups` layers shared in order;
- `deberta-v2` (DeBERTa-v2 and v3): disentangled attention, whose scores add content-to-position and
  position-to-content terms of log-bucketed relative positions; no absolute positions unless `position_biased_input`;
- `modernbert`: pre-norm layers with rotary positions (a global and a local base), local sliding-window layers
  between global ones, a GeGLU feed-forward and no biases.
Anything this model would not compute exactly is refused in one line (`from_json_file`).
"""

import dataclasses
from pathlib import Path

from utils import InputError, read_json

ACTIVATIONS = ("gelu", "gelu_new", "gelu_pytorch_tanh", "relu")
BERT_LIKE = ("bert", "electra")
ROBERTA_LIKE = ("roberta", "xlm-roberta", "camembert")
MODEL_TYPES = (*BERT_LIKE, *ROBERTA_LIKE, "distilbert", "albert", "deberta-v2", "modernbert")
UNSUPPORTED = {  # config keys whose other values this model would not compute exactly: the values it computes
    "position_embedding_type": ("absolute",),
    "is_decoder": (False,),
    "add_cross_attention": (False,),
    "inner_group_num": (1,),
    "sinusoidal_pos_embds": (False,),
    "conv_kernel_size": (0,),  # DeBERTa-v2's convolution beside the first layer
    "attention_bias": (False,),  # ModernBERT: biases it does not have
    "mlp_bias": (False,),
    "norm_bias": (False,),
    "rope_scaling": (None,),
}
DISTILBERT_NAMES = {"dim": "hidden_size", "n_layers": "num_hidden_layers", "n_heads": "num_attention_heads",
                    "hidden_dim": "intermediate_size", "activation": "hidden_act"}
MODERNBERT_NAMES = {"hidden_activation": "hidden_act", "norm_eps": "layer_norm_eps"}
POSITIVE_FIELDS = ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
                   "max_position_embeddings", "embedding_size", "num_hidden_groups", "local_attention")
LAYER_TYPES = ("full_attention", "sliding_attention")  # ModernBERT: global and local layers
POSITION_ATTENTION = ("c2p", "p2c")  # DeBERTa: the relative-position terms of the scores


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
    # DeBERTa-v2 (transformers' names and defaults)
    relative_attention: bool = False
    position_buckets: int = -1  # > 0: relative positions beyond half of it are log-bucketed
    max_relative_positions: int = -1  # < 1: max_position_embeddings
    pos_att_type: tuple[str, ...] = ()
    share_att_key: bool = False  # the relative embeddings go through the content query and key projections
    norm_rel_ebd: str = "none"  # "layer_norm": the relative embeddings are LayerNorm'd
    position_biased_input: bool = True  # absolute position embeddings added to the input
    # ModernBERT
    layer_types: tuple[str, ...] = ()  # per layer, one of LAYER_TYPES
    local_attention: int = 128  # a local layer's query i sees keys j with |i - j| <= local_attention // 2
    global_rope_theta: float = 160000.0
    local_rope_theta: float = 10000.0

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
        if set(self.pos_att_type) - set(POSITION_ATTENTION):
            raise InputError(f"pos_att_type {list(self.pos_att_type)} is not supported (supported: c2p, p2c)")
        if self.norm_rel_ebd not in ("none", "layer_norm"):
            raise InputError(f"norm_rel_ebd {self.norm_rel_ebd!r} is not supported (supported: none, layer_norm)")
        if self.model_type == "modernbert" and (len(self.layer_types) != self.num_hidden_layers
                                                or set(self.layer_types) - set(LAYER_TYPES)):
            raise InputError(f"layer_types must name one of {', '.join(LAYER_TYPES)} for each of the "
                             f"{self.num_hidden_layers} layers, got {list(self.layer_types)}")

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
    def pre_norm(self) -> bool:
        """Whether each block normalises its input (ModernBERT) rather than its residual sum (every other family)."""
        return self.model_type == "modernbert"

    def is_local(self, layer: int) -> bool:
        """Whether `layer` attends within a sliding window (ModernBERT's local layers)."""
        return bool(self.layer_types) and self.layer_types[layer] == "sliding_attention"

    @property
    def relative_span(self) -> int:
        """DeBERTa: the relative distances the position embeddings cover on each side (`position_buckets` when
        bucketing, else `max_relative_positions`, else `max_position_embeddings`)."""
        if self.position_buckets > 0:
            return self.position_buckets
        return self.max_relative_positions if self.max_relative_positions > 0 else self.max_position_embeddings

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
    if model_type == "deberta-v2":
        values = deberta_fields(values)
    if model_type == "modernbert":
        values = modernbert_fields(values)
    if model_type not in ("albert", "electra", "deberta-v2"):
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


def deberta_fields(values: dict) -> dict:
    """A DeBERTa-v2 config's values as EncoderConfig reads them: `pos_att_type` as a list (older configs write
    "p2c|c2p"), and a head size other than hidden / heads refused."""
    values = dict(values)
    if isinstance(values.get("pos_att_type"), str):
        values["pos_att_type"] = [part.strip() for part in values["pos_att_type"].lower().split("|") if part.strip()]
    if values.get("pos_att_type") is None:
        values["pos_att_type"] = []
    sizes = [values.get("attention_head_size"), values.get("num_attention_heads", 12), values.get("hidden_size", 768)]
    if sizes[0] is not None and (not all(isinstance(size, int) for size in sizes) or sizes[0] * sizes[1] != sizes[2]):
        raise InputError(f"attention_head_size {sizes[0]!r} is not hidden_size / num_attention_heads; refusing "
                         "rather than computing another model")
    values.setdefault("type_vocab_size", 0)
    return values


def modernbert_fields(values: dict) -> dict:
    """A ModernBERT config's values as EncoderConfig reads them: its names for the activation and epsilon (over the
    BERT names, which Hub configs also carry and the model does not read), its layer types (from `layer_types`, else
    every `global_attn_every_n_layers`-th layer global, from layer 0) and its two rotary bases (from
    `rope_parameters`, else `global_rope_theta` / `local_rope_theta`); another rope type is refused."""
    values = {key: value for key, value in values.items() if key not in MODERNBERT_NAMES.values()}  # its own win
    values = {MODERNBERT_NAMES.get(key, key): value for key, value in values.items()} | {"type_vocab_size": 0}
    values.setdefault("hidden_act", "gelu")
    values.setdefault("layer_norm_eps", 1e-5)
    values.setdefault("max_position_embeddings", 8192)
    if values.get("layer_types") is None:
        every = values.get("global_attn_every_n_layers", 3)
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise InputError(f"field 'global_attn_every_n_layers' should be a positive int, got {every!r}")
        layers = values.get("num_hidden_layers", 22)
        values["layer_types"] = [LAYER_TYPES[bool(layer % every)] for layer in range(layers)] if isinstance(
            layers, int) else []
    rope = values.get("rope_parameters")
    if isinstance(rope, dict):
        for layer_type, field in (("full_attention", "global_rope_theta"), ("sliding_attention", "local_rope_theta")):
            parameters = rope.get(layer_type) or {}
            if parameters.get("rope_type", "default") != "default":
                raise InputError(f"rope_type {parameters['rope_type']!r} is not supported (this model computes "
                                 "'default' rotary positions only); refusing rather than computing another model")
            if "rope_theta" in parameters:
                values[field] = parameters["rope_theta"]
    return values


FIELD_KINDS = {"layer_norm_eps": "number", "initializer_range": "number", "global_rope_theta": "number",
               "local_rope_theta": "number", "model_type": "str", "hidden_act": "str", "norm_rel_ebd": "str",
               "relative_attention": "bool", "share_att_key": "bool", "position_biased_input": "bool",
               "pos_att_type": "strings", "layer_types": "strings"}


def checked_field(name: str, value: object) -> object:
    """A config value of the field's type (FIELD_KINDS: a number, a string, a bool, a list of strings as a tuple;
    else an int)."""
    kind = FIELD_KINDS.get(name, "int")
    if kind == "strings":
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise InputError(f"field '{name}' should be a list of strings, got {value!r}")
        return tuple(value)
    allowed = {"number": (int, float), "str": str, "int": int, "bool": bool}[kind]
    if (isinstance(value, bool) and kind != "bool") or not isinstance(value, allowed):
        raise InputError(f"field '{name}' should be {'an' if kind == 'int' else 'a'} {kind}, got {value!r}")
    return value
