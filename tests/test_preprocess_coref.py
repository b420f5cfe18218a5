"""Tests for preprocess_coref.py and preprocessing/coref.py: CoNLL-U with `Entity=` coreference -> window JSON."""

import json
from collections import Counter
from pathlib import Path

import pytest
from conftest import ROOT, assert_one_line_error, input_error, run_script

import preprocess_coref
from bert.checkpoint import embedded_model_dir, open_tokenizer
from bert.model_tokenizer import ModelTokenizer
from preprocessing.coref import (
    Document,
    Mention,
    document_windows,
    head_word,
    mention_type,
    piece_counter,
    read_documents,
)

SAMPLE = ROOT / "data" / "sample" / "coref" / "sample.conllu"
EXAMPLE_KEYS = {"doc_id", "window", "words", "upos", "feats", "mentions"}
MENTION_KEYS = {"start", "end", "head", "entity", "type"}
TINY_VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "aa", "##aa", "b", "."]


def conllu(text: str) -> str:
    """CoNLL-U from rows written with single spaces between fields (comments and blank lines kept as they are)."""
    lines = [line.strip() for line in text.strip("\n").split("\n")]
    return "\n".join(line if line.startswith("#") else line.replace(" ", "\t") for line in lines) + "\n"


def write_conllu(directory: Path, text: str, name: str = "input.conllu") -> Path:
    """Write `conllu(text)` to `directory / name`; returns the path."""
    path = directory / name
    path.write_text(conllu(text), encoding="utf-8")
    return path


@pytest.fixture
def tiny_bert_dir(tmp_path) -> Path:
    """A model directory holding only a tiny vocab.txt: "aaaa" is 2 pieces, "aaaaaa" 3, "b" and "." 1 each."""
    directory = tmp_path / "tiny_model"
    directory.mkdir()
    (directory / "vocab.txt").write_text("\n".join(TINY_VOCAB) + "\n", encoding="utf-8")
    return directory


def run_main(tmp_path: Path, data_file: Path, bert_dir: Path, *args: str) -> list[dict]:
    """preprocess_coref.main in this process, written to tmp_path / out.json; returns the windows."""
    outfile = tmp_path / "out.json"
    preprocess_coref.main(["--data-file", str(data_file), "--bert-dir", str(bert_dir), "--outfile", str(outfile),
                           *args])
    return json.loads(outfile.read_text(encoding="utf-8"))


def anaphoric_counts(windows: list[dict]) -> Counter:
    """Per type, the mentions with an earlier-starting mention of the same entity in their window."""
    counts = Counter()
    for window in windows:
        for mention in window["mentions"]:
            earlier = [other for other in window["mentions"]
                       if other["entity"] == mention["entity"] and other["start"] < mention["start"]]
            counts[mention["type"]] += bool(earlier)
    return counts


# ------------------------------------------------------------------------------------------ mentions


NESTED = """
# newdoc id = d1
# text = Ann met her old friend Bob .
1 Ann Ann PROPN NNP Number=Sing 2 nsubj _ Entity=(1-person-new)
2 met meet VERB VBD _ 0 root _ Entity=(4)
3 her her PRON PRP$ Gender=Fem 5 nmod:poss _ Entity=(2-person-new(1-person-giv)
4 old old ADJ JJ _ 5 amod _ _
5 friend friend NOUN NN Number=Sing 2 obj _ _
6 Bob Bob PROPN NNP Number=Sing 5 appos _ Entity=(3-person-new)2)|SpaceAfter=No
7 . . PUNCT . _ 2 punct _ _
"""


