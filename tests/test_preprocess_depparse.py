"""Tests for preprocess_depparse.py and preprocessing/depparse.py: treebanks -> {words, heads, relns} JSON."""

import json
import subprocess
from pathlib import Path

import pytest
from conftest import ROOT, assert_one_line_error, input_error, run_script

import preprocess_depparse
from preprocessing.depparse import parse_conll, parse_conllu

SAMPLE = ROOT / "data" / "sample" / "depparse"


def run_depparse(*args: str) -> subprocess.CompletedProcess:
    """Run preprocess_depparse.py from the repository root."""
    return run_script("preprocess_depparse.py", *args)


def to_conll_text(sentences: list[dict]) -> str:
    """The original `word head-reln` format, written independently of the code under test."""
    blocks = [
        "".join(f"{w} {h}-{r}\n" for w, h, r in zip(s["words"], s["heads"], s["relns"], strict=True)) for s in sentences
    ]
    return "\n".join(blocks) + "\n"


def source_roots(conllu: Path) -> list[int]:
    """Per sentence of a CoNLL-U file, the number of integer-id lines whose head column is 0 (a plain scan)."""
    counts = []
    for block in conllu.read_text(encoding="utf-8").split("\n\n"):
        rows = [line.split("\t") for line in block.split("\n") if line and not line.startswith("#")]
        if rows:
            counts.append(sum(row[0].isdigit() and row[6] == "0" for row in rows))
    return counts


def assert_valid_tree(sentence: dict) -> None:
    """One root labelled `root`, heads in [0, n], and every word reaches the root without a cycle."""
    heads = sentence["heads"]
    size = len(sentence["words"])
    assert len(heads) == len(sentence["relns"]) == size > 0
    assert heads.count(0) == 1
    assert all((head == 0) == (reln == "root") for head, reln in zip(heads, sentence["relns"], strict=True))
    for position in range(1, size + 1):
        seen = set()
        while position != 0:
            assert position not in seen and 1 <= position <= size, sentence["words"]
            seen.add(position)
            position = heads[position - 1]


# ------------------------------------------------------------------------------------------ UD English EWT


@pytest.fixture(scope="module")
def ewt(shared_data, tmp_path_factory) -> dict:
    """train and dev of UD English EWT converted by the script, with the source directory."""
    output_dir = tmp_path_factory.mktemp("ewt")
    source = shared_data / "ud-english-ewt"
    result = run_depparse("--data-dir", str(source), "--output-dir", str(output_dir), "--splits", "train", "dev")
    assert result.returncode == 0, result.stderr
    assert sorted(path.name for path in output_dir.iterdir()) == ["dev.json", "train.json"]
    splits = {
        split: json.loads((output_dir / f"{split}.json").read_text(encoding="utf-8")) for split in ("train", "dev")
    }
    return {"source": source, **splits}


def test_ewt_counts(ewt):
    assert len(ewt["train"]) == 12544
    assert len(ewt["dev"]) == 2001
    assert sum(len(sentence["words"]) for sentence in ewt["dev"]) == 25147
    assert sum(len(sentence["words"]) for sentence in ewt["train"]) == 204577
    assert {"nmod:poss", "obl:unmarked", "aux:pass"} <= {reln for sentence in ewt["dev"] for reln in sentence["relns"]}


@pytest.mark.parametrize("split", ["train", "dev"])
def test_ewt_heads_and_roots(ewt, split):
    roots = source_roots(ewt["source"] / f"{split}.conllu")
    assert len(roots) == len(ewt[split])
    for sentence, source_root_count in zip(ewt[split], roots, strict=True):
        size = len(sentence["words"])
        assert len(sentence["heads"]) == len(sentence["relns"]) == size
        assert all(0 <= head <= size for head in sentence["heads"])
        assert sentence["heads"].count(0) == source_root_count
    assert all(count == 1 for count in roots)


def test_ewt_keeps_sentence_ids(ewt):
    text = (ewt["source"] / "dev.conllu").read_text(encoding="utf-8")
    ids = [line.split("=", 1)[1].strip() for line in text.split("\n") if line.startswith("# sent_id")]
    assert [sentence["id"] for sentence in ewt["dev"]] == ids


def test_ewt_round_trip_through_the_text_format(ewt, tmp_path):
    (tmp_path / "dev.txt").write_text(to_conll_text(ewt["dev"]), encoding="utf-8")
    result = run_depparse("--data_dir", str(tmp_path), "--format", "conll")
    assert result.returncode == 0, result.stderr
    converted = json.loads((tmp_path / "dev.json").read_text(encoding="utf-8"))
    assert converted == [{key: value for key, value in s.items() if key != "id"} for s in ewt["dev"]]


# ------------------------------------------------------------------------------------------ formats


