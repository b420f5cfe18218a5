"""Write small golden fixtures for nine Transformer encoder families from the Hugging Face reference implementation.

Run from the repository root with the reference environment (torch, transformers, tokenizers, sentencepiece,
protobuf):

    /work/refvenv/bin/python tests/golden/make_families.py

CI never runs this script; it only reads what it writes. For each family NAME in FAMILIES (bert, roberta,
xlm-roberta, electra, distilbert, albert, deberta-v2, deberta-v2-separate, modernbert):
- tests/golden/families/NAME/: a tiny model with seeded random weights (every parameter N(0, 0.02), LayerNorm weights
  1 + N(0, 0.02)) and a tokenizer trained here on CORPUS, both written by transformers' `save_pretrained`;
- tests/golden/families/NAME.npz: tokens, ids and eager attention maps of token and word examples (all examples of
  a kind in one padded batch, cropped), word-level maps pooled plainly in float64, the tokens of hard tokenizer
  inputs and, for bert, roberta, xlm-roberta, distilbert and albert, masked-LM losses and |dL/d alpha| by torch
  autograd in float64; deberta-v2.npz also holds transformers' DeBERTa log-bucket positions.

`modernbert-long` writes tests/golden/families/modernbert-long/ (a ModernBERT of 8192 positions, modernbert's
tokenizer) and modernbert-long.npz: a 5000-token document and general statistics of its float64 attention maps,
each layer's maps reduced as soon as they are made (1.5 minutes and 6.5 GB of memory on 2 cores).

Every map is checked against the saved directory reloaded with AutoTokenizer / AutoModel / the task class, and every
padded-batch crop against a run of its example alone. `--only NAME ...` writes only the named families.
"""

import argparse
import importlib
import io
import itertools
import shutil
import tempfile
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import sentencepiece
import tokenizers
import torch
import transformers
from tokenizers import AddedToken, pre_tokenizers, processors
from tokenizers.implementations import BertWordPieceTokenizer, ByteLevelBPETokenizer
from transformers import AutoModel, AutoTokenizer

FAMILIES_DIR = Path(__file__).resolve().parent / "families"

# The text every tokenizer is trained on: varied English with capitals, digits, punctuation and accents.
CORPUS = [
    "The cat sat quietly on the warm windowsill.",
    "Our café in Zürich serves crème brûlée, espresso and fresh croissants every morning.",
    "A naïve question is still a question worth asking.",
    "In 1969, Apollo 11 landed on the Moon; Armstrong stepped out at 02:56 UTC.",
    "She paid 12.50 euros for two coffees at 8:45 on Tuesday.",
    "Researchers published their findings on Monday, arguing that urban gardens lower summer heat.",
    "Where is the station? It is two blocks north, next to the bakery.",
    "I can't go, and they won't wait, but we'll see what happens.",
    "My grandmother's recipe needs 3 eggs, 250 grams of flour and a pinch of salt.",
    "Visit https://example.com/docs for the documentation and examples.",
    "The committee reviewed the proposal three times before approving the budget.",
    "Electroencephalography measures the electrical activity of the brain.",
    "Tokenizers split rare words into smaller pieces, while common words stay whole.",
    "The river flooded after three days of heavy rain; volunteers arrived with boats.",
    "Jane Austen wrote Pride and Prejudice in 1813.",
    "São Paulo, Reykjavík and Zürich topped the list of cities this year.",
    "Is it cheaper to fly or to take the train? The train costs 40% less.",
    "Dogs bark, cats meow, and birds sing at dawn.",
    "The old harbour walls need repairs before the winter storms arrive.",
    "He typed the address twice, then pressed Enter and waited.",
    "Well-known authors often rewrite the first chapter many times.",
    "The museum opens at 10 a.m. and closes at 6 p.m. on weekdays.",
    "Résumé writers overuse buzzwords, and recruiters notice.",
    "Quantum computers may one day solve problems that classical machines cannot.",
    "The children built a sandcastle, a moat and a tiny bridge of driftwood.",
    "Please don't forget to water the plants while I'm away!",
    "The library's leaking roof was finally repaired in March 2021.",
    "Mathematicians proved the conjecture after 300 years of failed attempts.",
    "Nobody remembers who first said it, but everybody repeats it.",
    "The new tram line connects the northern suburbs with the city centre.",
    "Fresh bread, cheese and olives made a simple but delicious lunch.",
    "Why did the hyperparameters change between the first and second experiment?",
    "THE QUICK BROWN FOX JUMPS OVER THE LAZY DOG.",
    "Scientists in Reykjavík measured 4.7 earthquakes per day in 2022.",
    "Our neighbours' garden has roses, tulips and an enormous apple tree.",
    "Meet me at the corner of Main Street and 5th Avenue at noon.",
    "Unbelievably, the tiny robot climbed the stairs without falling.",
    "The naïve model misbehaves on rare inputs, so we test it carefully.",
    "Attention maps show which words each head looks at in a sentence.",
    "Thirty-two volunteers reanalysed the recordings over the weekend.",
    "Coffee, tea or juice? Juice, please, with plenty of ice.",
    "The weather in June is lovely, warm and mostly dry.",
]

# (text_a, text_b); text_b is "" for a single segment.
TOKEN_EXAMPLES = [
    ("the", ""),
    ("Where is the station?", "Two blocks north."),
    ("Our café in Zürich opens at 8:30.", ""),
    ("Visit https://example.com/docs?id=42 today.", ""),
    ("I can't believe it's already 2023!", ""),
    ("Is the naïve plan ready?", "Not yet; maybe on Monday, said Anna."),
    ("THE QUICK BROWN FOX", "jumps over the lazy dog..."),
    ("Researchers in São Paulo published 12 papers, while volunteers reanalysed the recordings.", ""),
    ("The committee reviewed the proposal three times; several members still worried that the budget left too "
     "little for repairs.", ""),
    ("Although the harbour walls needed repairs, the committee approved the new tram line and 250 trees for "
     "the northern suburbs in March 2021.", ""),
]

# Words of word-level examples: several words split into 2+ pieces, one hyphenated word, accented words.
WORD_EXAMPLES = [
    ["Unbelievably"],
    ["The", "naïve", "researchers", "reanalysed", "Zürich's", "recordings", "."],
    ["Well-known", "tokenizers", "rarely", "misbehave", "!"],
    ["Electroencephalography", "is", "hard"],
    ["Yesterday", "the", "committee", "approved", "3", "new", "budgets", "for", "the", "harbour", "walls", "."],
]

# Hard tokenizer inputs shared by every family; each family adds strings with its own special tokens.
CASE_TEXTS = [
    " \t ",
    "hello    world",
    "tabs\tand\nnewlines\r\nhere",
    "café naïve Zürich résumé",
    "CAFÉ Ångström Ünïcödé",
    "cafe\u0301 decomposed",
    "中文字符 mixed with English",
    "emoji 😀 here 👍🏽!",
    "don't, it's, rock 'n' roll",
    "https://example.com/path/to?query=1&b=2#frag",
    "The Quick Brown Fox Jumps",
    " leading and trailing space ",
    "``quoted'' text and 3,000, 12,5 numbers",
    "non\u00a0breaking space and x--y!!",
    "(brackets) cost €5 – or £3.",
]
SPECIAL_CASE_TEXTS = {  # strings holding each family's own special tokens
    "bert": ["[CLS] a [SEP] b [MASK] c [PAD] [UNK]", "foo[SEP]bar [sep] [Sep]"],
    "electra": ["[CLS] a [SEP] b [MASK] c [PAD] [UNK]", "foo[SEP]bar [sep] [Sep]"],
    "distilbert": ["[CLS] a [SEP] b [MASK] c [PAD] [UNK]", "foo[SEP]bar [sep] [Sep]"],
    "roberta": ["<s> a </s> b <mask> c <pad> <unk>", "foo<mask>bar </s><s>x"],
    "xlm-roberta": ["<s> a </s> b <mask> c <pad> <unk>", "foo<mask>bar </s><s>x"],
    "albert": ["[CLS] a [SEP] b [MASK] c <pad> <unk>", "foo[MASK]bar [SEP][CLS]x"],
    "deberta-v2": ["[CLS] a [SEP] b [MASK] c [PAD] [UNK]", "foo[MASK]bar [SEP][CLS]x"],
    "deberta-v2-separate": ["[CLS] a [SEP] b [MASK] c [PAD] [UNK]", "foo[MASK]bar [SEP][CLS]x"],
    "modernbert": ["[CLS] a [SEP] b [MASK] c [PAD] [UNK]", "foo[MASK]bar [SEP][CLS]x [sep]"],
}
CASE_WORDS = ["Zürich", "unbelievable", "well-known", "don't", "café", "2023", "Hello"]

