"""Tests for preprocess_unlabeled.py and preprocessing/unlabeled.py: BERT-style segments from raw text.

--original is checked against a plain transcription of the original script's loop written here, on held-out
Wikipedia text and on a small hand-written text.
"""

import dataclasses
import functools
import json
import random
import subprocess
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, assert_one_line_error, input_error, run_script

import preprocess_unlabeled
from bert.checkpoint import open_tokenizer
from bert.model_tokenizer import ModelTokenizer
from preprocessing.unlabeled import build_segments, document_segments, read_documents, read_lines, truncated_lengths
from utils import InputError


def synthetic_documents(seed: int, count: int) -> list[list[list[str]]]:
    """Documents of sentences of unique tokens `d<doc>s<sentence>t<token>`, some sentences longer than a segment."""
    rng = np.random.default_rng(seed)
    documents = []
    for doc in range(count):
        lengths = rng.choice([1, 2, 5, 12, 30, 80], size=rng.integers(1, 12))
        documents.append([[f"d{doc}s{s}t{t}" for t in range(length)] for s, length in enumerate(lengths)])
    return documents


def split_segment(segment: list[str]) -> tuple[list[str], list[str]]:
    """A and B of `[CLS] A [SEP] B [SEP]`, checking the special tokens' places."""
    assert segment[0] == "[CLS]" and segment[-1] == "[SEP]"
    assert segment.count("[SEP]") == 2 and segment.count("[CLS]") == 1
    middle = segment.index("[SEP]")
    return segment[1:middle], segment[middle + 1 : -1]


def run_preprocess(*args: str) -> subprocess.CompletedProcess:
    """Run preprocess_unlabeled.py from the repository root."""
    return run_script("preprocess_unlabeled.py", *args)


# ------------------------------------------------------------------------------------------ segment building


@pytest.mark.parametrize("max_sequence_length", [8, 16, 33, 128])
def test_segments_fit_the_budget_and_keep_tokens_in_order(max_sequence_length):
    documents = synthetic_documents(seed=max_sequence_length, count=40)
    segments, skipped = build_segments(documents, max_sequence_length, num_segments=10**6, seed=1)
    stream = [token for document in documents for sentence in document for token in sentence]
    position = {token: index for index, token in enumerate(stream)}
    previous_end = -1
    for segment in segments:
        assert len(segment) <= max_sequence_length
        tokens_a, tokens_b = split_segment(segment)
        assert tokens_a and tokens_b
        for side in (tokens_a, tokens_b):
            start = position[side[0]]
            assert side == stream[start : start + len(side)]  # a contiguous run of the input
        assert previous_end < position[tokens_a[0]] and position[tokens_a[-1]] < position[tokens_b[0]]
        previous_end = position[tokens_b[-1]]
    one_token_documents = sum(document == [document[0][:1]] for document in documents)
    assert skipped >= one_token_documents


def test_short_sentences_keep_every_token():
    documents = [[[f"d{doc}s{s}t{t}" for t in range(3)] for s in range(doc + 1)] for doc in range(6)]
    segments, skipped = build_segments(documents, max_sequence_length=128, num_segments=100)
    kept = [token for segment in segments for token in segment if token not in ("[CLS]", "[SEP]")]
    assert kept == [token for document in documents for sentence in document for token in sentence]
    assert len(segments) == 6 and skipped == 0


def test_chunks_close_when_they_reach_the_target_length():
    # max_num_tokens = 9 - 3 = 6: sentences of 3 tokens pair up; the last lone sentence is split inside.
    sentences = [[f"s{s}t{t}" for t in range(length)] for s, length in enumerate([3, 3, 3, 3, 2])]
    segments, skipped = document_segments(sentences, max_num_tokens=6, rng=np.random.default_rng(0))
    assert segments[0] == ["[CLS]", *sentences[0], "[SEP]", *sentences[1], "[SEP]"]
    assert segments[1] == ["[CLS]", *sentences[2], "[SEP]", *sentences[3], "[SEP]"]
    assert segments[2] == ["[CLS]", "s4t0", "[SEP]", "s4t1", "[SEP]"]
    assert len(segments) == 3 and skipped == 0


def test_a_ends_at_every_sentence_boundary_of_the_chunk():
    sentences = [[f"s{s}t0", f"s{s}t1"] for s in range(4)]
    a_lengths = set()
    for seed in range(40):
        segments, _ = document_segments(sentences, max_num_tokens=125, rng=np.random.default_rng(seed))
        tokens_a, tokens_b = split_segment(segments[0])
        assert tokens_a + tokens_b == [token for sentence in sentences for token in sentence]
        a_lengths.add(len(tokens_a))
    assert a_lengths == {2, 4, 6}


