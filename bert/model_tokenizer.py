"""The model's own tokenizer, with its special tokens by role and its pair template.

What reads the files depends on what the model directory holds, in this order:
- `tokenizer.json`: Hugging Face `tokenizers` (WordPiece, byte-level BPE, SentencePiece-style Unigram or BPE), with
  its own normalizer, so casing comes from the tokenizer;
- a SentencePiece model (`spiece.model`, `sentencepiece.bpe.model`, `spm.model`): `sentencepiece`, with ALBERT's
  text preprocessing, DeBERTa-v2's `[MASK]` after the pieces, or XLM-R's fairseq ids;
- `vocab.txt` alone (Google checkpoints): the vendored WordPiece of bert/tokenization.py, lowercasing unless
  `cased`, as the original.
A word is tokenized as it reads after a space (`Ġword`, `▁word`; WordPiece has no prefix), as transformers does
with `is_split_into_words`.
"""

import re
import sys
import unicodedata
from pathlib import Path

from bert.config import ROBERTA_LIKE
from bert.special_tokens import PairTemplate, SpecialTokens
from bert.tokenization import FullTokenizer
from utils import InputError, read_json

SENTENCEPIECE_FILES = ("spiece.model", "sentencepiece.bpe.model", "spm.model")
SENTENCEPIECE_FAMILIES = ("albert", "deberta-v2", "xlm-roberta")  # the layouts SentencePiecePieces knows
FAIRSEQ_SPECIAL_IDS = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3}  # XLM-R's ids before the SentencePiece ones
ROLE_DEFAULTS = {"bert": ("[CLS]", "[SEP]", "[MASK]"), "roberta": ("<s>", "</s>", "<mask>")}


class WordPiecePieces:
    """The vendored WordPiece of a `vocab.txt` (lowercasing unless `cased`)."""

    decides_casing = False

    def __init__(self, vocab_file: Path, cased: bool):
        self.tokenizer = FullTokenizer(vocab_file, do_lower_case=not cased)
        self.vocab = self.tokenizer.vocab

    def tokenize(self, text: str) -> list[str]:
        return self.tokenizer.tokenize(text)

    def tokenize_word(self, word: str) -> list[str]:
        return self.tokenizer.tokenize(word)


class TokenizersPieces:
    """A `tokenizer.json` read by Hugging Face `tokenizers`."""

    decides_casing = True

    def __init__(self, path: Path):
        from tokenizers import Tokenizer

        try:
            self.tokenizer = Tokenizer.from_file(str(path))
        except Exception as error:  # noqa: BLE001 - tokenizers raises a bare Exception for a malformed file
            reason = " ".join(str(error).split())[:160]
            raise InputError(f"{path}: not a readable tokenizer.json ({reason})") from None
        self.tokenizer.no_padding()  # a tokenizer.json may pad and truncate; here every token counts
        self.tokenizer.no_truncation()
        self.vocab = self.tokenizer.get_vocab(with_added_tokens=True)

    def tokenize(self, text: str) -> list[str]:
        """The tokens of the ids (a piece the vocabulary lacks is its unknown token, as transformers names it)."""
        return [self.tokenizer.id_to_token(i) for i in self.tokenizer.encode(text, add_special_tokens=False).ids]

    def tokenize_word(self, word: str) -> list[str]:
        return self.tokenize(" " + word)

    def template(self) -> tuple[list[str], list[str], list[str]] | None:
        """The special tokens of the pair template before A, between A and B, and after B; None without one."""
        encoding = self.tokenizer.encode(["a"], ["b"], is_pretokenized=True, add_special_tokens=True)
        sequences = encoding.sequence_ids
        if 0 not in sequences or 1 not in sequences:
            return None
        first_a, first_b = sequences.index(0), sequences.index(1)
        last_b = len(sequences) - 1 - sequences[::-1].index(1)
        tokens = encoding.tokens
        between = [token for token, sequence in zip(tokens[first_a:first_b], sequences[first_a:first_b],
                                                    strict=True) if sequence is None]
        return tokens[:first_a], between, tokens[last_b + 1:]