# Masked-LM examples (text_a, text_b) and, per family, hand-chosen masked positions (never a special token).
MLM_EXAMPLES = [
    ("The cat sat quietly on the warm windowsill.", ""),
    ("Where is the station?", "It is next to the bakery."),
    ("Zürich is lovely in June.", ""),
]
MLM_POSITIONS = {
    "bert": [[2, 5], [3, 10, 15], [1, 3]],
    "roberta": [[2, 5], [4, 13, 19], [1, 4]],
    "xlm-roberta": [[2, 5], [6, 16, 21], [2, 8]],
    "distilbert": [[2, 5], [3, 10, 15], [1, 3]],
    "albert": [[2, 5], [6, 14, 19], [2, 8]],
}

BERT_LIKE_SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
ROBERTA_SPECIALS = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
MODERNBERT_SPECIALS = ["[UNK]", "[CLS]", "[SEP]", "[PAD]", "[MASK]"]  # ModernBERT-base's order (ids 50280 to 50284)
DEBERTA_SPECIAL_IDS = {  # microsoft/deberta-v3-base's spm.model: [PAD] [CLS] [SEP] [UNK] = 0..3
    "pad_id": 0, "pad_piece": "[PAD]", "bos_id": 1, "bos_piece": "[CLS]", "eos_id": 2, "eos_piece": "[SEP]",
    "unk_id": 3, "unk_piece": "[UNK]"}
SPM_FILES = {"xlm-roberta": "sentencepiece.bpe.model", "albert": "spiece.model", "deberta-v2": "spm.model",
             "deberta-v2-separate": "spm.model"}
MAX_POSITIONS = 64  # tokens a model takes (RoBERTa and XLM-R: 66 position embeddings, numbered from pad + 1 = 2)
MAX_TOKENS = 62  # the longest example, kept a little under MAX_POSITIONS
TINY = {"hidden_size": 32, "num_attention_heads": 4, "intermediate_size": 64}
LONG_NAME = "modernbert-long"  # the long-document fixture, written after (and from the tokenizer of) modernbert
LONG_TOKENS = 5000
LONG_SEED = 10
STATISTICS = ["cls", "sep", "punct", "self", "next", "prev", "sep_sep", "rest_sep", "entropy", "entropy_from_cls"]
ENTROPY_SMOOTHING = 1e-4  # H(i) is the entropy of (1 - s) A[i, :] + s / n


def wordpiece_vocab(lowercase: bool, vocab_size: int) -> dict[str, int]:
    """A WordPiece vocabulary trained on CORPUS by tokenizers' BertWordPieceTokenizer (accents stripped iff
    lowercase, as BERT does), the special tokens first. The trainer numbers the "##" continuation characters in
    hash-map order, which breaks ties between merges differently in every process; passing them, sorted, after the
    special tokens numbers them first and makes the vocabulary reproducible."""
    normalizer = tokenizers.normalizers.BertNormalizer(lowercase=lowercase, strip_accents=None)
    characters = sorted({c for text in CORPUS for c in normalizer.normalize_str(text) if not c.isspace()})
    trainer = BertWordPieceTokenizer(lowercase=lowercase, strip_accents=None)
    trainer.train_from_iterator(CORPUS, vocab_size=vocab_size, min_frequency=1, show_progress=False,
                                special_tokens=BERT_LIKE_SPECIALS + [f"##{c}" for c in characters])
    return trainer.get_vocab()


def bert_tokenizer() -> transformers.BertTokenizer:
    """Lowercase WordPiece tokenizer for the bert family."""
    return transformers.BertTokenizer(vocab=wordpiece_vocab(True, 600), do_lower_case=True)


def electra_tokenizer() -> transformers.BertTokenizer:
    """Lowercase WordPiece tokenizer for the electra family (transformers 5 has no ElectraTokenizer class of its
    own: `ElectraTokenizer` is an alias of `BertTokenizer`)."""
    return transformers.ElectraTokenizerFast(vocab=wordpiece_vocab(True, 500), do_lower_case=True)


def distilbert_tokenizer() -> transformers.DistilBertTokenizer:
    """Cased WordPiece tokenizer (no lowercasing, accents kept) for the distilbert family."""
    return transformers.DistilBertTokenizer(vocab=wordpiece_vocab(False, 700), do_lower_case=False)


def roberta_tokenizer(directory: Path) -> transformers.RobertaTokenizer:
    """Byte-level BPE tokenizer for the roberta family, <s> <pad> </s> <unk> <mask> = 0..4, its <mask> stripping the
    space on its left as roberta-base's does."""
    trainer = ByteLevelBPETokenizer(add_prefix_space=False)
    trainer.train_from_iterator(CORPUS, vocab_size=700, min_frequency=2, special_tokens=ROBERTA_SPECIALS,
                                show_progress=False)
    trainer.save_model(str(directory))
    mask = AddedToken("<mask>", lstrip=True, rstrip=False, normalized=False, special=True)
    return transformers.RobertaTokenizer.from_pretrained(str(directory), mask_token=mask)


def train_sentencepiece(path: Path, texts: list[str], vocab_size: int, **options) -> None:
    """Train a SentencePiece unigram model on texts (one thread, fixed seed, so the model is reproducible)."""
    sentencepiece.set_random_generator_seed(0)
    model = io.BytesIO()
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter(texts), model_writer=model, model_type="unigram", vocab_size=vocab_size,
        hard_vocab_limit=False, character_coverage=1.0, num_threads=1, minloglevel=2, **options)
    path.write_bytes(model.getvalue())


def xlm_roberta_tokenizer(directory: Path) -> transformers.XLMRobertaTokenizer:
    """SentencePiece unigram tokenizer in XLM-R's fairseq layout (<s> <pad> </s> <unk>, then the SentencePiece pieces
    after its <unk> <s> </s>, so piece id + 1, then <mask>). `XLMRobertaTokenizer(vocab_file=...)` ignores the
    file in transformers 5 (it builds a 5-token vocabulary), so the model goes through from_pretrained."""
    train_sentencepiece(directory / "sentencepiece.bpe.model", CORPUS, 500)
    mask = AddedToken("<mask>", lstrip=True, rstrip=False, normalized=False, special=True)
    return transformers.XLMRobertaTokenizer.from_pretrained(str(directory), mask_token=mask)


def albert_preprocess(text: str) -> str:
    """ALBERT's text preparation before SentencePiece (do_lower_case, no keep_accents): `` and '' to ", NFKD with
    combining marks removed, lowercase."""
    text = text.replace("``", '"').replace("''", '"')
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return text.lower()


