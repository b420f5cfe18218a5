"""Tests for preprocess_unlabeled.py and preprocessing/unlabeled.py: BERT-style segments from raw text."""

import json
import subprocess

import numpy as np
import pytest
from conftest import ROOT, assert_one_line_error, input_error, run_script

import preprocess_unlabeled
from preprocessing.unlabeled import build_segments, document_segments, read_documents, truncated_lengths
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
    with pytest.raises(InputError, match="at least 5"):
        build_segments([[["a", "b"]]], 4, num_segments=1)


# ------------------------------------------------------------------------------------------ reading


def test_read_documents_keeps_the_last_document_without_a_trailing_blank_line(tmp_path):
    path = tmp_path / "text.txt"
    path.write_bytes(b"One.\r\nTwo.\n\n\n  \nThree.\n\nFour.\nFive.")
    assert list(read_documents(path)) == [["One.", "Two."], ["Three."], ["Four.", "Five."]]


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