def test_a_single_sentence_document_is_split_inside_the_sentence():
    sentence = ["the", "cat", "sat", "on", "the", "mat"]
    for seed in range(10):
        segments, skipped = document_segments([sentence], max_num_tokens=125, rng=np.random.default_rng(seed))
        tokens_a, tokens_b = split_segment(segments[0])
        assert len(segments) == 1 and skipped == 0
        assert tokens_a + tokens_b == sentence and tokens_a and tokens_b


def test_a_one_token_document_is_skipped_and_counted():
    segments, skipped = build_segments([[["hello"]], [["a", "b"], ["c"]]], 128, num_segments=10)
    assert skipped == 1
    assert segments == [["[CLS]", "a", "b", "[SEP]", "c", "[SEP]"]]


def simulated_truncation(len_a: int, len_b: int, max_num_tokens: int) -> tuple[int, int]:
    """BERT's loop: while too long, remove one token from the longer side (B on a tie)."""
    while len_a + len_b > max_num_tokens:
        if len_a > len_b:
            len_a -= 1
        else:
            len_b -= 1
    return len_a, len_b


def test_truncated_lengths_match_the_one_token_at_a_time_loop():
    for max_num_tokens in (2, 3, 7, 10, 125):
        for len_a in range(1, 40):
            for len_b in range(1, 40):
                expected = simulated_truncation(len_a, len_b, max_num_tokens)
                assert truncated_lengths(len_a, len_b, max_num_tokens) == expected


def test_truncation_trims_both_ends():
    sentences = [[f"a{t}" for t in range(200)], [f"b{t}" for t in range(200)]]
    starts = set()
    for seed in range(20):
        segments, _ = document_segments(sentences, max_num_tokens=20, rng=np.random.default_rng(seed))
        tokens_a, tokens_b = split_segment(segments[0])
        assert len(tokens_a) == len(tokens_b) == 10
        starts.add(int(tokens_a[0][1:]))
    assert min(starts) > 0 and max(starts) < 190  # A lost tokens at the front and at the back


def test_same_seed_same_segments_other_seed_other_segments():
    documents = synthetic_documents(seed=7, count=30)
    first = build_segments(documents, 64, num_segments=1000, seed=3)
    assert build_segments(documents, 64, num_segments=1000, seed=3) == first
    assert build_segments(documents, 64, num_segments=1000, seed=4) != first


def test_num_segments_counts_segments():
    documents = synthetic_documents(seed=2, count=30)
    all_segments, _ = build_segments(documents, 64, num_segments=10**6)
    first_five, _ = build_segments(documents, 64, num_segments=5)
    assert len(all_segments) > 5 and first_five == all_segments[:5]


def test_too_small_a_length_is_an_input_error():
    with pytest.raises(InputError, match=r"max_sequence_length: 4 is not in \[5, inf\]"):
        build_segments([[["a", "b"]]], 4, num_segments=1)


# ------------------------------------------------------------------------------------------ reading


def test_read_documents_keeps_the_last_document_without_a_trailing_blank_line(tmp_path):
    path = tmp_path / "text.txt"
    path.write_bytes(b"One.\r\nTwo.\n\n\n  \nThree.\n\nFour.\nFive.")
    assert list(read_documents(path)) == [["One.", "Two."], ["Three."], ["Four.", "Five."]]


def test_read_lines_cuts_lines_as_text_mode_does(tmp_path):
    path = tmp_path / "text.txt"
    path.write_bytes(b" One. \r\nTwo.\rThree.\n\r\n\nFour.")
    assert list(read_lines(path)) == ["One.", "Two.", "Three.", "", "", "Four."]
    with open(path, encoding="utf-8") as stream:  # the original's reading
        assert [line.strip() for line in stream] == list(read_lines(path))


def test_read_documents_names_the_non_utf8_line(tmp_path):
    path = tmp_path / "text.txt"
    path.write_bytes(b"fine\n\ncaf\xe9\n")
    with pytest.raises(InputError, match=r"text\.txt: line 3: not UTF-8"):
        list(read_documents(path))


# ------------------------------------------------------------------------------------------ the script