def albert_tokenizer(directory: Path) -> transformers.AlbertTokenizer:
    """SentencePiece unigram tokenizer trained as albert-base-v2's spiece.model was (<pad> <unk> [CLS] [SEP] [MASK] =
    0..4, [CLS] [SEP] [MASK] control symbols, a few user-defined symbols), on the text ALBERT prepares."""
    train_sentencepiece(
        directory / "spiece.model", [albert_preprocess(text) for text in CORPUS], 500, pad_id=0, unk_id=1,
        bos_id=-1, eos_id=-1, control_symbols=["[CLS]", "[SEP]", "[MASK]"],
        user_defined_symbols=["(", ")", '"', "-", ".", "–", "£", "€"])
    return transformers.AlbertTokenizer.from_pretrained(str(directory), do_lower_case=True, keep_accents=False)


def deberta_v2_tokenizer(directory: Path) -> transformers.DebertaV2Tokenizer:
    """SentencePiece unigram tokenizer with microsoft/deberta-v3-base's ids ([PAD] [CLS] [SEP] [UNK] = 0..3, as
    SentencePiece's pad, bos, eos and unk pieces) in `spm.model`, read by transformers' DebertaV2Tokenizer, which
    puts [MASK] after the pieces."""
    train_sentencepiece(directory / "spm.model", CORPUS, 500, **DEBERTA_SPECIAL_IDS)
    return transformers.DebertaV2Tokenizer.from_pretrained(str(directory))