class SentencePiecePieces:
    """A SentencePiece model read by `sentencepiece`, in its family's layout: ALBERT's (its ids, its text
    preprocessing), DeBERTa-v2's (its ids, `[MASK]` after the pieces, the text as it is, lowercased only with
    `do_lower_case`) or XLM-R's (fairseq ids: `<s>`, `<pad>`, `</s>`, `<unk>`, then the pieces shifted by one,
    `<mask>` last)."""

    decides_casing = True

    def __init__(self, path: Path, model_type: str, settings: dict, special: list[str], mask: str):
        import sentencepiece

        self.processor = sentencepiece.SentencePieceProcessor()
        try:
            self.processor.Load(str(path))
        except (OSError, RuntimeError) as error:
            raise InputError(f"{path}: not a readable SentencePiece model ({error})") from None
        self.fairseq = model_type in ROBERTA_LIKE
        self.albert = model_type == "albert"
        self.lowercase = not self.fairseq and settings.get("do_lower_case", self.albert) is True
        self.keep_accents = not self.albert or settings.get("keep_accents", False) is True
        pieces = [self.processor.IdToPiece(i) for i in range(self.processor.GetPieceSize())]
        self.unknown = "<unk>" if self.fairseq else self.processor.IdToPiece(self.processor.unk_id())
        if self.fairseq:
            self.vocab = {**{piece: i + 1 for i, piece in enumerate(pieces)}, **FAIRSEQ_SPECIAL_IDS}
            self.vocab[mask] = len(pieces) + 1
        else:
            self.vocab = {piece: i for i, piece in enumerate(pieces)}
            if model_type == "deberta-v2":
                self.vocab.setdefault(mask, len(pieces))
        self.special = [token for token in special if token in self.vocab]
        self.special_pattern = re.compile("(" + "|".join(map(re.escape, self.special)) + ")") if self.special else None

    def preprocess(self, text: str) -> str:
        """ALBERT's text preprocessing before SentencePiece (spaces collapsed, `` and '' as ", accents stripped
        unless kept, lowercase); for the others the text as it is, lowercased with `do_lower_case`."""
        if self.albert:
            text = " ".join(text.strip().split()).replace("``", '"').replace("''", '"')
        if not self.keep_accents:
            text = "".join(char for char in unicodedata.normalize("NFKD", text) if not unicodedata.combining(char))
        return text.lower() if self.lowercase else text

    def tokenize(self, text: str) -> list[str]:
        parts = self.special_pattern.split(text) if self.special_pattern else [text]
        tokens = []
        for part in parts:
            if part in self.special:
                tokens.append(part)
            elif part.strip():
                tokens.extend(self.processor.EncodeAsPieces(self.preprocess(part)))
        return [token if token in self.vocab else self.unknown for token in tokens]

    def tokenize_word(self, word: str) -> list[str]:
        return self.tokenize(word)


class ModelTokenizer:
    """The model's tokenizer: pieces of a text or a word, ids, the special tokens by role and the pair template
    (`[CLS] A [SEP] B [SEP]`, `<s> A </s></s> B </s>`)."""

    def __init__(self, pieces, template: PairTemplate, mask_token: str | None, source: Path):
        self.pieces = pieces
        self.template = template
        self.special_tokens = template.special_tokens
        self.mask_token = mask_token
        self.source = source
        self.vocab: dict[str, int] = pieces.vocab
        self.decides_casing: bool = pieces.decides_casing

    def tokenize(self, text: str) -> list[str]:
        """The tokens of a text, without special tokens added (those written in the text stay whole)."""
        return self.pieces.tokenize(text)

    def tokenize_word(self, word: str) -> list[str]:
        """The tokens of a word as it reads after a space."""
        return self.pieces.tokenize_word(word)

    def convert_tokens_to_ids(self, tokens: list[str]) -> list[int]:
        """Vocabulary ids of tokens (each must be in the vocabulary)."""
        return [self.vocab[token] for token in tokens]

    def single(self, tokens: list[str]) -> list[str]:
        """One segment with the model's special tokens: `[CLS] A [SEP]`."""
        return self.special_tokens.around(tokens)

    def pair(self, tokens_a: list[str], tokens_b: list[str]) -> list[str]:
        """Two segments with the model's pair template: `[CLS] A [SEP] B [SEP]` or `<s> A </s></s> B </s>`."""
        return self.template.pair(tokens_a, tokens_b)

    def check_fits(self, vocab_size: int) -> None:
        """InputError when a token's id points past the model's `vocab_size` embeddings."""
        largest = max(self.vocab.values())
        if largest >= vocab_size:
            raise InputError(f"{self.source}: the tokenizer has token ids up to {largest}, beyond the model's "
                             f"vocab_size {vocab_size}")