def test_nesting_one_word_mentions_and_several_brackets_on_a_word(tmp_path, tiny_bert_dir):
    windows = run_main(tmp_path, write_conllu(tmp_path, NESTED), tiny_bert_dir)
    assert windows == [{
        "doc_id": "d1",
        "window": 0,
        "words": ["Ann", "met", "her", "old", "friend", "Bob", "."],
        "upos": ["PROPN", "VERB", "PRON", "ADJ", "NOUN", "PROPN", "PUNCT"],
        "feats": ["Number=Sing", "_", "Gender=Fem", "_", "Number=Sing", "Number=Sing", "_"],
        "mentions": [
            {"start": 0, "end": 1, "head": 0, "entity": "1", "type": "proper"},
            {"start": 1, "end": 2, "head": 1, "entity": "4", "type": "nominal"},
            {"start": 2, "end": 3, "head": 2, "entity": "1", "type": "pronoun"},
            {"start": 2, "end": 6, "head": 4, "entity": "2", "type": "nominal"},  # her -> friend, inside the span
            {"start": 5, "end": 6, "head": 5, "entity": "3", "type": "proper"},
        ],
    }]


def test_closers_take_the_most_recent_open_mention_of_their_entity(tmp_path):
    text = """
    1 the the DET _ _ 3 det _ Entity=(7-a
    2 big big ADJ _ _ 3 amod _ Entity=(8-b(7-c
    3 cat cat NOUN _ _ 0 root _ Entity=7)8)
    4 here here ADV _ _ 3 advmod _ Entity=7)
    """
    [document] = read_documents(write_conllu(tmp_path, text))
    # the first "7)" closes the mention opened on "big" (the most recent), the second the one opened on "the"
    assert document.mentions == [
        Mention(0, 4, 2, "7", "nominal"), Mention(1, 3, 2, "7", "nominal"), Mention(1, 3, 2, "8", "nominal")
    ]


def test_head_word_is_the_first_word_whose_head_is_outside():
    heads = [2, 4, 2, 0, 4]  # 1-based positions, 0 = root
    assert head_word(heads, 0, 2) == 1  # word 0's head (2) is inside [0, 2); word 1's head (4) is not
    assert head_word(heads, 0, 5) == 3  # only the root leaves the whole sentence
    assert head_word(heads, 2, 3) == 2  # a one-word span is its own head word
    assert head_word([2, 1, 0], 0, 2) is None  # a cycle: nothing leaves the span


@pytest.mark.parametrize(("upos", "expected"), [
    ("PRON", "pronoun"), ("PROPN", "proper"), ("NOUN", "nominal"), ("NUM", "nominal"), ("VERB", "nominal"),
    ("DET", "nominal"), ("X", "nominal"),
])
def test_types_follow_the_head_words_upos(upos, expected):
    assert mention_type(upos) == expected


def test_ranges_and_empty_nodes_are_skipped_and_a_file_without_newdoc_is_one_document(tmp_path):
    text = """
    # text = We can't go.
    1 We we PRON _ _ 4 nsubj _ Entity=(1-person-new)
    2-3 can't _ _ _ _ _ _ _ Entity=(9-junk
    2 ca can AUX _ _ 4 aux _ _
    3 n't not PART _ _ 4 advmod _ _
    3.1 gone _ _ _ _ _ _ _ Entity=9)
    4 go go VERB _ _ 0 root _ _
    5 . . PUNCT _ _ 4 punct _ _

    1 We we PRON _ _ 2 nsubj _ Entity=(1-person-giv)
    2 went go VERB _ _ 0 root _ _
    """
    [document] = read_documents(write_conllu(tmp_path, text, "no_newdoc.conllu"))
    assert document.doc_id == "no_newdoc"
    assert document.words == ["We", "ca", "n't", "go", ".", "We", "went"]
    assert document.sentence_starts == [0, 5]
    assert document.mentions == [Mention(0, 1, 0, "1", "pronoun"), Mention(5, 6, 5, "1", "pronoun")]


def test_a_mention_across_sentences_is_dropped_and_counted(tmp_path, tiny_bert_dir):
    text = """
    # newdoc id = d
    1 b b NOUN _ _ 0 root _ Entity=(1-x
    2 b b NOUN _ _ 1 dep _ Entity=(2-x)

    1 b b NOUN _ _ 0 root _ Entity=1)
    """
    [document] = read_documents(write_conllu(tmp_path, text))
    assert document.n_cross_sentence == 1
    assert document.mentions == [Mention(1, 2, 1, "2", "nominal")]


# ------------------------------------------------------------------------------------------ windows


