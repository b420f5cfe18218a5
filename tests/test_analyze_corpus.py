"""`analyze_corpus.py`: streaming (text in, statistics out) and Ray Data give the file-based chain's outputs on the
Wikipedia sample, UD EWT dev and GUM dev subsets; a killed run resumes to the same result; an actor that dies is
retried without changing it; bad input is one line before any work."""

import json
import math
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, assert_one_line_error, input_error, run_script

import analyze_corpus
import coref_analysis
import extract_attention
import general_analysis
import head_distances
import preprocess_coref
import preprocess_depparse
import syntax_analysis
import utils

pytestmark = pytest.mark.slow
SHARD_SIZE = 8  # small shards, so that a few dozen examples make several; the file chain uses it as --shard-size
IGNORED_KEYS = {"run", "source"}  # where each output says how and from what it was made
EMBEDDING_TOLERANCE = 1e-9  # "mds": an iterative embedding of distances equal to 1e-12 moves by about 1e-14


def assert_same_numbers(actual: object, expected: object, path: str = "") -> None:
    """Equal JSON values, numbers to 1e-12 relative (exactly for integers), the IGNORED_KEYS left out."""
    if isinstance(expected, dict):
        assert set(actual) - IGNORED_KEYS == set(expected) - IGNORED_KEYS, path
        for key in set(expected) - IGNORED_KEYS:
            assert_same_numbers(actual[key], expected[key], f"{path}/{key}")
    elif isinstance(expected, list):
        assert len(actual) == len(expected), path
        for position, (left, right) in enumerate(zip(actual, expected, strict=True)):
            assert_same_numbers(left, right, f"{path}[{position}]")
    elif isinstance(expected, float) and path.startswith("/mds"):
        assert math.isclose(actual, expected, rel_tol=0, abs_tol=EMBEDDING_TOLERANCE), (path, actual, expected)
    elif isinstance(expected, float) and not isinstance(actual, bool):
        assert math.isclose(actual, expected, rel_tol=1e-12, abs_tol=1e-300), (path, actual, expected)
    else:
        assert actual == expected, path


def page_data(page: str) -> dict:
    """The JSON data inside a report page."""
    return json.loads(re.search(r'<script type="application/json" id="report-data">(.*?)</script>', page, re.S)[1])


def first_blocks(text: str, separator: str, count: int) -> str:
    """The first `count` blocks of `text` that start at lines beginning with `separator`."""
    starts = [position for position, line in enumerate(text.splitlines()) if line.startswith(separator)]
    return "\n".join(text.splitlines()[: starts[count]]) + "\n" if len(starts) > count else text