def test_script_output_is_complete_deterministic_and_atomic(tmp_path):
    data_file = tmp_path / "corpus.txt"
    data_file.write_text("The cat sat.\nThe dog ran.\n\nA bird sang.\n\nRed and blue.\nGreen and gold.")
    result = run_preprocess("--data-file", str(data_file), "--num_docs", "10", "--max-sequence-length", "16")
    assert result.returncode == 0, result.stderr
    first = (tmp_path / "corpus.json").read_bytes()
    preprocess_unlabeled.main(["--data_file", str(data_file), "--num-docs", "10", "--max_sequence_length", "16"])
    assert (tmp_path / "corpus.json").read_bytes() == first
    segments = [example["tokens"] for example in json.loads(first)]
    assert segments[0] == ["[CLS]", "the", "cat", "sat", ".", "[SEP]", "the", "dog", "ran", ".", "[SEP]"]
    assert [token for token in segments[1] if token not in ("[CLS]", "[SEP]")] == ["a", "bird", "sang", "."]
    assert segments[2] == ["[CLS]", "red", "and", "blue", ".", "[SEP]", "green", "and", "gold", ".", "[SEP]"]
    assert len(segments) == 3 and sorted(p.name for p in tmp_path.iterdir()) == ["corpus.json", "corpus.txt"]


def test_script_on_the_bundled_sample(tmp_path):
    data_file = tmp_path / "unlabeled.txt"
    data_file.write_bytes((ROOT / "data" / "sample" / "unlabeled.txt").read_bytes())
    preprocess_unlabeled.main(["--data-file", str(data_file), "--max_sequence_length", "48", "--seed", "5"])
    segments = [example["tokens"] for example in json.loads((tmp_path / "unlabeled.json").read_text())]
    assert len(segments) >= 5
    for segment in segments:
        assert len(segment) <= 48
        split_segment(segment)


@pytest.mark.parametrize(
    ("file_name", "content", "message"),
    [
        ("missing.txt", None, "missing.txt: no such file"),
        ("latin1.txt", b"ok\ncaf\xe9\n", "latin1.txt: line 2: not UTF-8"),
        ("input.json", b"[]", "must not be a .json file"),
    ],
)
def test_script_bad_input_is_an_input_error(tmp_path, file_name, content, message):
    data_file = tmp_path / file_name
    if content is not None:
        data_file.write_bytes(content)
    assert message in input_error(preprocess_unlabeled.main, "--data-file", str(data_file))


def test_script_error_is_one_line(tmp_path):
    assert_one_line_error(run_preprocess("--data-file", str(tmp_path / "missing.txt")), "missing.txt: no such file")


def test_script_writes_to_outfile(tmp_path):
    data_file = tmp_path / "corpus.txt"
    data_file.write_text("The cat sat.\nThe dog ran.\n")
    outfile = tmp_path / "out" / "segments.json"
    preprocess_unlabeled.main(["--data-file", str(data_file), "--outfile", str(outfile)])
    segments = [example["tokens"] for example in json.loads(outfile.read_text())]
    assert segments == [["[CLS]", "the", "cat", "sat", ".", "[SEP]", "the", "dog", "ran", ".", "[SEP]"]]
    assert not (tmp_path / "corpus.json").exists()


def test_script_refuses_an_outfile_that_is_the_input(tmp_path):
    data_file = tmp_path / "corpus.txt"
    data_file.write_text("The cat sat.\nThe dog ran.\n")
    other_spelling = str(tmp_path / "sub" / ".." / "corpus.txt")
    (tmp_path / "sub").mkdir()
    assert "is the input file" in input_error(preprocess_unlabeled.main, "--data-file", str(data_file),
                                              "--outfile", other_spelling)
    result = run_preprocess("--data-file", str(data_file), "--outfile", str(data_file))
    assert_one_line_error(result, "corpus.txt", "--outfile is the input file")
    assert data_file.read_text() == "The cat sat.\nThe dog ran.\n"


# ------------------------------------------------------------------------------------------ --original


@dataclasses.dataclass
class OriginalRun:
    """What the transcription of the original made: its segments, in shuffled order, and what it saw on the way."""

    segments: list[list[str]]
    segments_per_document: list[int] = dataclasses.field(default_factory=list)  # of each document processed
    cut_short: int = 0  # documents whose processing stopped at a chunk with an empty A or B
    cut_mid_document: int = 0  # of those, the ones stopped before their last sentence

    @property
    def documents_processed(self) -> int:
        """How many documents the run processed (drawing their random numbers)."""
        return len(self.segments_per_document)