def modernbert_tokenizer(directory: Path) -> transformers.PreTrainedTokenizerFast:
    """Byte-level BPE tokenizer laid out as answerdotai/ModernBERT-base's tokenizer.json: the vocabulary trained on
    CORPUS (no prefix space), then [UNK] [CLS] [SEP] [PAD] [MASK] as special added tokens ([MASK] stripping the space
    on its left), the template [CLS] $A [SEP] / [CLS] $A [SEP] $B [SEP] (B and its [SEP] type 1) and no token type
    ids among the model inputs; transformers' PreTrainedTokenizerFast over it, so tokenizer.json is what is saved."""
    trainer = ByteLevelBPETokenizer(add_prefix_space=False)
    trainer.train_from_iterator(CORPUS, vocab_size=700, min_frequency=2, show_progress=False)
    backend = tokenizers.Tokenizer.from_str(trainer.to_str())
    backend.add_special_tokens([AddedToken(token, lstrip=token == "[MASK]", rstrip=False, normalized=False,
                                           special=True) for token in MODERNBERT_SPECIALS])
    cls, sep = backend.token_to_id("[CLS]"), backend.token_to_id("[SEP]")
    backend.post_processor = processors.TemplateProcessing(
        single="[CLS]:0 $A:0 [SEP]:0", pair="[CLS]:0 $A:0 [SEP]:0 $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls), ("[SEP]", sep)])
    return transformers.PreTrainedTokenizerFast(
        tokenizer_object=backend, unk_token="[UNK]", cls_token="[CLS]", sep_token="[SEP]", pad_token="[PAD]",
        mask_token="[MASK]", model_input_names=["input_ids", "attention_mask"])


def modernbert_config(tokenizer, **sizes) -> transformers.ModernBertConfig:
    """A ModernBERT config of the given sizes with ModernBERT-base's rotary thetas (global 160000, local 10000), no
    biases, exact GELU and the tokenizer's special ids ([CLS] as bos, [SEP] as eos)."""
    return transformers.ModernBertConfig(
        vocab_size=len(tokenizer), global_rope_theta=160000.0, local_rope_theta=10000.0, norm_eps=1e-5,
        hidden_activation="gelu", pad_token_id=tokenizer.pad_token_id, cls_token_id=tokenizer.cls_token_id,
        sep_token_id=tokenizer.sep_token_id, bos_token_id=tokenizer.cls_token_id, eos_token_id=tokenizer.sep_token_id,
        **sizes)


@dataclass
class Family:
    """How to build one family: its tokenizer (given a scratch directory), its config and its task model class;
    tokenizer_json_only for a tokenizer class that reads nothing but tokenizer.json (no vocabulary files written)."""

    make_tokenizer: Callable[[Path], transformers.PreTrainedTokenizerBase]
    make_config: Callable[[transformers.PreTrainedTokenizerBase], transformers.PretrainedConfig]
    model_class: type
    seed: int
    masked_lm: bool = True
    tokenizer_json_only: bool = False


FAMILIES = {
    "bert": Family(
        lambda directory: bert_tokenizer(),
        lambda tokenizer: transformers.BertConfig(
            vocab_size=len(tokenizer), num_hidden_layers=2, hidden_act="gelu", max_position_embeddings=64,
            type_vocab_size=2, pad_token_id=tokenizer.pad_token_id, **TINY),
        transformers.BertForMaskedLM, seed=1),
    "roberta": Family(
        roberta_tokenizer,
        lambda tokenizer: transformers.RobertaConfig(
            vocab_size=len(tokenizer), num_hidden_layers=3, hidden_act="gelu", max_position_embeddings=66,
            type_vocab_size=1, pad_token_id=1, bos_token_id=0, eos_token_id=2, layer_norm_eps=1e-5, **TINY),
        transformers.RobertaForMaskedLM, seed=2),
    "xlm-roberta": Family(
        xlm_roberta_tokenizer,
        lambda tokenizer: transformers.XLMRobertaConfig(
            vocab_size=len(tokenizer), num_hidden_layers=2, hidden_act="gelu", max_position_embeddings=66,
            type_vocab_size=1, pad_token_id=1, bos_token_id=0, eos_token_id=2, layer_norm_eps=1e-5, **TINY),
        transformers.XLMRobertaForMaskedLM, seed=3),
    "electra": Family(
        lambda directory: electra_tokenizer(),
        lambda tokenizer: transformers.ElectraConfig(
            vocab_size=len(tokenizer), embedding_size=16, num_hidden_layers=3, hidden_act="gelu",
            max_position_embeddings=64, type_vocab_size=2, pad_token_id=tokenizer.pad_token_id, **TINY),
        transformers.ElectraForPreTraining, seed=4, masked_lm=False),
    "distilbert": Family(
        lambda directory: distilbert_tokenizer(),
        lambda tokenizer: transformers.DistilBertConfig(
            vocab_size=len(tokenizer), dim=32, n_heads=4, n_layers=2, hidden_dim=64, activation="gelu",
            max_position_embeddings=64, sinusoidal_pos_embds=False, pad_token_id=tokenizer.pad_token_id),
        transformers.DistilBertForMaskedLM, seed=5),
    "albert": Family(
        albert_tokenizer,
        lambda tokenizer: transformers.AlbertConfig(
            vocab_size=len(tokenizer), embedding_size=16, num_hidden_layers=4, num_hidden_groups=2,
            inner_group_num=1, hidden_act="gelu_new", max_position_embeddings=64, type_vocab_size=2,
            pad_token_id=0, bos_token_id=2, eos_token_id=3, **TINY),
        transformers.AlbertForMaskedLM, seed=6),
    "deberta-v2": Family(  # DeBERTa-v3: shared keys, log buckets, LayerNorm'd relative embeddings
        deberta_v2_tokenizer,
        lambda tokenizer: transformers.DebertaV2Config(
            vocab_size=len(tokenizer), num_hidden_layers=3, hidden_act="gelu", max_position_embeddings=64,
            relative_attention=True, position_buckets=8, max_relative_positions=-1, pos_att_type=["p2c", "c2p"],
            share_att_key=True, norm_rel_ebd="layer_norm", position_biased_input=False, type_vocab_size=0,
            layer_norm_eps=1e-7, pad_token_id=0, **TINY),
        transformers.DebertaV2Model, seed=7, masked_lm=False),
    "deberta-v2-separate": Family(  # the other paths: own position projections, clamped distances, absolute positions
        deberta_v2_tokenizer,
        lambda tokenizer: transformers.DebertaV2Config(
            vocab_size=len(tokenizer), embedding_size=16, num_hidden_layers=2, hidden_act="gelu",
            max_position_embeddings=64, relative_attention=True, position_buckets=-1, max_relative_positions=16,
            pos_att_type=["c2p", "p2c"], share_att_key=False, norm_rel_ebd="none", position_biased_input=True,
            type_vocab_size=2, layer_norm_eps=1e-7, pad_token_id=0, **TINY),
        transformers.DebertaV2Model, seed=8, masked_lm=False),
    "modernbert": Family(  # layers 0 and 2 global, 1 and 3 local (|i - j| <= 8)
        modernbert_tokenizer,
        lambda tokenizer: modernbert_config(
            tokenizer, hidden_size=32, num_attention_heads=4, intermediate_size=48, num_hidden_layers=4,
            global_attn_every_n_layers=2, local_attention=16, max_position_embeddings=64),
        transformers.ModernBertModel, seed=9, masked_lm=False, tokenizer_json_only=True),
}


def randomize_parameters(model: torch.nn.Module, seed: int) -> None:
    """Set every parameter (tied ones once) to float32 draws of N(0, 0.02), plus 1 for LayerNorm weights, so that no
    bias is zero and no weight is trivially 1."""
    generator = torch.Generator().manual_seed(seed)
    seen = set()
    for module in model.modules():
        for name, parameter in module.named_parameters(recurse=False):
            if id(parameter) in seen:
                continue
            seen.add(id(parameter))
            values = torch.randn(tuple(parameter.shape), generator=generator, dtype=torch.float32) * 0.02
            if isinstance(module, torch.nn.LayerNorm) and name == "weight":
                values += 1.0
            with torch.no_grad():
                parameter.copy_(values)


def write_vocabulary_files(tokenizer, scratch: Path, directory: Path) -> None:
    """Write the vocabulary files the tokenizer class reads when there is no tokenizer.json, which transformers 5's
    save_pretrained no longer writes: vocab.txt (WordPiece) or vocab.json + merges.txt (BPE) by the backend model's
    own save, or a copy of the SentencePiece model the tokenizer was built from."""
    backend_model = tokenizer.backend_tokenizer.model
    if isinstance(backend_model, tokenizers.models.Unigram):
        file_name = tokenizer.vocab_files_names["vocab_file"]
        shutil.copyfile(scratch / file_name, directory / file_name)
    else:
        backend_model.save(str(directory))


def build_family(name: str, family: Family, directory: Path) -> tuple:
    """Train the tokenizer, draw the model and write both into directory; return them as built (in memory)."""
    torch.manual_seed(family.seed)
    with tempfile.TemporaryDirectory() as scratch:
        tokenizer = family.make_tokenizer(Path(scratch))
        tokenizer.model_max_length = MAX_POSITIONS
        config = family.make_config(tokenizer)
        config.architectures = [family.model_class.__name__]
        config._attn_implementation = "eager"
        model = family.model_class(config).eval()
        randomize_parameters(model, family.seed)
        if directory.exists():
            shutil.rmtree(directory)
        model.save_pretrained(str(directory))
        tokenizer.save_pretrained(str(directory))
        if not family.tokenizer_json_only:
            write_vocabulary_files(tokenizer, Path(scratch), directory)
    print(f"{name}: vocabulary {len(tokenizer)}, {sum(p.numel() for p in model.parameters())} parameters")
    return tokenizer, model


def encode(tokenizer, text_a: str, text_b: str, config: transformers.PretrainedConfig) -> transformers.BatchEncoding:
    """The tokenizer's own encoding of a single segment or a pair, with special tokens, unpadded. For a model with
    token types whose tokenizer returns none (transformers 5.24's ALBERT tokenizer, whose model would then read B
    as type 0), the type ids of the tokenizer.json pair template (B type 1, as ALBERT was pre-trained) are added."""
    encoding = tokenizer(text_a, text_b or None, add_special_tokens=True, padding=False, truncation=False)
    if "token_type_ids" not in encoding and getattr(config, "type_vocab_size", 0) > 1:
        template = tokenizer.backend_tokenizer.encode(text_a, text_b or None, add_special_tokens=True)
        assert template.ids == encoding["input_ids"]
        encoding["token_type_ids"] = template.type_ids
    return encoding


def model_inputs(encodings: list[transformers.BatchEncoding], tokenizer) -> dict[str, torch.Tensor]:
    """One right-padded batch (padding=True, with its attention_mask) of the given encodings, as tensors."""
    assert tokenizer.padding_side == "right"
    return dict(tokenizer.pad([dict(encoding) for encoding in encodings], padding=True, return_tensors="pt"))


def attention_maps(model: torch.nn.Module, inputs: dict[str, torch.Tensor]) -> np.ndarray:
    """Eager attention probabilities [batch, layers, heads, query, key] (float32) of the model on a batch."""
    with torch.no_grad():
        outputs = model(**inputs, output_attentions=True)
    return torch.stack(outputs.attentions, dim=1).numpy()


def batched_maps(model: torch.nn.Module, tokenizer, encodings: list[transformers.BatchEncoding]) -> list[np.ndarray]:
    """Each example's map [L, H, n, n] cropped from one padded batch, checked against a run of the example alone."""
    batch = attention_maps(model, model_inputs(encodings, tokenizer))
    crops = []
    for index, encoding in enumerate(encodings):
        n = len(encoding["input_ids"])
        crop = batch[index, :, :, :n, :n]
        alone = attention_maps(model, model_inputs([encoding], tokenizer))[0]
        assert alone.shape == crop.shape and np.abs(alone - crop).max() <= 1e-6, (index, np.abs(alone - crop).max())
        crops.append(crop)
    return crops


def token_type_ids(encoding: transformers.BatchEncoding) -> np.ndarray:
    """The token type ids the tokenizer returns, zeros when it returns none (int32)."""
    n = len(encoding["input_ids"])
    return np.array(encoding.get("token_type_ids", [0] * n), np.int32)


def plain_word_level(attention: np.ndarray, word_ids: list[int | None]) -> np.ndarray:
    """Word-level maps [L, H, m + 2, m + 2] of token maps [L, H, n, n], written plainly in float64 one entry at a
    time: the groups are [first token], each word's pieces, [last token]; entry (g, h) is the mean over the tokens
    of group g of the sum over the tokens of group h."""
    n = attention.shape[-1]
    words = max(word for word in word_ids if word is not None) + 1
    groups = [[0]] + [[t for t in range(n) if word_ids[t] == word] for word in range(words)] + [[n - 1]]
    layers, heads = attention.shape[:2]
    word_level = np.zeros((layers, heads, len(groups), len(groups)), np.float64)
    for layer in range(layers):
        for head in range(heads):
            for row, from_group in enumerate(groups):
                for column, to_group in enumerate(groups):
                    total = 0.0
                    for i in from_group:
                        for j in to_group:
                            total += float(attention[layer, head, i, j])
                    word_level[layer, head, row, column] = total / len(from_group)
    return word_level


def check_word_encoding(tokenizer, words: list[str], encoding: transformers.BatchEncoding) -> list[int | None]:
    """Assert the encoding is [classifier] + each word's pieces in order + [separator]; return its word ids."""
    word_ids = encoding.word_ids()
    ids = encoding["input_ids"]
    assert ids[0] == tokenizer.cls_token_id and ids[-1] == tokenizer.sep_token_id, ids
    assert word_ids[0] is None and word_ids[-1] is None, word_ids
    inner = word_ids[1:-1]
    assert None not in inner and inner == sorted(inner) and sorted(set(inner)) == list(range(len(words))), word_ids
    return word_ids


class EagerAttentionCheck:
    """Wraps a family's module-level eager_attention_forward to record the probabilities each call returns after
    checking that they are exactly the tensor that multiplies the values."""

    def __init__(self, modeling_module):
        self.module, self.original, self.returned = modeling_module, modeling_module.eager_attention_forward, []

    def __enter__(self):
        def checked(module, query, key, value, attention_mask, **kwargs):
            attn_output, attn_weights = self.original(module, query, key, value, attention_mask, **kwargs)
            assert not module.training
            assert torch.equal(attn_output, torch.matmul(attn_weights, value).transpose(1, 2).contiguous())
            self.returned.append(attn_weights)
            return attn_output, attn_weights

        self.module.eager_attention_forward = checked
        return self

    def __exit__(self, *exc):
        self.module.eager_attention_forward = self.original


class DisentangledAttentionCheck:
    """Hooks every DeBERTa-v2 DisentangledSelfAttention (which computes attention inline, with no module-level
    function to wrap) to record the probabilities each call returns after checking that their product with the
    values (recomputed from the call's hidden states) is exactly the context the call returns."""

    def __init__(self, model: torch.nn.Module):
        self.attentions = [module for module in model.modules() if type(module).__name__ == "DisentangledSelfAttention"]
        self.handles, self.returned = [], []

    def __enter__(self):
        def checked(module, args, output):
            context, probabilities = output
            assert not module.training
            heads, (batch, n) = module.num_attention_heads, context.shape[:2]
            values = module.transpose_for_scores(module.value_proj(args[0]), heads)
            expected = torch.bmm(probabilities.view(-1, n, n), values)
            actual = context.view(batch, n, heads, -1).permute(0, 2, 1, 3).reshape(expected.shape)
            assert torch.equal(actual, expected)
            self.returned.append(probabilities)

        self.handles = [attention.register_forward_hook(checked) for attention in self.attentions]
        return self

    def __exit__(self, *exc):
        for handle in self.handles:
            handle.remove()


def attention_check(model: torch.nn.Module):
    """The check of a model's eager attention: a wrapper of its family's module-level eager_attention_forward, or,
    for DeBERTa-v2, which has none, hooks on its attention modules."""
    modeling_module = importlib.import_module(type(model).__module__)
    if hasattr(modeling_module, "eager_attention_forward"):
        return EagerAttentionCheck(modeling_module)
    return DisentangledAttentionCheck(model)


def checked_forward(model: torch.nn.Module, **inputs):
    """Run the model with output_attentions=True and assert that it returns, for each layer application (ALBERT
    applies its shared layers several times), the very tensor that multiplied the values in eager attention."""
    with attention_check(model) as check:
        outputs = model(**inputs, output_attentions=True)
    assert len(outputs.attentions) == len(check.returned) == model.config.num_hidden_layers
    assert all(returned is recorded for returned, recorded in zip(outputs.attentions, check.returned, strict=True))
    return outputs


def masked_lm_gradient(model, tokenizer, encoding, positions: list[int]) -> tuple[float, np.ndarray]:
    """The masked-LM loss of one example (mean cross-entropy of the original ids at positions, each replaced by the
    mask token) and |dL/d alpha| [L, H, n, n], alpha each layer application's attention probabilities returned by
    output_attentions, by torch autograd on a float64 model in eval mode."""
    inputs = {key: torch.tensor([value]) for key, value in encoding.items()}
    original = inputs["input_ids"].clone()
    inputs["input_ids"][0, positions] = tokenizer.mask_token_id
    labels = torch.full_like(original, -100)
    labels[0, positions] = original[0, positions]
    outputs = checked_forward(model, **inputs, labels=labels)
    log_probabilities = torch.log_softmax(outputs.logits[0, positions], dim=-1)
    plain_loss = -log_probabilities[torch.arange(len(positions)), original[0, positions]].mean()
    assert abs(plain_loss.item() - outputs.loss.item()) < 1e-12, (plain_loss.item(), outputs.loss.item())
    for attention in outputs.attentions:
        attention.retain_grad()
    outputs.loss.backward()
    gradient = torch.stack([attention.grad[0] for attention in outputs.attentions]).abs()
    model.zero_grad()
    return outputs.loss.item(), gradient.numpy().astype(np.float32)


def all_texts(name: str) -> list[str]:
    """Every text the fixtures of a family tokenize, for the reload checks."""
    return ([text for pair in TOKEN_EXAMPLES for text in pair if text] + [text for pair in MLM_EXAMPLES
            for text in pair if text] + CASE_TEXTS + SPECIAL_CASE_TEXTS[name] + CASE_WORDS
            + [" ".join(words) for words in WORD_EXAMPLES])


def check_same_tokenizer(reference, tokenizer, texts: list[str]) -> None:
    """Assert two tokenizers give the same tokens and ids (with special tokens, single and paired) on every text."""
    for text in texts:
        assert reference.tokenize(text) == tokenizer.tokenize(text), text
        for pair in (None, "Second part."):
            expected, actual = reference(text, pair), tokenizer(text, pair)
            assert dict(expected) == dict(actual), (text, pair)


def sentencepiece_layout(name: str, processor: sentencepiece.SentencePieceProcessor) -> dict[str, int]:
    """The vocabulary transformers must build from a family's SentencePiece model, its first pieces asserted."""
    pieces = [processor.id_to_piece(i) for i in range(processor.get_piece_size())]
    if name == "xlm-roberta":  # fairseq: <s> <pad> </s> <unk>, pieces after SentencePiece's <unk> <s> </s> at + 1
        assert pieces[:3] == ["<unk>", "<s>", "</s>"]
        layout = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3, "<mask>": len(pieces) + 1}
        return layout | {piece: i + 1 for i, piece in enumerate(pieces) if i >= 3}
    if name == "albert":  # SentencePiece's own ids, <pad> <unk> [CLS] [SEP] [MASK] = 0..4
        assert pieces[:5] == ["<pad>", "<unk>", "[CLS]", "[SEP]", "[MASK]"]
        return {piece: i for i, piece in enumerate(pieces)}
    # DeBERTa-v2: SentencePiece's own ids, [PAD] [CLS] [SEP] [UNK] = 0..3, then [MASK]
    assert pieces[:4] == ["[PAD]", "[CLS]", "[SEP]", "[UNK]"]
    return {piece: i for i, piece in enumerate(pieces)} | {"[MASK]": len(pieces)}