# Tokens with the tiny vocab: sentence 1 "b b ." 3, sentence 2 "aaaa b" 3, sentence 3 three "aaaaaa" 9, sentence 4 1.
WINDOWED = """
# newdoc id = first
1 b b NOUN _ _ 0 root _ Entity=(1-x)
2 b b NOUN _ _ 1 dep _ _
3 . . PUNCT _ _ 1 punct _ _

1 aaaa aaaa NOUN _ _ 0 root _ Entity=(2-x
2 b b PROPN _ _ 1 dep _ Entity=(1-x)2)

1 aaaaaa aaaaaa NOUN _ _ 0 root _ Entity=(3-x)
2 aaaaaa aaaaaa NOUN _ _ 1 dep _ _
3 aaaaaa aaaaaa NOUN _ _ 1 dep _ _

1 b b PRON _ _ 0 root _ Entity=(3-x)
# newdoc id = second
1 b b NOUN _ _ 0 root _ Entity=(1-x)
"""


@pytest.mark.parametrize(("max_length", "expected_words"), [
    (10, [["b", "b", ".", "aaaa", "b"], ["aaaaaa"] * 3, ["b"], ["b"]]),  # 2+3+3 = 8 fits; 2+9 = 11 alone
    (8, [["b", "b", ".", "aaaa", "b"], ["aaaaaa"] * 3, ["b"], ["b"]]),  # exactly 8 still fits
    (7, [["b", "b", "."], ["aaaa", "b"], ["aaaaaa"] * 3, ["b"], ["b"]]),
    (14, [["b", "b", ".", "aaaa", "b"], ["aaaaaa"] * 3 + ["b"], ["b"]]),  # 2+9+1 = 12
    (17, [["b", "b", ".", "aaaa", "b", "aaaaaa", "aaaaaa", "aaaaaa"], ["b"], ["b"]]),  # 2+3+3+9 = 17; +1 > 17
])
def test_windows_pack_sentences_greedily(tmp_path, tiny_bert_dir, max_length, expected_words):
    windows = run_main(tmp_path, write_conllu(tmp_path, WINDOWED), tiny_bert_dir, "--max_sequence_length",
                       str(max_length))
    assert [window["words"] for window in windows] == expected_words
    assert [window["doc_id"] for window in windows] == ["first"] * (len(expected_words) - 1) + ["second"]
    assert [window["window"] for window in windows] == [*range(len(expected_words) - 1), 0]


def test_mentions_are_reindexed_to_their_window(tmp_path, tiny_bert_dir):
    windows = run_main(tmp_path, write_conllu(tmp_path, WINDOWED), tiny_bert_dir, "--max-sequence-length", "10")
    assert [window["mentions"] for window in windows] == [
        [
            {"start": 0, "end": 1, "head": 0, "entity": "1", "type": "nominal"},
            {"start": 3, "end": 5, "head": 3, "entity": "2", "type": "nominal"},
            {"start": 4, "end": 5, "head": 4, "entity": "1", "type": "proper"},
        ],
        [{"start": 0, "end": 1, "head": 0, "entity": "3", "type": "nominal"}],
        [{"start": 0, "end": 1, "head": 0, "entity": "3", "type": "pronoun"}],
        [{"start": 0, "end": 1, "head": 0, "entity": "1", "type": "nominal"}],
    ]


def test_a_sentence_too_long_alone_forms_its_own_window(tmp_path, tiny_bert_dir):
    windows = run_main(tmp_path, write_conllu(tmp_path, WINDOWED), tiny_bert_dir, "--max-sequence-length", "4")
    assert [window["words"] for window in windows] == [
        ["b", "b", "."], ["aaaa", "b"], ["aaaaaa"] * 3, ["b"], ["b"]
    ]


def test_first_window_only(tmp_path, tiny_bert_dir):
    windows = run_main(tmp_path, write_conllu(tmp_path, WINDOWED), tiny_bert_dir, "--max-sequence-length", "7",
                       "--first-window-only")
    assert [(window["doc_id"], window["window"], window["words"]) for window in windows] == [
        ("first", 0, ["b", "b", "."]), ("second", 0, ["b"])
    ]