def test_conllu_skips_ranges_and_empty_nodes(tmp_path):
    path = tmp_path / "tiny.conllu"
    rows = [
        "# sent_id = first",
        "# text = I can't go.",
        "1\tI\tI\tPRON\t_\t_\t4\tnsubj\t_\t_",
        "2-3\tcan't\t_\t_\t_\t_\t_\t_\t_\t_",
        "2\tca\tcan\tAUX\t_\t_\t4\taux\t_\t_",
        "3\tn't\tnot\tPART\t_\t_\t4\tadvmod\t_\t_",
        "4\tgo\tgo\tVERB\t_\t_\t0\troot\t_\t_",
        "4.1\tgone\tgo\tVERB\t_\t_\t_\t_\t4:conj\t_",
        "5\t.\t.\tPUNCT\t_\t_\t4\tpunct\t_\t_",
        "",
        "1\tYes\tyes\tINTJ\t_\t_\t0\troot\t_\t_",
    ]
    path.write_text("\r\n".join(rows), encoding="utf-8")
    assert parse_conllu(path) == [
        {
            "id": "first",
            "words": ["I", "ca", "n't", "go", "."],
            "heads": [4, 4, 4, 0, 4],
            "relns": ["nsubj", "aux", "advmod", "root", "punct"],
        },
        {"words": ["Yes"], "heads": [0], "relns": ["root"]},
    ]


def test_conll_text_words_and_relations_with_dashes_and_colons(tmp_path):
    path = tmp_path / "tiny.txt"
    text = "well-known 2-amod\nauthor's 0-root\n\n\n-- 3-punct\nher 3-nmod:poss\ngo 0-root\r\nwait\x85 3-x-y"
    path.write_text(text, encoding="utf-8")
    assert parse_conll(path) == [
        {"words": ["well-known", "author's"], "heads": [2, 0], "relns": ["amod", "root"]},
        {
            "words": ["--", "her", "go", "wait\x85"],
            "heads": [3, 3, 0, 3],
            "relns": ["punct", "nmod:poss", "root", "x-y"],
        },
    ]


# ------------------------------------------------------------------------------------------ the bundled sample


@pytest.mark.parametrize(("split", "count"), [("train", 40), ("dev", 20)])
def test_sample_trees_are_valid(split, count):
    sentences = parse_conll(SAMPLE / f"{split}.txt")
    assert len(sentences) == count
    for sentence in sentences:
        assert_valid_tree(sentence)


def test_sample_through_the_script(tmp_path):
    result = run_depparse("--data-dir", str(SAMPLE), "--output_dir", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert json.loads((tmp_path / "train.json").read_text(encoding="utf-8")) == parse_conll(SAMPLE / "train.txt")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["dev.json", "train.json"]


# ------------------------------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    ("file_name", "content", "message"),
    [
        ("train.txt", b"the 2-det\ncat\n", "train.txt: line 2: malformed line"),
        ("train.txt", b"the 2-det\ncat x-root\n", "train.txt: line 2: malformed head"),
        ("dev.txt", b"the 2-det\ncat 0-root\n\na 3-det\nb 0-root\n", "dev.txt: line 4: head 3 is outside [0, 2]"),
        ("dev.txt", b"a 1-det\nb 0-root\n", "dev.txt: line 1: head 1 is the word's own position"),
        ("dev.txt", b"the 2-det\ncaf\xe9 0-root\n", "dev.txt: line 2: not UTF-8"),
        ("dev.conllu", b"1\ta\t_\t_\t_\t_\t0\troot\t_\n", "dev.conllu: line 1: malformed line"),
        (
            "dev.conllu",
            b"1\ta\t_\t_\t_\t_\t0\troot\t_\t_\n3\tb\t_\t_\t_\t_\t1\tdep\t_\t_\n",
            "line 2: malformed word id",
        ),
        ("dev.conllu", b"# c\n1\ta\t_\t_\t_\t_\t0\troot\t_\t_\n2\tb\t_\t_\t_\t_\t7\tdep\t_\t_\n", "line 3: head 7"),
    ],
)
def test_bad_input_names_file_and_line(tmp_path, file_name, content, message):
    (tmp_path / file_name).write_bytes(content)
    error = input_error(preprocess_depparse.main, "--data-dir", str(tmp_path))
    assert message in error and str(tmp_path) in error
    assert not list(tmp_path.glob("*.json"))


def test_missing_split_files_exit_2(tmp_path):
    (tmp_path / "README.md").write_text("no data here")
    error_line = assert_one_line_error(run_depparse("--data-dir", str(tmp_path)), "no split file found")
    assert "train.txt" in error_line and "dev.conllu" in error_line


def test_one_of_train_and_dev_is_enough_and_test_is_converted(tmp_path):
    (tmp_path / "dev.txt").write_text("a 0-root\n", encoding="utf-8")
    (tmp_path / "test.txt").write_text("b 0-root\n", encoding="utf-8")
    preprocess_depparse.main(["--data-dir", str(tmp_path)])
    assert json.loads((tmp_path / "test.json").read_text()) == [{"words": ["b"], "heads": [0], "relns": ["root"]}]
    assert not (tmp_path / "train.json").exists()


def test_auto_format_refuses_two_files_for_one_split(tmp_path):
    (tmp_path / "dev.txt").write_text("a 0-root\n", encoding="utf-8")
    (tmp_path / "dev.conllu").write_text("1\ta\t_\t_\t_\t_\t0\troot\t_\t_\n", encoding="utf-8")
    assert "--format" in input_error(preprocess_depparse.main, "--data-dir", str(tmp_path))
    preprocess_depparse.main(["--data-dir", str(tmp_path), "--format", "conllu"])
    assert json.loads((tmp_path / "dev.json").read_text()) == [{"words": ["a"], "heads": [0], "relns": ["root"]}]