def check_family(name: str, directory: Path, tokenizer, model) -> None:
    """Check the XLM-R / ALBERT / DeBERTa-v2 id layout against the SentencePiece model, and that the saved directory
    reloaded with AutoTokenizer, AutoModel and the task class gives what was built in memory."""
    if name in SPM_FILES:
        processor = sentencepiece.SentencePieceProcessor(model_file=str(directory / SPM_FILES[name]))
        layout = sentencepiece_layout(name, processor)
        assert tokenizer.get_vocab() == layout and len(tokenizer) == len(layout), name
    reloaded = AutoTokenizer.from_pretrained(str(directory))
    assert type(reloaded) is type(tokenizer), (type(reloaded), type(tokenizer))
    check_same_tokenizer(tokenizer, reloaded, all_texts(name))
    inputs = model_inputs([encode(tokenizer, text_a, text_b, model.config) for text_a, text_b in TOKEN_EXAMPLES],
                          tokenizer)
    with torch.no_grad():
        checked_forward(model, **inputs)
    expected = attention_maps(model, inputs)
    base = AutoModel.from_pretrained(str(directory), attn_implementation="eager").eval()
    task = type(model).from_pretrained(str(directory), attn_implementation="eager").eval()
    assert np.array_equal(attention_maps(base, inputs), expected)
    assert np.array_equal(attention_maps(task, inputs), expected)
    saved = dict(task.named_parameters())
    assert all(torch.equal(parameter, saved[key]) for key, parameter in model.named_parameters())


