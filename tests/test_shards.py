"""extract_attention.py --output-dir: the shard directory holds what the single pickle holds, and resumes."""

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, assert_one_line_error

from utils import LOCK_FILE, SHARD_MANIFEST, read_examples

pytestmark = pytest.mark.slow  # runs extractions in child processes


def sample_examples(count: int) -> list[dict]:
    """Sentences of varied length, some too long to keep."""
    words = ["the", "model", "reads", "every", "sentence", "and", "attends", "to", "some", "words", "more", "than",
             "to", "others"]
    return [{"text": " ".join(words[: 2 + (7 * index) % 15]), "id": index} for index in range(count)]


def extraction_command(input_path: Path, *output: str) -> list[str]:
    return [sys.executable, "extract_attention.py", "--preprocessed-data-file", str(input_path), "--debug",
            "--chunk-size", "5", "--batch-size", "3", "--max_sequence_length", "14", *output]


def assert_same_examples(actual: list[dict], expected: list[dict]) -> None:
    assert len(actual) == len(expected)
    for got, want in zip(actual, expected, strict=True):
        assert got.keys() == want.keys()
        for key in want:
            if key == "attns":
                np.testing.assert_array_equal(got[key], want[key])
            else:
                assert got[key] == want[key]


def test_shards_equal_single_pickle_and_resume_after_kill(tmp_path):
    input_path = tmp_path / "examples.json"
    input_path.write_text(json.dumps(sample_examples(120)))
    single = tmp_path / "single.pkl"
    subprocess.run(extraction_command(input_path, "--outfile", str(single)), cwd=ROOT, check=True, capture_output=True)
    expected = read_examples(single)
    assert any("skipped" in example for example in expected)

    shards = tmp_path / "shards"
    process = subprocess.Popen(extraction_command(input_path, "--output-dir", str(shards)), cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    manifest = shards / SHARD_MANIFEST
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and process.poll() is None:
        if manifest.exists() and len(json.loads(manifest.read_text())["shards"]) >= 2:
            process.send_signal(signal.SIGKILL)
            break
        time.sleep(0.01)
    assert process.wait() == -signal.SIGKILL, "extraction finished before it could be interrupted"
    interrupted = json.loads(manifest.read_text())
    assert not interrupted["complete"] and len(interrupted["shards"]) < 24

    stale = shards / ".part-00002.pkl.k1ll3d.tmp"  # what a write killed midway leaves
    stale.write_bytes(b"partial")
    subprocess.run(extraction_command(input_path, "--output-dir", str(shards)), cwd=ROOT, check=True,
                   capture_output=True)
    assert not stale.exists()
    resumed = json.loads(manifest.read_text())
    assert resumed["complete"] and len(resumed["shards"]) == 24
    assert resumed["shards"][: len(interrupted["shards"])] == interrupted["shards"]
    assert resumed["run"]["script"] == "extract_attention.py" and resumed["run"]["model"]["debug"]
    assert_same_examples(read_examples(shards), expected)
    assert sorted(path.name for path in shards.iterdir()) == lone_run_files(24)


def lone_run_files(n_shards: int) -> list[str]:
    """The sorted file names of a complete shard directory of `n_shards` shards."""
    return sorted([LOCK_FILE, SHARD_MANIFEST, *(f"part-{i:05d}.pkl" for i in range(n_shards))])


def test_a_second_writer_is_refused_while_the_first_runs(tmp_path):
    input_path = tmp_path / "examples.json"
    input_path.write_text(json.dumps(sample_examples(120)))
    single = tmp_path / "single.pkl"
    subprocess.run(extraction_command(input_path, "--outfile", str(single)), cwd=ROOT, check=True, capture_output=True)
    shards = tmp_path / "shards"
    first = subprocess.Popen(extraction_command(input_path, "--output-dir", str(shards)), cwd=ROOT,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while not (shards / SHARD_MANIFEST).exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    first.send_signal(signal.SIGSTOP)  # paused mid-run, holding the directory
    try:
        assert first.poll() is None, "the first writer ended before the second started"
        second = subprocess.run([*extraction_command(input_path, "--output-dir", str(shards)), "--single-segment"],
                                cwd=ROOT, capture_output=True, text=True)
    finally:
        first.send_signal(signal.SIGCONT)
    assert_one_line_error(second, str(shards), "another run is writing this shard directory")
    assert first.wait() == 0
    assert_same_examples(read_examples(shards), read_examples(single))
    assert sorted(path.name for path in shards.iterdir()) == lone_run_files(24)


def test_other_options_are_refused_in_an_existing_shard_directory(tmp_path):
    input_path = tmp_path / "examples.json"
    input_path.write_text(json.dumps(sample_examples(6)))
    shards = tmp_path / "shards"
    subprocess.run(extraction_command(input_path, "--output-dir", str(shards)), cwd=ROOT, check=True,
                   capture_output=True)
    result = subprocess.run([*extraction_command(input_path, "--output-dir", str(shards)), "--single-segment"],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 2
    assert "holds the output of another input or other options" in result.stderr