def test_a_mention_crossing_a_window_border_is_dropped():
    document = Document("d", words=["b", "b", "b"], upos=["NOUN"] * 3, feats=["_"] * 3, sentence_starts=[0, 2],
                        mentions=[Mention(0, 1, 0, "1", "nominal"), Mention(1, 3, 1, "2", "nominal")])
    windows, n_dropped = document_windows(document, lambda word: 1, max_sequence_length=4)
    assert [window["words"] for window in windows] == [["b", "b"], ["b"]]
    assert [window["mentions"] for window in windows] == [
        [{"start": 0, "end": 1, "head": 0, "entity": "1", "type": "nominal"}], []
    ]
    assert n_dropped == 1
    assert document_windows(document, lambda word: 1, max_sequence_length=5) == (
        [{"doc_id": "d", "window": 0, "words": ["b", "b", "b"], "upos": ["NOUN"] * 3, "feats": ["_"] * 3,
          "mentions": [{"start": 0, "end": 1, "head": 0, "entity": "1", "type": "nominal"},
                       {"start": 1, "end": 3, "head": 1, "entity": "2", "type": "nominal"}]}],
        0,
    )


def test_pieces_are_counted_per_word_with_the_models_tokenizer(tiny_bert_dir):
    count_pieces = piece_counter(open_tokenizer(tiny_bert_dir))
    assert [count_pieces(word) for word in ["aaaa", "AAAAAA", "b", "aab.", "zz"]] == [2, 3, 1, 2, 1]


# ------------------------------------------------------------------------------------------ bad input

GOOD_WORD = "1 a a NOUN _ _ 0 root _ _"


@pytest.mark.parametrize(("content", "message"), [
    (conllu("1 a a NOUN _ _ 0 root _ Entity=(1-x)\n2 b b NOUN _ _ 1 dep _ Entity=3)"),
     "line 2: unbalanced Entity brackets: '3)'"),
    (conllu("# newdoc id = d1\n1 a a NOUN _ _ 0 root _ Entity=(1-x\n# newdoc id = d2\n" + GOOD_WORD),
     "line 2: unbalanced Entity brackets: the mention of entity 1 opened here is never closed in document 'd1'"),
    (conllu(GOOD_WORD + "\n\n1 a a NOUN _ _ 0 root _ Entity=(5-x(1-x)"), "line 3: unbalanced"),
    (conllu(GOOD_WORD + "\n2 a a NOUN _ _ 1 dep _ Entity=(e1-person-new)"), "line 2: Entity bracket id 'e1'"),
    (conllu("1 a a NOUN _ _ 0 root _ Entity=(1-x\n2 b b NOUN _ _ 1 dep _ Entity=x1)"),
     "line 2: Entity bracket id 'x1' is not a number"),
    (conllu("1 a a NOUN _ _ 0 root _ Entity=(1-x\n2 b b NOUN _ _ 1 dep _ Entity=1"), "line 2: malformed Entity"),
    (conllu("1 a a NOUN _ _ 0 root _ Entity=(1[1/2]-x)"), "line 1: discontinuous mentions"),
    (conllu("# c\n1 a a NOUN _ _ 0 root _ _\n2 b b NOUN _ _ 3 dep _ _"), "line 3: head 3 is outside [0, 2]"),
    (conllu("1 a a NOUN _ _ 0 root _ _\n2 b b NOUN _ _ 2 dep _ _"), "line 2: head 2 is the word's own position"),
    (conllu("1 a a NOUN _ _ 0 root _ _\n2 b b NOUN _ _ x dep _ _"), "line 2: malformed head 'x'"),
    (conllu("1 a a NOUN _ _ 0 root _ _\n3 b b NOUN _ _ 1 dep _ _"), "line 2: malformed word id '3'"),
    ("1\ta\ta\tNOUN\t_\t_\t0\troot\t_\n", "line 1: malformed line (expected 10 tab-separated fields, got 9)"),
    (conllu("1 a a NOUN _ _ 0 root _ _\n") + "2\tb\n", "line 2: malformed line"),
    (conllu("1 a a NOUN _ _ 2 dep _ Entity=(1-x\n2 b b NOUN _ _ 1 dep _ Entity=1)\n3 c c NOUN _ _ 0 root _ _"),
     "line 1: no word of the mention of entity 1 has its head outside it"),
])
def test_bad_input_names_file_and_line(tmp_path, tiny_bert_dir, content, message):
    path = tmp_path / "bad.conllu"
    path.write_text(content, encoding="utf-8")
    error = input_error(preprocess_coref.main, "--data-file", str(path), "--bert-dir", str(tiny_bert_dir))
    assert f"{path}: " in error and message in error
    assert not list(tmp_path.glob("*.json"))