def vocabulary_files_differences(name: str, directory: Path) -> list[str]:
    """Texts on which the directory without tokenizer.json (only the vocabulary files and tokenizer_config.json)
    loads, in transformers, to a tokenizer giving other tokens or ids than with it (printed, not fixtures)."""
    differences = []
    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / name
        shutil.copytree(directory, copy)
        (copy / "tokenizer.json").unlink()
        full, files_only = AutoTokenizer.from_pretrained(str(directory)), AutoTokenizer.from_pretrained(str(copy))
        for text in all_texts(name):
            with_json, without_json = full.tokenize(text), files_only.tokenize(text)
            if with_json != without_json or full(text)["input_ids"] != files_only(text)["input_ids"]:
                differences.append(f"{text!r}: {with_json} with tokenizer.json, {without_json} without")
    return differences


def sentencepiece_reference(name: str, directory: Path, text: str) -> list[str]:
    """The pieces the sentencepiece library itself gives a text: XLM-R and DeBERTa-v2 pass the text as it is (as
    DeBERTa's original SPMTokenizer does without split_by_punct), ALBERT as its original tokenizer prepared it
    (whitespace runs collapsed and trimmed, then albert_preprocess)."""
    processor = sentencepiece.SentencePieceProcessor(model_file=str(directory / SPM_FILES[name]))
    if name == "albert":
        text = albert_preprocess(" ".join(text.split()))
    return processor.encode(text, out_type=str)


def word_tokenizer(name: str, directory: Path, tokenizer):
    """The tokenizer given words (is_split_into_words=True), each word tokenized as it reads after a space. roberta's
    is loaded with add_prefix_space=True, as transformers requires for byte-level BPE. transformers' generic
    PreTrainedTokenizerFast (modernbert's) accepts add_prefix_space but leaves its pre-tokenizer as it is, so words
    would come unprefixed (printed); its byte-level pre-tokenizer is given add_prefix_space=True here instead. The
    others as they are (DeBERTa-v2's Metaspace prepends ▁ to every word itself)."""
    if name == "roberta":
        return AutoTokenizer.from_pretrained(str(directory), add_prefix_space=True)
    if name != "modernbert":
        return tokenizer
    words = WORD_EXAMPLES[1]
    unprefixed = AutoTokenizer.from_pretrained(str(directory), add_prefix_space=True)
    pre_tokenizer = unprefixed.backend_tokenizer.pre_tokenizer
    assert isinstance(pre_tokenizer, pre_tokenizers.ByteLevel) and not pre_tokenizer.add_prefix_space
    prefixed = AutoTokenizer.from_pretrained(str(directory))
    prefixed.backend_tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(
        add_prefix_space=True, trim_offsets=pre_tokenizer.trim_offsets, use_regex=pre_tokenizer.use_regex)
    print(f"{name}: words given to transformers' tokenizer (add_prefix_space=True or not) come unprefixed: "
          f"{unprefixed(words, is_split_into_words=True).tokens()}; the word examples use its pre-tokenizer with "
          f"add_prefix_space=True: {prefixed(words, is_split_into_words=True).tokens()}")
    return prefixed


def window_outside(n: int, window: int) -> np.ndarray:
    """The [n, n] mask of the pairs farther apart than a sliding window: |i - j| > window."""
    positions = np.arange(n)
    return np.abs(positions[:, None] - positions[None, :]) > window


def check_window(attention: np.ndarray, outside: np.ndarray, sliding: bool) -> None:
    """Assert that maps [..., n, n] of one layer are positive within the window and, outside it, exactly zero in a
    local (sliding-window) layer and positive in a global one."""
    assert (attention[..., ~outside] > 0).all()
    if sliding:
        assert (attention[..., outside] == 0).all()
    else:
        assert (attention[..., outside] > 0).all()


def check_sliding_windows(config: transformers.ModernBertConfig, maps: list[np.ndarray]) -> None:
    """Assert on cropped maps [L, H, n, n] that ModernBERT's local layers attend only where |i - j| <=
    local_attention // 2 and its global layers everywhere (some example being longer than the window)."""
    window = config.local_attention // 2
    assert any(attention.shape[-1] > window + 1 for attention in maps)
    for attention in maps:
        outside = window_outside(attention.shape[-1], window)
        for layer, layer_type in enumerate(config.layer_types):
            check_window(attention[layer], outside, layer_type == "sliding_attention")


def token_example_arrays(name: str, tokenizer, model) -> dict[str, np.ndarray]:
    """Texts, tokens, ids, token types and cropped eager maps of the token examples."""
    encodings = [encode(tokenizer, text_a, text_b, model.config) for text_a, text_b in TOKEN_EXAMPLES]
    print(f"{name}: token examples of {[len(e['input_ids']) for e in encodings]} tokens")
    assert max(len(encoding["input_ids"]) for encoding in encodings) <= MAX_TOKENS
    maps = batched_maps(model, tokenizer, encodings)
    if model.config.model_type == "modernbert":
        check_sliding_windows(model.config, maps)
    arrays = {"n_examples": np.int32(len(TOKEN_EXAMPLES))}
    for index, ((text_a, text_b), encoding) in enumerate(zip(TOKEN_EXAMPLES, encodings, strict=True)):
        arrays |= {f"text_a_{index}": np.array(text_a), f"text_b_{index}": np.array(text_b),
                   f"tokens_{index}": np.array(tokenizer.convert_ids_to_tokens(encoding["input_ids"])),
                   f"input_ids_{index}": np.array(encoding["input_ids"], np.int32),
                   f"token_type_ids_{index}": token_type_ids(encoding),
                   f"attention_{index}": maps[index].astype(np.float32)}
    return arrays


def word_example_arrays(name: str, words_tokenizer, model) -> dict[str, np.ndarray]:
    """Words, tokens, ids, word ids, cropped eager maps and plainly pooled word-level maps of the word examples."""
    word_encodings = [words_tokenizer(words, is_split_into_words=True) for words in WORD_EXAMPLES]
    print(f"{name}: word examples of {[len(e['input_ids']) for e in word_encodings]} tokens")
    word_maps = batched_maps(model, words_tokenizer, word_encodings)
    if model.config.model_type == "modernbert":
        check_sliding_windows(model.config, word_maps)
    arrays = {"n_word_examples": np.int32(len(WORD_EXAMPLES))}
    for index, (words, encoding) in enumerate(zip(WORD_EXAMPLES, word_encodings, strict=True)):
        word_ids = check_word_encoding(words_tokenizer, words, encoding)
        arrays |= {f"words_{index}": np.array(words),
                   f"word_tokens_{index}": np.array(words_tokenizer.convert_ids_to_tokens(encoding["input_ids"])),
                   f"word_input_ids_{index}": np.array(encoding["input_ids"], np.int32),
                   f"word_token_type_ids_{index}": token_type_ids(encoding),
                   f"word_ids_{index}": np.array([-1 if word is None else word for word in word_ids], np.int32),
                   f"word_token_attention_{index}": word_maps[index].astype(np.float32),
                   f"word_level_{index}": plain_word_level(word_maps[index], word_ids).astype(np.float32)}
    return arrays