@functools.cache
def tokenize(line: str) -> tuple[str, ...]:
    """The embedded uncased vocabulary's WordPiece tokens of a line (cached: the Wikipedia runs share lines)."""
    return tuple(embedded_tokenizer().tokenize(line))


@functools.cache
def embedded_tokenizer() -> ModelTokenizer:
    """The tokenizer the script uses by default: the embedded model's vocabulary, lowercased."""
    return open_tokenizer(None)


def transcribed_document(document: list[list[str]], max_num_tokens: int) -> tuple[list[list[str]], int | None]:
    """The original's handling of one document, step by step on the module-level `random`; returns the segments
    and the index of the sentence where an empty side stopped it (None when it ran to the end)."""
    segments = []
    current_chunk = []
    current_length = 0
    i = 0
    while i < len(document):
        current_chunk.append(document[i])
        current_length += len(document[i])
        if i == len(document) - 1 or current_length >= max_num_tokens:
            a_end = 1
            if len(current_chunk) >= 2:
                a_end = random.randint(1, len(current_chunk) - 1)
            tokens_a = []
            for sentence in current_chunk[:a_end]:
                tokens_a += sentence
            tokens_b = []
            for sentence in current_chunk[a_end:]:
                tokens_b += sentence
            while len(tokens_a) + len(tokens_b) > max_num_tokens:
                longer = tokens_a if len(tokens_a) > len(tokens_b) else tokens_b
                if random.random() < 0.5:
                    del longer[0]
                else:
                    longer.pop()
            if len(tokens_a) == 0 or len(tokens_b) == 0:
                return segments, i
            segments.append(["[CLS]"] + tokens_a + ["[SEP]"] + tokens_b + ["[SEP]"])
            current_chunk = []
            current_length = 0
        i += 1
    return segments, None


def transcribed_original(path: Path, max_sequence_length: int, num_docs: int) -> OriginalRun:
    """The original script, read off its description: `random.seed(0)`, the file read in text mode, a document
    processed at the blank line that closes it, reading stopped at `num_docs` segments, then one shuffle.
    The module-level `random` state is restored afterwards."""
    saved_state = random.getstate()
    random.seed(0)
    try:
        run = OriginalRun(segments=[])
        current_doc = []
        with open(path, encoding="utf-8") as stream:
            for line in stream:
                line = line.strip()
                if not line:
                    if current_doc:
                        made, stop_index = transcribed_document(current_doc, max_sequence_length - 3)
                        run.segments_per_document.append(len(made))
                        run.cut_short += stop_index is not None
                        run.cut_mid_document += stop_index is not None and stop_index < len(current_doc) - 1
                        for segment in made:
                            run.segments.append(segment)
                            if len(run.segments) >= num_docs:
                                break
                        if len(run.segments) >= num_docs:
                            break
                    current_doc = []
                tokens = list(tokenize(line))
                if tokens:
                    current_doc.append(tokens)
        random.shuffle(run.segments)
        return run
    finally:
        random.setstate(saved_state)


def original_script_segments(data_file: Path, outfile: Path, *args: str) -> list[list[str]]:
    """Run `preprocess_unlabeled.py --original` in this process; the segments it wrote."""
    preprocess_unlabeled.main(["--data-file", str(data_file), "--outfile", str(outfile), "--original", *args])
    return [example["tokens"] for example in json.loads(outfile.read_text(encoding="utf-8"))]


HAND_WRITTEN_TEXT = (
    "The cat sat on the mat.\nIt purred loudly at the dog.\nYes\n\n"  # a one-token last sentence
    "A lone sentence makes a one-sentence document.\n\n\n   \n"
    "Hi\n\n"  # a one-token one-sentence document
    "First of three sentences here.\nThe second is a good deal longer than the first one was.\nThird.\n\n"
    "Two short.\nLines here.\n\n"
    "This last document is never processed.\nIt has no blank line after it."
)