def test_non_utf8_names_file_and_line(tmp_path, tiny_bert_dir):
    path = tmp_path / "bad.conllu"
    path.write_bytes(conllu(GOOD_WORD).encode() + b"2\tcaf\xe9\t_\tNOUN\t_\t_\t1\tdep\t_\t_\n")
    error = input_error(preprocess_coref.main, "--data-file", str(path), "--bert-dir", str(tiny_bert_dir))
    assert f"{path}: line 2: not UTF-8" in error
    assert not list(tmp_path.glob("*.json"))


def test_the_output_never_replaces_the_input(tmp_path, tiny_bert_dir):
    path = tmp_path / "data.json"
    path.write_text(conllu(GOOD_WORD), encoding="utf-8")
    error = input_error(preprocess_coref.main, "--data-file", str(path), "--bert-dir", str(tiny_bert_dir))
    assert "would overwrite the input" in error
    assert path.read_text(encoding="utf-8") == conllu(GOOD_WORD)


def test_default_outfile_is_the_input_with_json(tmp_path, tiny_bert_dir):
    path = write_conllu(tmp_path, GOOD_WORD, "tiny.conllu")
    preprocess_coref.main(["--data_file", str(path), "--bert_dir", str(tiny_bert_dir)])
    assert json.loads((tmp_path / "tiny.json").read_text(encoding="utf-8"))[0]["words"] == ["a"]


def test_unbalanced_input_is_one_line_and_exit_2(tmp_path):
    path = write_conllu(tmp_path, "1 a a NOUN _ _ 0 root _ Entity=2)")
    result = run_script("preprocess_coref.py", "--data-file", str(path))
    assert_one_line_error(result, str(path), "line 1", "unbalanced")
    assert not list(tmp_path.glob("*.json"))


# ------------------------------------------------------------------------------------------ the bundled sample


@pytest.fixture(scope="module")
def sample_windows(tmp_path_factory) -> list[dict]:
    """The bundled sample through the script with the embedded model's tokenizer."""
    outfile = tmp_path_factory.mktemp("sample") / "sample.json"
    result = run_script("preprocess_coref.py", "--data-file", str(SAMPLE), "--outfile", str(outfile))
    assert result.returncode == 0, result.stderr
    assert "5 documents, 5 windows" in result.stderr.splitlines()[-1]
    return json.loads(outfile.read_text(encoding="utf-8"))


def test_sample_format(sample_windows):
    assert len(sample_windows) == 5
    for window in sample_windows:
        assert set(window) == EXAMPLE_KEYS
        size = len(window["words"])
        assert len(window["upos"]) == len(window["feats"]) == size
        assert all(set(mention) == MENTION_KEYS for mention in window["mentions"])
        assert all(0 <= m["start"] <= m["head"] < m["end"] <= size for m in window["mentions"])
        assert window["mentions"] == sorted(window["mentions"], key=lambda mention: (mention["start"], mention["end"]))


def test_sample_has_five_anaphoric_mentions_of_each_type(sample_windows):
    counts = anaphoric_counts(sample_windows)
    assert min(counts[name] for name in ("pronoun", "proper", "nominal")) >= 5, counts