def case_arrays(name: str, directory: Path, tokenizer, words_tokenizer) -> dict[str, np.ndarray]:
    """Tokens and ids of the hard tokenizer cases (and, for SentencePiece families, SentencePiece's own pieces,
    printed for DeBERTa-v2 where they differ from transformers' tokens) and the pieces of the case words."""
    case_texts = CASE_TEXTS + SPECIAL_CASE_TEXTS[name]
    arrays = {"case_texts": np.array(case_texts)}
    for index, text in enumerate(case_texts):
        arrays[f"case_tokens_{index}"] = np.array(tokenizer.tokenize(text), dtype=str)
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        arrays[f"case_ids_{index}"] = np.array(ids, np.int32)
        if name in SPM_FILES:
            pieces = sentencepiece_reference(name, directory, text)
            arrays[f"case_spm_tokens_{index}"] = np.array(pieces, dtype=str)
            if pieces != tokenizer.tokenize(text) and name not in ("xlm-roberta", "albert"):
                print(f"{name}: case {index} {text!r}: {tokenizer.tokenize(text)} by transformers, {pieces} by "
                      f"SentencePiece")
    arrays["case_words"] = np.array(CASE_WORDS)
    for index, word in enumerate(CASE_WORDS):
        encoding = words_tokenizer([word], is_split_into_words=True, add_special_tokens=False)
        arrays[f"case_word_tokens_{index}"] = np.array(words_tokenizer.convert_ids_to_tokens(encoding["input_ids"]))
    return arrays


def masked_lm_arrays(name: str, family: Family, directory: Path, tokenizer) -> dict[str, np.ndarray]:
    """Tokens, ids, masked positions, losses and |dL/d alpha| of the masked-LM examples, by the task class in
    float64."""
    masked_lm = family.model_class.from_pretrained(str(directory), attn_implementation="eager").double().eval()
    arrays = {"n_mlm_examples": np.int32(len(MLM_EXAMPLES))}
    for index, ((text_a, text_b), positions) in enumerate(zip(MLM_EXAMPLES, MLM_POSITIONS[name], strict=True)):
        encoding = encode(tokenizer, text_a, text_b, masked_lm.config)
        special = set(tokenizer.all_special_ids)
        assert all(encoding["input_ids"][p] not in special for p in positions), (name, index)
        loss, gradient = masked_lm_gradient(masked_lm, tokenizer, encoding, positions)
        arrays |= {f"mlm_tokens_{index}": np.array(tokenizer.convert_ids_to_tokens(encoding["input_ids"])),
                   f"mlm_input_ids_{index}": np.array(encoding["input_ids"], np.int32),
                   f"mlm_token_type_ids_{index}": token_type_ids(encoding),
                   f"mlm_masked_positions_{index}": np.array(positions, np.int32),
                   f"mlm_loss_{index}": np.float64(loss), f"mlm_grad_{index}": gradient}
        print(f"{name}: masked-LM example {index}: {len(encoding['input_ids'])} tokens, loss {loss:.6f}")
    return arrays


def float64_log_buckets(relative: np.ndarray, bucket_size: int, max_position: int) -> np.ndarray:
    """DeBERTa's log-bucket formula in numpy float64 (as the original DeBERTa code wrote it): r itself where |r| <=
    bucket_size // 2 = mid, else sign(r) (ceil(ln(|r| / mid) / ln((max_position - 1) / mid) (mid - 1)) + mid)."""
    mid = bucket_size // 2
    absolute = np.where((relative < mid) & (relative > -mid), mid - 1, np.abs(relative))
    logarithmic = np.ceil(np.log(absolute / mid) / np.log((max_position - 1) / mid) * (mid - 1)) + mid
    return np.where(absolute <= mid, relative, logarithmic * np.sign(relative)).astype(np.int64)


def log_bucket_arrays() -> dict[str, np.ndarray]:
    """transformers' own DeBERTa-v2 log-bucket positions (int64) of the relative positions -8191..8191 with
    deberta-v3-base's bucket_size 256 and max_position 512, and of -100..100 with the deberta-v2 family's 8 and 64;
    where they differ from the formula in float64 is printed."""
    from transformers.models.deberta_v2.modeling_deberta_v2 import make_log_bucket_position

    arrays = {}
    for key, (limit, bucket_size, max_position) in {"log_buckets_256_512": (8191, 256, 512),
                                                    "log_buckets_8_64": (100, 8, 64)}.items():
        relative = torch.arange(-limit, limit + 1)
        buckets = make_log_bucket_position(relative, bucket_size=bucket_size, max_position=max_position)
        assert torch.equal(buckets, torch.round(buckets))
        arrays[key] = buckets.to(torch.int64).numpy()
        differ = np.flatnonzero(arrays[key] != float64_log_buckets(relative.numpy(), bucket_size, max_position))
        print(f"deberta-v2: {key} ({buckets.dtype} in transformers): {len(differ)} of {len(relative)} positions "
              f"differ from float64 {(relative.numpy()[differ][:12]).tolist()}, range {arrays[key].min()} to "
              f"{arrays[key].max()}")
    return arrays


def family_arrays(name: str, family: Family, directory: Path) -> dict[str, np.ndarray]:
    """All golden arrays of one family, computed from its saved directory."""
    tokenizer = AutoTokenizer.from_pretrained(str(directory))
    model = AutoModel.from_pretrained(str(directory), attn_implementation="eager").eval()
    arrays = {"versions": version_strings()}
    arrays |= token_example_arrays(name, tokenizer, model)
    words_tokenizer = word_tokenizer(name, directory, tokenizer)
    arrays |= word_example_arrays(name, words_tokenizer, model)
    arrays |= case_arrays(name, directory, tokenizer, words_tokenizer)
    if family.masked_lm:
        arrays |= masked_lm_arrays(name, family, directory, tokenizer)
    if name == "deberta-v2":
        arrays |= log_bucket_arrays()
    return arrays


def version_strings() -> np.ndarray:
    """The versions of the reference libraries, as stored in every fixture."""
    return np.array([f"transformers {transformers.__version__}", f"torch {torch.__version__}",
                     f"tokenizers {tokenizers.__version__}", f"sentencepiece {sentencepiece.__version__}"])


def build_long_model(directory: Path) -> transformers.PreTrainedTokenizerBase:
    """Write the long-document ModernBERT (6 layers, 12 heads of size 4, layers 0 and 3 global, 1, 2, 4, 5 local
    with |i - j| <= 64, 8192 positions, seeded random weights) and modernbert's tokenizer (the same tokenizer.json,
    model_max_length 8192) into directory, check the reload and return the tokenizer."""
    tokenizer = AutoTokenizer.from_pretrained(str(FAMILIES_DIR / "modernbert"))
    tokenizer.model_max_length = 8192
    config = modernbert_config(tokenizer, hidden_size=48, num_attention_heads=12, intermediate_size=32,
                               num_hidden_layers=6, global_attn_every_n_layers=3, local_attention=128,
                               max_position_embeddings=8192)
    config.architectures = ["ModernBertModel"]
    config._attn_implementation = "eager"
    torch.manual_seed(LONG_SEED)
    model = transformers.ModernBertModel(config).eval()
    randomize_parameters(model, LONG_SEED)
    if directory.exists():
        shutil.rmtree(directory)
    model.save_pretrained(str(directory))
    tokenizer.save_pretrained(str(directory))
    tokenizer_json = (directory / "tokenizer.json").read_bytes()
    assert tokenizer_json == (FAMILIES_DIR / "modernbert" / "tokenizer.json").read_bytes()
    saved = dict(AutoModel.from_pretrained(str(directory)).named_parameters())
    assert all(torch.equal(parameter, saved[key]) for key, parameter in model.named_parameters())
    print(f"{LONG_NAME}: {config.layer_types}, {sum(p.numel() for p in model.parameters())} parameters")
    return tokenizer


