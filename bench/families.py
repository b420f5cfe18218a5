"""Base-size checkpoints of the encoder families with random weights, written by transformers itself, for
bench/extract_bench.py --families and bench/long_bench.py.

Each is its family's base architecture: hidden 768, 12 heads, feed-forward 3,072, 512 positions and 12 layers
(DistilBERT-base 6; RoBERTa and XLM-R 514 position embeddings, numbered from pad + 1 = 2; ELECTRA-base's embeddings
as wide as its hidden layers; ALBERT-base's 128-wide embeddings and one layer shared by all 12, gelu_new;
DeBERTa-v3-base's relative attention, 256 log buckets, shared keys and normalised relative embeddings;
ModernBERT-base's 22 layers, GeGLU of 1,152, 8,192 positions, a global layer every third, 128-token windows). Its base
model class (AutoModel) draws the weights after torch.manual_seed(0) and save_pretrained writes them, beside a copy
of the tokenizer of tests/golden/families/<family>/; the model's vocab_size is that tokenizer's size (a few hundred
tokens: the time goes into the encoder, not the embeddings). Needs bench/requirements.txt (torch, transformers).
"""

import json
import shutil
from pathlib import Path

FAMILIES_DIR = Path(__file__).resolve().parents[1] / "tests" / "golden" / "families"
FAMILIES = ("bert", "roberta", "xlm-roberta", "electra", "distilbert", "albert", "deberta-v2", "modernbert")
MAX_LENGTH = 512  # tokens every base model reads
BASE = {"hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12, "intermediate_size": 3072,
        "max_position_embeddings": MAX_LENGTH}
ROBERTA_BASE = {**BASE, "type_vocab_size": 1, "bos_token_id": 0, "eos_token_id": 2, "layer_norm_eps": 1e-5}
BASE_CONFIGS = {  # family: (transformers config class, its base-size fields besides vocab_size and pad_token_id)
    "bert": ("BertConfig", {**BASE, "type_vocab_size": 2}),
    "roberta": ("RobertaConfig", ROBERTA_BASE),
    "xlm-roberta": ("XLMRobertaConfig", ROBERTA_BASE),
    "electra": ("ElectraConfig", {**BASE, "embedding_size": 768, "type_vocab_size": 2}),
    "distilbert": ("DistilBertConfig", {"dim": 768, "n_layers": 6, "n_heads": 12, "hidden_dim": 3072,
                                        "activation": "gelu", "max_position_embeddings": MAX_LENGTH,
                                        "sinusoidal_pos_embds": False}),
    "albert": ("AlbertConfig", {**BASE, "embedding_size": 128, "num_hidden_groups": 1, "inner_group_num": 1,
                                "hidden_act": "gelu_new", "type_vocab_size": 2, "bos_token_id": 2,
                                "eos_token_id": 3}),
    "deberta-v2": ("DebertaV2Config", {**BASE, "relative_attention": True, "position_buckets": 256,
                                       "max_relative_positions": -1, "pos_att_type": ["p2c", "c2p"],
                                       "share_att_key": True, "norm_rel_ebd": "layer_norm",
                                       "position_biased_input": False, "type_vocab_size": 0, "layer_norm_eps": 1e-7}),
    "modernbert": ("ModernBertConfig", {"hidden_size": 768, "num_hidden_layers": 22, "num_attention_heads": 12,
                                        "intermediate_size": 1152, "max_position_embeddings": 8192,
                                        "local_attention": 128, "global_attn_every_n_layers": 3}),
}
WEIGHT_FILES = ("config.json", "model.safetensors")  # the golden model's own, not copied


def base_config(family: str, vocab_size: int, pad_token_id: int):
    """The transformers config of `family` at base size with `vocab_size` tokens; RoBERTa-like families get
    512 + pad_token_id + 1 position embeddings (their positions are numbered from pad_token_id + 1)."""
    import transformers

    class_name, fields = BASE_CONFIGS[family]
    fields = {**fields, "vocab_size": vocab_size, "pad_token_id": pad_token_id}
    if family in ("roberta", "xlm-roberta"):
        fields["max_position_embeddings"] = MAX_LENGTH + pad_token_id + 1
    return getattr(transformers, class_name)(**fields)


def copy_tokenizer(family: str, directory: Path) -> None:
    """Copy the golden tokenizer files of `family` into `directory`, its model_max_length set to MAX_LENGTH (the
    golden models read 64 tokens)."""
    directory.mkdir(parents=True, exist_ok=True)
    for path in sorted((FAMILIES_DIR / family).iterdir()):
        if path.is_file() and path.name not in WEIGHT_FILES:
            shutil.copyfile(path, directory / path.name)
    settings_path = directory / "tokenizer_config.json"
    settings = json.loads(settings_path.read_text(encoding="utf-8"))
    settings["model_max_length"] = MAX_LENGTH
    settings_path.write_text(json.dumps(settings, indent=2, ensure_ascii=False), encoding="utf-8")


def write_base_checkpoint(family: str, directory: Path) -> Path:
    """Write `family`'s base-size model with random weights (seed 0, eager attention) and its golden tokenizer into
    `directory` (created); returns `directory`."""
    import torch
    import transformers

    copy_tokenizer(family, directory)
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(directory))
    config = base_config(family, len(tokenizer), tokenizer.pad_token_id)
    torch.manual_seed(0)
    model = transformers.AutoModel.from_config(config, attn_implementation="eager")
    model.save_pretrained(str(directory))
    return directory