def test_sample_trees_and_brackets_are_valid():
    blocks = [block for block in SAMPLE.read_text(encoding="utf-8").split("\n\n") if block.strip()]
    for block in blocks:
        rows = [line.split("\t") for line in block.split("\n") if line and not line.startswith("#")]
        words = [row for row in rows if row[0].isdigit()]
        heads = [int(row[6]) for row in words]
        assert all(len(row) == 10 for row in rows) and heads.count(0) == 1
        for position in range(1, len(words) + 1):
            seen = set()
            while position != 0:
                assert position not in seen and 1 <= position <= len(words), block
                seen.add(position)
                position = heads[position - 1]
        entities = "".join(row[9] for row in words)
        assert entities.count("(") == entities.count(")"), block


# ------------------------------------------------------------------------------------------ GUM


def plain_gum_documents(path: Path) -> list[dict]:
    """Per document of a GUM file, read with plain string operations: its sentences (lists of word forms) and the
    number of `(` in the Entity values of its words (one per mention opened)."""
    documents = []
    for line in path.read_text(encoding="utf-8").split("\n"):
        if line.startswith("# newdoc id"):
            documents.append({"sentences": [[]], "openings": 0})
        elif not line:
            documents[-1]["sentences"].append([])
        elif not line.startswith("#"):
            columns = line.split("\t")
            if columns[0].isdigit():
                documents[-1]["sentences"][-1].append(columns[1])
                entity = [item for item in columns[9].split("|") if item.startswith("Entity=")]
                documents[-1]["openings"] += entity[0].count("(") if entity else 0
    for document in documents:
        document["sentences"] = [sentence for sentence in document["sentences"] if sentence]
    return documents


def plain_windows(sentences: list[list[str]], tokenizer: ModelTokenizer, max_length: int = 128) -> list[list[str]]:
    """Words of each window: sentences added while [CLS] + pieces + [SEP] fit, written out plainly."""
    windows, current, length = [], [], 2
    for sentence in sentences:
        pieces = sum(len(tokenizer.tokenize(word)) for word in sentence)
        if current and length + pieces > max_length:
            windows.append(current)
            current, length = [], 2
        current = current + sentence
        length += pieces
    return [*windows, current]


@pytest.fixture(scope="module")
def gum_dev(shared_data, tmp_path_factory) -> dict:
    """GUM dev through preprocess_coref.main (embedded tokenizer), with the plain reading of the raw file."""
    source = shared_data / "gum-coref" / "dev.conllu"
    if not source.is_file():
        pytest.skip(f"{source} not found")
    outfile = tmp_path_factory.mktemp("gum") / "dev.json"
    preprocess_coref.main(["--data-file", str(source), "--outfile", str(outfile)])
    return {"windows": json.loads(outfile.read_text(encoding="utf-8")), "plain": plain_gum_documents(source),
            "documents": read_documents(source)}


def test_gum_dev_documents_and_mention_counts(gum_dev):
    windows, plain = gum_dev["windows"], gum_dev["plain"]
    assert len(plain) == len(gum_dev["documents"]) == 19
    assert len({window["doc_id"] for window in windows}) == 19
    dropped = sum(document.n_cross_sentence for document in gum_dev["documents"])
    assert sum(len(window["mentions"]) for window in windows) == sum(doc["openings"] for doc in plain) - dropped
    doc_ids = list(dict.fromkeys(window["doc_id"] for window in windows))
    for doc_id, document, parsed in zip(doc_ids, plain, gum_dev["documents"], strict=True):
        in_document = sum(len(window["mentions"]) for window in windows if window["doc_id"] == doc_id)
        assert in_document == document["openings"] - parsed.n_cross_sentence


def test_gum_dev_heads_lie_inside_their_mentions(gum_dev):
    for window in gum_dev["windows"]:
        for mention in window["mentions"]:
            assert mention["start"] <= mention["head"] < mention["end"] <= len(window["words"])
            expected_type = {"PRON": "pronoun", "PROPN": "proper"}.get(window["upos"][mention["head"]], "nominal")
            assert mention["type"] == expected_type


def test_gum_dev_windows_match_a_plain_packing(gum_dev):
    tokenizer = open_tokenizer(embedded_model_dir())
    expected = [words for document in gum_dev["plain"] for words in plain_windows(document["sentences"], tokenizer)]
    assert [window["words"] for window in gum_dev["windows"]] == expected