def long_document_tokens(tokenizer) -> list[str]:
    """[CLS], the tokens of the CORPUS sentences (each tokenized alone, repeated in order) cut to LONG_TOKENS - 2,
    then [SEP]."""
    body = []
    for sentence in itertools.cycle(CORPUS):
        if len(body) >= LONG_TOKENS - 2:
            break
        body += tokenizer.tokenize(sentence)
    return [tokenizer.cls_token] + body[:LONG_TOKENS - 2] + [tokenizer.sep_token]


def head_statistics(attention: np.ndarray, groups: dict[str, np.ndarray]) -> dict[str, float]:
    """The general statistics of one head's map A [n, n] (float64), written plainly: the mean over rows of the
    attention to C ([CLS]), S ([SEP]) and P ("." and ","), to itself, the next and the previous token; the mean over
    the rows in S of their attention to S and over the rows outside S of theirs; the mean over rows of the entropy
    of (1 - s) A[i, :] + s / n (s = ENTROPY_SMOOTHING), and that of row 0."""
    n = attention.shape[0]
    not_sep = np.setdiff1d(np.arange(n), groups["sep"])
    smoothed = (1 - ENTROPY_SMOOTHING) * attention + ENTROPY_SMOOTHING / n
    entropies = -(smoothed * np.log(smoothed)).sum(axis=1)
    return {"cls": attention[:, groups["cls"]].sum() / n, "sep": attention[:, groups["sep"]].sum() / n,
            "punct": attention[:, groups["punct"]].sum() / n, "self": np.trace(attention) / n,
            "next": np.diagonal(attention, 1).sum() / n, "prev": np.diagonal(attention, -1).sum() / n,
            "sep_sep": attention[np.ix_(groups["sep"], groups["sep"])].sum() / max(len(groups["sep"]), 1),
            "rest_sep": attention[np.ix_(not_sep, groups["sep"])].sum() / max(n - len(groups["sep"]), 1),
            "entropy": entropies.sum() / n, "entropy_from_cls": entropies[0]}


class LayerStatistics:
    """Wraps modernbert's eager_attention_forward so that each layer's attention probabilities [1, H, n, n] are
    checked (they multiply the values; exact zeros outside the window in local layers only), reduced to the general
    statistics at once and dropped, so that no two layers' maps are ever held."""

    def __init__(self, config: transformers.ModernBertConfig, groups: dict[str, np.ndarray], n: int):
        self.module = importlib.import_module(transformers.ModernBertModel.__module__)
        self.original, self.config, self.groups = self.module.eager_attention_forward, config, groups
        self.outside = window_outside(n, config.local_attention // 2)
        shape = (config.num_hidden_layers, config.num_attention_heads)
        self.statistics = {name: np.full(shape, np.nan) for name in STATISTICS}

    def __enter__(self):
        def reduced(module, query, key, value, attention_mask, **kwargs):
            attn_output, attn_weights = self.original(module, query, key, value, attention_mask, **kwargs)
            assert not module.training and attn_weights.dtype == torch.float64
            assert torch.equal(attn_output, torch.matmul(attn_weights, value).transpose(1, 2).contiguous())
            self.reduce(module.layer_idx, attn_weights[0].numpy())
            return attn_output, None

        self.module.eager_attention_forward = reduced
        return self

    def __exit__(self, *exc):
        self.module.eager_attention_forward = self.original

    def reduce(self, layer: int, attention: np.ndarray) -> None:
        """Check one layer's maps [H, n, n] and store their statistics."""
        assert np.isnan(self.statistics["cls"][layer]).all()
        sliding = self.config.layer_types[layer] == "sliding_attention"
        for head, head_map in enumerate(attention):
            check_window(head_map, self.outside, sliding)
            for name, value in head_statistics(head_map, self.groups).items():
                self.statistics[name][layer, head] = value
        print(f"{LONG_NAME}: layer {layer} ({self.config.layer_types[layer]}) reduced")


def long_document_arrays(directory: Path, tokenizer) -> dict[str, np.ndarray]:
    """The long document's tokens and ids and the general statistics of the float64 maps of ModernBertModel (eager,
    .double(), eval) on it, one unpadded example without attention mask."""
    tokens = long_document_tokens(tokenizer)
    ids = tokenizer.convert_tokens_to_ids(tokens)
    assert len(tokens) == LONG_TOKENS and tokenizer.unk_token_id not in ids
    groups = {"cls": np.flatnonzero(np.array(tokens) == "[CLS]"), "sep": np.flatnonzero(np.array(tokens) == "[SEP]"),
              "punct": np.flatnonzero(np.isin(np.array(tokens), [".", ","]))}
    print(f"{LONG_NAME}: |C| = {len(groups['cls'])}, |S| = {len(groups['sep'])}, |P| = {len(groups['punct'])} "
          f"({np.sum(np.array(tokens) == '.')} '.', {np.sum(np.array(tokens) == ',')} ',') of {len(tokens)} tokens")
    model = AutoModel.from_pretrained(str(directory), attn_implementation="eager").double().eval()
    with LayerStatistics(model.config, groups, len(tokens)) as statistics, torch.no_grad():
        model(input_ids=torch.tensor([ids]))
    arrays = {"versions": version_strings(), "tokens": np.array(tokens), "input_ids": np.array(ids, np.int32),
              "uniform_entropy": np.float64(np.log(len(tokens)))}
    for name, values in statistics.statistics.items():
        assert not np.isnan(values).any(), name
        arrays[f"stat_{name}"] = values
    return arrays


def write_long_document() -> None:
    """Write the long-document model directory and its statistics (after modernbert, whose tokenizer it takes)."""
    directory = FAMILIES_DIR / LONG_NAME
    tokenizer = build_long_model(directory)
    np.savez_compressed(FAMILIES_DIR / f"{LONG_NAME}.npz", **long_document_arrays(directory, tokenizer))


def main() -> None:
    """Build, check and write the families asked for (all by default, modernbert-long last) and report the sizes
    written."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    choices = list(FAMILIES) + [LONG_NAME]
    parser.add_argument("--only", nargs="+", choices=choices, default=choices, help="families to write (default: all)")
    wanted = parser.parse_args().only
    transformers.logging.set_verbosity_error()  # the base models' missing poolers and unused heads are expected
    FAMILIES_DIR.mkdir(exist_ok=True)
    for name in sorted(wanted, key=choices.index):
        if name == LONG_NAME:
            write_long_document()
            continue
        directory = FAMILIES_DIR / name
        tokenizer, model = build_family(name, FAMILIES[name], directory)
        check_family(name, directory, tokenizer, model)
        if FAMILIES[name].tokenizer_json_only:
            print(f"{name}: no vocabulary files (its tokenizer class reads tokenizer.json only)")
        else:
            for difference in vocabulary_files_differences(name, directory):
                print(f"{name}: without tokenizer.json, {difference}")
        np.savez_compressed(FAMILIES_DIR / f"{name}.npz", **family_arrays(name, FAMILIES[name], directory))
    for path in sorted(FAMILIES_DIR.rglob("*")):
        if path.is_file():
            print(f"{path.relative_to(FAMILIES_DIR.parent)}: {path.stat().st_size} bytes")


if __name__ == "__main__":
    main()