@pytest.fixture(scope="module")
def wikipedia_text(shared_data, tmp_path_factory) -> Path:
    """The first documents of the Wikipedia sample, as raw text."""
    text = (shared_data / "wikipedia-sample" / "unlabeled.txt").read_text(encoding="utf-8")
    path = tmp_path_factory.mktemp("wikipedia") / "sample.txt"
    path.write_text("\n\n".join(text.split("\n\n")[:12]) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def general_chain(wikipedia_text) -> Path:
    """The file-based chain on the Wikipedia text: segments, maps, head distances, general analysis."""
    directory = wikipedia_text.parent
    assert run_script("preprocess_unlabeled.py", "--data-file", str(wikipedia_text), "--num-docs", "30").returncode == 0
    examples = directory / "sample.json"
    extract_attention.main(["--preprocessed-data-file", str(examples), "--shard-size", str(SHARD_SIZE)])
    head_distances.main(["--attn-data-file", str(directory / "sample_attn.pkl"),
                         "--outfile", str(directory / "head_distances.pkl")])
    general_analysis.main(["--attn-data-file", str(directory / "sample_attn.pkl"), "--head-distances",
                           str(directory / "head_distances.pkl"), "--outdir", str(directory / "general")])
    return directory


def stream(data_file: Path, outdir: Path, *options: str) -> Path:
    """Run analyze_corpus.py in this process with small shards; returns OUTDIR."""
    analyze_corpus.main(["--data-file", str(data_file), "--outdir", str(outdir), "--shard-size", str(SHARD_SIZE),
                         *options])
    return outdir


def assert_general_equal(outdir: Path, chain: Path) -> None:
    """The streamed general.json and head distances equal the file chain's."""
    assert_same_numbers(utils.read_json(outdir / "general.json"), utils.read_json(chain / "general" / "general.json"))
    streamed, expected = (utils.read_pickle(path) for path in (outdir / "head_distances.pkl",
                                                               chain / "head_distances.pkl"))
    np.testing.assert_allclose(streamed, expected, rtol=1e-12, atol=0)


def test_streaming_general_equals_the_file_chain(wikipedia_text, general_chain, tmp_path):
    outdir = stream(wikipedia_text, tmp_path / "out", "--num-docs", "30")
    assert_general_equal(outdir, general_chain)
    assert sorted(path.name for path in (outdir / "partials").glob("part-*.pkl")) == [
        f"part-{number:05d}.pkl" for number in range(math.ceil(30 / SHARD_SIZE))]
    later = utils.read_pickle(outdir / "partials" / "part-00001.pkl")  # the shown examples all lie in shard 0
    assert later["shown"]["shown"] is None and later["page_examples"]["candidates"] == []
    assert later["statistics"]["n_examples"] == later["page_examples"]["n_seen"] == SHARD_SIZE
    streamed_view, chain_view = (page_data((path / "report.html").read_text())["head_view"]
                                 for path in (outdir, general_chain / "general"))
    assert streamed_view == chain_view and "of 30 examples" in streamed_view["note"]
    assert {"figure2_token_attention.png", "figure6_head_embedding.png", "report.html", "general.md"} <= {
        path.name for path in outdir.iterdir()}
    record = utils.read_json(outdir / "general.json")["run"]
    assert record["options"]["engine"] == "local" and record["inputs"]["data_file"]["path"] == str(wikipedia_text)


def test_head_distances_over_the_first_examples(wikipedia_text, general_chain, tmp_path):
    from analysis.general.head_distances import HeadDistances

    outdir = stream(wikipedia_text, tmp_path / "out", "--num-docs", "30", "--distance-examples", "10", "--no-html")
    expected = HeadDistances((6, 12))
    for example in utils.read_examples(general_chain / "sample_attn.pkl")[:10]:
        expected.update(example["attns"])
    np.testing.assert_allclose(utils.read_pickle(outdir / "head_distances.pkl"), expected.result(), rtol=1e-12, atol=0)
    assert utils.read_json(outdir / "general.json")["n_examples"] == 30


def test_examples_json_gives_the_same_as_raw_text(wikipedia_text, general_chain, tmp_path):
    outdir = stream(general_chain / "sample.json", tmp_path / "out")
    assert_general_equal(outdir, general_chain)


def test_killed_run_resumes_to_the_same_result(wikipedia_text, general_chain, tmp_path):
    outdir = tmp_path / "out"
    command = [sys.executable, "analyze_corpus.py", "--data-file", str(wikipedia_text), "--outdir", str(outdir),
               "--shard-size", str(SHARD_SIZE), "--num-docs", "30"]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    first = outdir / "partials" / "part-00000.pkl"
    deadline = time.monotonic() + 300
    while not first.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert first.exists() and not (outdir / "general.json").exists()
    kept = {path.name: path.stat().st_mtime_ns for path in (outdir / "partials").glob("part-*.pkl")}
    stream(wikipedia_text, outdir, "--num-docs", "30")
    assert all((outdir / "partials" / name).stat().st_mtime_ns == mtime for name, mtime in kept.items())
    assert_general_equal(outdir, general_chain)


def test_a_damaged_partial_is_recomputed(wikipedia_text, general_chain, tmp_path, capsys):
    outdir = stream(wikipedia_text, tmp_path / "out", "--num-docs", "30")
    manifest = utils.read_json(outdir / "partials" / "manifest.json")
    assert sorted(manifest["sha256"]) == ["0", "1", "2", "3"]
    damaged, truncated = outdir / "partials" / "part-00001.pkl", outdir / "partials" / "part-00002.pkl"
    data = bytearray(damaged.read_bytes())
    data[len(data) // 2] ^= 0xFF  # a flipped byte still unpickles, into wrong numbers
    damaged.write_bytes(bytes(data))
    truncated.write_bytes(truncated.read_bytes()[:100])
    intact = (outdir / "partials" / "part-00000.pkl").stat().st_mtime_ns
    capsys.readouterr()
    stream(wikipedia_text, outdir, "--num-docs", "30")
    notes = capsys.readouterr().err
    assert f"{damaged}: damaged" in notes and "recomputing shard 1" in notes and "recomputing shard 2" in notes
    assert "recomputing shard 0" not in notes
    assert (outdir / "partials" / "part-00000.pkl").stat().st_mtime_ns == intact
    assert utils.read_json(outdir / "partials" / "manifest.json")["sha256"] == manifest["sha256"]
    assert_general_equal(outdir, general_chain)


@pytest.fixture(scope="module")
def ewt_dev(shared_data, tmp_path_factory) -> Path:
    """The first 40 sentences of UD EWT dev, as preprocess_depparse.py writes them."""
    directory = tmp_path_factory.mktemp("ewt")
    text = (shared_data / "ud-english-ewt" / "dev.conllu").read_text(encoding="utf-8")
    (directory / "dev.conllu").write_text("\n\n".join(text.split("\n\n")[:40]) + "\n\n", encoding="utf-8")
    preprocess_depparse.main(["--data-dir", str(directory), "--splits", "dev"])
    return directory / "dev.json"


def test_streaming_syntax_equals_the_file_chain(ewt_dev, tmp_path):
    extract_attention.main(["--preprocessed-data-file", str(ewt_dev), "--word_level", "--shard-size",
                            str(SHARD_SIZE), "--outfile", str(tmp_path / "dev_attn.pkl")])
    syntax_analysis.main(["--attn-data-file", str(tmp_path / "dev_attn.pkl"), "--min-count", "5",
                          "--outdir", str(tmp_path / "chain")])
    outdir = stream(ewt_dev, tmp_path / "out", "--min-count", "5")
    expected = utils.read_json(tmp_path / "chain" / "syntax.json")
    assert len(expected["table"]) > 5
    assert_same_numbers(utils.read_json(outdir / "syntax.json"), expected)


@pytest.fixture(scope="module")
def gum_dev(shared_data, tmp_path_factory) -> Path:
    """The first three documents of GUM dev, as preprocess_coref.py writes them."""
    directory = tmp_path_factory.mktemp("gum")
    text = (shared_data / "gum-coref" / "dev.conllu").read_text(encoding="utf-8")
    (directory / "dev.conllu").write_text(first_blocks(text, "# newdoc", 3), encoding="utf-8")
    preprocess_coref.main(["--data-file", str(directory / "dev.conllu"), "--outfile", str(directory / "dev.json")])
    return directory / "dev.json"


def test_streaming_coref_equals_the_file_chain(gum_dev, tmp_path):
    extract_attention.main(["--preprocessed-data-file", str(gum_dev), "--word_level", "--shard-size",
                            str(SHARD_SIZE), "--outfile", str(tmp_path / "dev_attn.pkl")])
    coref_analysis.main(["--attn-data-file", str(tmp_path / "dev_attn.pkl"), "--outdir", str(tmp_path / "chain")])
    outdir = stream(gum_dev, tmp_path / "out")
    expected = utils.read_json(tmp_path / "chain" / "coref.json")
    assert expected["n_mentions"] > 50
    assert_same_numbers(utils.read_json(outdir / "coref.json"), expected)


# ---------------------------------------------------------------------------- Ray Data


class ActorDyingOnce:
    """Stands in for ray_engine.ShardWorker: the first call in the whole run kills its actor's process (the file
    `marker`, set before the run, says it happened), later calls work. Sent to the actors by value."""

    marker = ""

    def __init__(self, *args) -> None:
        from analysis.engines.ray_engine import ShardWorker

        self.worker = ShardWorker(*args)

    def __call__(self, batch: dict) -> dict:
        marker = Path(self.marker)
        if not marker.exists():
            marker.write_text("died")
            os._exit(1)
        return self.worker(batch)


@pytest.fixture(scope="module")
def ray_cluster():
    """One local two-worker Ray cluster for this module's tests, shut down after them."""
    pytest.importorskip("ray")
    import ray

    from analysis.engines.ray_engine import RaySettings, connect

    connect(RaySettings(workers=2))
    yield ray
    ray.shutdown()


def test_ray_general_equals_the_file_chain(ray_cluster, wikipedia_text, general_chain, tmp_path):
    outdir = stream(wikipedia_text, tmp_path / "out", "--num-docs", "30", "--engine", "ray", "--workers", "2")
    assert_general_equal(outdir, general_chain)


def test_ray_syntax_with_a_dying_actor_equals_the_file_chain(ray_cluster, ewt_dev, tmp_path, monkeypatch):
    import ray.cloudpickle

    from analysis.engines import ray_engine

    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    monkeypatch.setattr(ActorDyingOnce, "marker", str(tmp_path / "died"))  # the actors share this machine's files
    monkeypatch.setattr(ray_engine, "ShardWorker", ActorDyingOnce)
    extract_attention.main(["--preprocessed-data-file", str(ewt_dev), "--word_level", "--shard-size",
                            str(SHARD_SIZE), "--outfile", str(tmp_path / "dev_attn.pkl")])
    syntax_analysis.main(["--attn-data-file", str(tmp_path / "dev_attn.pkl"), "--min-count", "5",
                          "--outdir", str(tmp_path / "chain")])
    outdir = stream(ewt_dev, tmp_path / "out", "--min-count", "5", "--engine", "ray")
    assert (tmp_path / "died").exists()
    assert_same_numbers(utils.read_json(outdir / "syntax.json"), utils.read_json(tmp_path / "chain" / "syntax.json"))


# ---------------------------------------------------------------------------- bad input


def test_bad_inputs_are_one_line_before_any_work(ewt_dev, tmp_path):
    examples = json.loads(ewt_dev.read_text())
    examples[3]["heads"][0] = 99
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(examples))
    message = input_error(analyze_corpus.main, "--data-file", str(bad), "--outdir", str(tmp_path / "out"))
    assert "bad.json" in message and "example 3" in message and "heads" in message
    assert not (tmp_path / "out" / "partials").exists()
    stream(ewt_dev, tmp_path / "other", "--min-count", "5")
    message = input_error(analyze_corpus.main, "--data-file", str(ewt_dev), "--outdir", str(tmp_path / "other"),
                          "--shard-size", "4")
    assert "partials of another input or other options" in message
    result = run_script("analyze_corpus.py", "--data-file", str(ewt_dev), "--engine", "spark")
    assert_one_line_error(result, "--engine")
    unused_port = socket.socket()
    unused_port.bind(("127.0.0.1", 0))  # bound, never listening: a connection is refused at once
    address = f"127.0.0.1:{unused_port.getsockname()[1]}"
    message = input_error(analyze_corpus.main, "--data-file", str(ewt_dev), "--engine", "ray", "--address", address,
                          "--outdir", str(tmp_path / "ray"))
    unused_port.close()
    assert f"--address {address}: no Ray cluster could be reached" in message and not (tmp_path / "ray").exists()
