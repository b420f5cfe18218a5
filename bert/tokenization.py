"""BERT's WordPiece tokenizer: basic tokenization, then greedy longest-match-first word pieces.

Token for token the same as the reference BERT tokenizer, cased and uncased. Special tokens
(`[CLS]`, `[SEP]`, `[MASK]`, `[PAD]`, `[UNK]`) written in the text are kept whole.
"""

import re
import unicodedata
from collections.abc import Iterable
from pathlib import Path

from utils import InputError, read_bytes

CLS, SEP, UNK = "[CLS]", "[SEP]", "[UNK]"
SPECIAL_TOKENS = (CLS, SEP, "[MASK]", "[PAD]", UNK)
_SPECIAL_TOKEN_PATTERN = re.compile("(" + "|".join(re.escape(token) for token in SPECIAL_TOKENS) + ")")
MAX_WORD_CHARS = 100


def load_vocab(vocab_file: str | Path) -> dict[str, int]:
    """Read a vocab.txt (one token a line) into a token -> id dict; InputError unless it is UTF-8 and holds
    [CLS], [SEP] and [UNK]."""
    raw = read_bytes(vocab_file)
    try:
        lines = raw.decode("utf-8").split("\n")
    except UnicodeDecodeError as error:
        line_number = raw.count(b"\n", 0, error.start) + 1
        raise InputError(f"{vocab_file}: line {line_number}: not UTF-8 ({error.reason})") from None
    vocab = {line.rstrip("\r"): index for index, line in enumerate(lines[:-1] if lines[-1] == "" else lines)}
    missing = [token for token in (CLS, SEP, UNK) if token not in vocab]
    if missing:
        raise InputError(f"{vocab_file}: lacks {', '.join(missing)}; not a BERT WordPiece vocabulary")
    return vocab


def _is_whitespace(char: str) -> bool:
    """Space, tab, newline, carriage return and Unicode space separators (Zs)."""
    return char in " \t\n\r" or unicodedata.category(char) == "Zs"


def _is_control(char: str) -> bool:
    """Unicode "other" characters (Cc, Cf, Cn, Co, Cs), except tab, newline and carriage return."""
    return char not in "\t\n\r" and unicodedata.category(char).startswith("C")


def _is_punctuation(char: str) -> bool:
    """ASCII non-alphanumeric symbols (such as `$` and `^`) and every Unicode punctuation (P*)."""
    code = ord(char)
    if 33 <= code <= 47 or 58 <= code <= 64 or 91 <= code <= 96 or 123 <= code <= 126:
        return True
    return unicodedata.category(char).startswith("P")


def _is_cjk(code: int) -> bool:
    """Whether a code point is a CJK Unified Ideograph (not Hangul, hiragana or katakana)."""
    return (
        0x4E00 <= code <= 0x9FFF
        or 0x3400 <= code <= 0x4DBF
        or 0x20000 <= code <= 0x2A6DF
        or 0x2A700 <= code <= 0x2B73F
        or 0x2B740 <= code <= 0x2B81F
        or 0x2B820 <= code <= 0x2CEAF
        or 0xF900 <= code <= 0xFAFF
        or 0x2F800 <= code <= 0x2FA1F
    )


def _clean(text: str) -> str:
    """Drop NUL, U+FFFD and control characters; turn every whitespace character into a space."""
    kept = []
    for char in text:
        if char in "\x00\ufffd" or _is_control(char):
            continue
        kept.append(" " if _is_whitespace(char) else char)
    return "".join(kept)


def _space_out_cjk(text: str) -> str:
    """Surround each CJK ideograph with spaces so that it becomes a word of its own."""
    return "".join(f" {char} " if _is_cjk(ord(char)) else char for char in text)


def _lowercase(word: str) -> str:
    """Lowercase character by character, as the reference does (so a final capital sigma gives σ, not ς)."""
    return "".join(char.lower() for char in word)


def _strip_accents(word: str) -> str:
    """Decompose (NFD) and drop the combining marks (Mn)."""
    return "".join(char for char in unicodedata.normalize("NFD", word) if unicodedata.category(char) != "Mn")


def _split_punctuation(word: str) -> list[str]:
    """Split a word so that every punctuation character stands alone."""
    pieces: list[str] = []
    start_new = True
    for char in word:
        if _is_punctuation(char):
            pieces.append(char)
            start_new = True
        elif start_new:
            pieces.append(char)
            start_new = False
        else:
            pieces[-1] += char
    return pieces


class BasicTokenizer:
    """Text cleaning, CJK splitting, optional lowercasing with accent stripping, punctuation splitting."""

    def __init__(self, do_lower_case: bool = True):
        self.do_lower_case = do_lower_case

    def tokenize(self, text: str) -> list[str]:
        """Split text into words and punctuation marks."""
        words = []
        for word in _space_out_cjk(_clean(text)).split():
            if self.do_lower_case:
                word = _strip_accents(_lowercase(word))
            words.extend(_split_punctuation(word))
        return words


class WordpieceTokenizer:
    """Greedy longest-match-first split of a word into vocabulary pieces (`##` marks continuations)."""

    def __init__(self, vocab: dict[str, int], unk_token: str = UNK, max_word_chars: int = MAX_WORD_CHARS):
        self.vocab = vocab
        self.unk_token = unk_token
        self.max_word_chars = max_word_chars

    def tokenize_word(self, word: str) -> list[str]:
        """The word's pieces, or `[UNK]` when it is too long or some part has no piece."""
        if len(word) > self.max_word_chars:
            return [self.unk_token]
        pieces = []
        start = 0
        while start < len(word):
            end = len(word)
            while end > start:
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                if piece in self.vocab:
                    break
                end -= 1
            if end == start:
                return [self.unk_token]
            pieces.append(piece)
            start = end
        return pieces


class FullTokenizer:
    """Basic tokenization followed by WordPiece; special tokens written in the text stay whole."""

    def __init__(self, vocab_file: str | Path, do_lower_case: bool = True):
        self.vocab = load_vocab(vocab_file)
        self.basic_tokenizer = BasicTokenizer(do_lower_case)
        self.wordpiece_tokenizer = WordpieceTokenizer(self.vocab)

    def tokenize(self, text: str) -> list[str]:
        """WordPiece tokens of `text`."""
        tokens = []
        for part in _SPECIAL_TOKEN_PATTERN.split(text):
            if part in SPECIAL_TOKENS:
                tokens.append(part)
                continue
            for word in self.basic_tokenizer.tokenize(part):
                tokens.extend(self.wordpiece_tokenizer.tokenize_word(word))
        return tokens

    def convert_tokens_to_ids(self, tokens: Iterable[str]) -> list[int]:
        """Vocabulary ids of tokens (each must be in the vocabulary)."""
        return [self.vocab[token] for token in tokens]