@pytest.mark.parametrize("max_sequence_length", [5, 8, 12, 128])
def test_original_matches_the_transcription_on_a_hand_written_text(tmp_path, max_sequence_length):
    data_file = tmp_path / "text.txt"
    data_file.write_text(HAND_WRITTEN_TEXT, encoding="utf-8")
    expected = transcribed_original(data_file, max_sequence_length, num_docs=1000)
    state = random.getstate()
    segments = original_script_segments(data_file, tmp_path / "out.json", "--max_sequence_length",
                                        str(max_sequence_length))
    assert random.getstate() == state  # the script draws from its own generator
    assert segments == expected.segments and expected.documents_processed == 5
    assert not any("never" in segment for segment in segments)
    for segment in segments:
        assert len(segment) <= max_sequence_length
        split_segment(segment)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("num_docs", "max_sequence_length", "drop_final_blank_line"),
    [(300, 128, False), (10**6, 128, True), (10**6, 32, False)],
)
def test_original_matches_the_transcription_on_wikipedia(
    shared_data, tmp_path, num_docs, max_sequence_length, drop_final_blank_line
):
    data_file = shared_data / "wikipedia-sample" / "unlabeled.txt"
    if drop_final_blank_line:  # the last document is then closed by the end of the file, which the original ignores
        data_file = tmp_path / "unlabeled.txt"
        data_file.write_text((shared_data / "wikipedia-sample" / "unlabeled.txt").read_text().rstrip() + "\n")
    expected = transcribed_original(data_file, max_sequence_length, num_docs)
    segments = original_script_segments(data_file, tmp_path / "out.json", "--num-docs", str(num_docs),
                                        "--max-sequence-length", str(max_sequence_length))
    assert segments == expected.segments and len(segments) >= 100
    if num_docs > len(segments):  # every document closed by a blank line was processed; the one EOF closed, not
        assert expected.documents_processed == len(list(read_documents(data_file))) - drop_final_blank_line
    else:
        assert len(segments) == num_docs
    if max_sequence_length == 32:
        assert expected.cut_mid_document >= 1  # an empty side stopped a document before its end
    print(f"{len(segments)} segments from {expected.documents_processed} documents, {expected.cut_short} cut short "
          f"({expected.cut_mid_document} before their last sentence)")


def test_original_stops_reading_when_a_document_reaches_num_docs_exactly(shared_data, tmp_path):
    data_file = tmp_path / "unlabeled.txt"
    documents = list(read_documents(shared_data / "wikipedia-sample" / "unlabeled.txt"))[:6]
    data_file.write_text("".join("\n".join(document) + "\n\n" for document in documents), encoding="utf-8")
    per_document = transcribed_original(data_file, 128, num_docs=10**6).segments_per_document
    num_docs = sum(per_document[:3])  # the third document's last segment reaches the count: the fourth draws nothing
    expected = transcribed_original(data_file, 128, num_docs)
    segments = original_script_segments(data_file, tmp_path / "out.json", "--num-docs", str(num_docs))
    assert expected.documents_processed == 3 and len(segments) == num_docs >= 20
    assert segments == expected.segments


def test_original_drops_a_last_document_without_a_trailing_blank_line(tmp_path):
    data_file = tmp_path / "corpus.txt"
    data_file.write_text("The cat sat.\nThe dog ran.\n\nA bird sang.\nRed and blue.")
    segments = original_script_segments(data_file, tmp_path / "out.json")
    assert segments == [["[CLS]", "the", "cat", "sat", ".", "[SEP]", "the", "dog", "ran", ".", "[SEP]"]]


def test_original_stops_a_document_at_a_one_sentence_chunk(tmp_path):
    data_file = tmp_path / "corpus.txt"
    data_file.write_text("A lone sentence.\n\nThe cat sat.\nThe dog ran.\nA bird sang.\n\n")
    segments = original_script_segments(data_file, tmp_path / "out.json", "--max-sequence-length", "11")
    # max_num_tokens 8: the first two sentences fill a chunk; the third is a chunk alone, with B empty.
    assert segments == [["[CLS]", "the", "cat", "sat", ".", "[SEP]", "the", "dog", "ran", ".", "[SEP]"]]


def test_original_refuses_another_seed(tmp_path):
    data_file = tmp_path / "corpus.txt"
    data_file.write_text("The cat sat.\nThe dog ran.\n\n")
    error = input_error(preprocess_unlabeled.main, "--data-file", str(data_file), "--original", "--seed", "3")
    assert "--seed 3" in error and "--original" in error
    assert original_script_segments(data_file, tmp_path / "out.json", "--seed", "0")


def test_original_names_a_non_utf8_line(tmp_path):
    data_file = tmp_path / "latin1.txt"
    data_file.write_bytes(b"ok\n\ncaf\xe9\n")
    assert "latin1.txt: line 3: not UTF-8" in input_error(preprocess_unlabeled.main, "--data-file", str(data_file),
                                                          "--original")


def test_help_describes_original(capsys):
    with pytest.raises(SystemExit):
        preprocess_unlabeled.parse_args(["--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "--original reproduce the original script's segments exactly" in help_text
    assert "--outfile" in help_text