def token_setting(settings: dict, name: str) -> str | None:
    """A special token of tokenizer_config.json / special_tokens_map.json: a string or `{"content": ...}`."""
    value = settings.get(name)
    if isinstance(value, dict):
        value = value.get("content")
    return value if isinstance(value, str) and value else None


def tokenizer_settings(directory: Path) -> dict:
    """The tokenizer's settings: special_tokens_map.json, then tokenizer_config.json over it (either may be absent)."""
    settings = {}
    for name in ("special_tokens_map.json", "tokenizer_config.json"):
        if (directory / name).is_file():
            values = read_json(directory / name)
            settings |= values if isinstance(values, dict) else {}
    return settings


def open_model_tokenizer(directory: Path, model_type: str, cased: bool = False) -> ModelTokenizer:
    """The tokenizer of a model directory (see the module docstring); with `cased` for a tokenizer that decides
    casing itself, says on stderr that the flag does not apply."""
    settings = tokenizer_settings(directory)
    family = "roberta" if model_type in ROBERTA_LIKE else "bert"
    cls, sep, mask = (token_setting(settings, f"{role}_token") or default
                      for role, default in zip(("cls", "sep", "mask"), ROLE_DEFAULTS[family], strict=True))
    pair_separator = [sep, sep] if family == "roberta" else [sep]
    sentencepiece_files = [directory / name for name in SENTENCEPIECE_FILES if (directory / name).is_file()]
    if (directory / "tokenizer.json").is_file():
        pieces = TokenizersPieces(directory / "tokenizer.json")
        template = pieces.template()
        if template is not None:
            cls, sep, pair_separator = template_roles(template, directory)
    elif sentencepiece_files and model_type in SENTENCEPIECE_FAMILIES:
        pieces = SentencePiecePieces(sentencepiece_files[0], model_type, settings,
                                     [cls, sep, mask, "<pad>", "<unk>", "[PAD]", "[UNK]"], mask)
    elif (directory / "vocab.txt").is_file():
        pieces = WordPiecePieces(directory / "vocab.txt", cased)
    else:
        raise InputError(f"{directory}: no tokenizer: expected tokenizer.json, vocab.txt, or for ALBERT, DeBERTa-v2 "
                         f"and XLM-R a SentencePiece model ({', '.join(SENTENCEPIECE_FILES)})")
    if cased and pieces.decides_casing:
        print(f"--cased does not apply: the tokenizer of {directory} decides casing itself", file=sys.stderr)
    missing = [token for token in (cls, sep) if token not in pieces.vocab]
    if missing:
        raise InputError(f"{directory}: the tokenizer's vocabulary lacks its special token {missing[0]!r}")
    template = PairTemplate(SpecialTokens(cls, sep), tuple(pair_separator))
    return ModelTokenizer(pieces, template, mask if mask in pieces.vocab else None, directory)


def template_roles(template: tuple[list[str], list[str], list[str]], directory: Path) -> tuple[str, str, list[str]]:
    """The classifier, the separator and the separator between segments of a tokenizer.json pair template, which
    must have one special token before the first segment and one after the second."""
    before, between, after = template
    if len(before) != 1 or len(after) != 1 or not between:
        raise InputError(f"{directory / 'tokenizer.json'}: pair template {before} A {between} B {after} is not "
                         "[CLS] A [SEP] B [SEP] or <s> A </s></s> B </s>; not supported")
    return before[0], after[0], between
