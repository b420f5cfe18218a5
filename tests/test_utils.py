"""utils.py: the restricted unpickler, atomic writes, shard directories."""

import os
import pickle

import numpy as np
import pytest

from utils import InputError, atomic_output, iter_examples, read_pickle, write_json, write_pickle


class RunsACommand:
    """Unpickling this would run a shell command that creates a file."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def test_malicious_pickle_is_refused_without_running(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil_attn.pkl"
    path.write_bytes(pickle.dumps([{"attns": RunsACommand(marker)}]))
    with pytest.raises(InputError, match="refused to load"):
        read_pickle(path)
    assert not marker.exists()


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_numpy_containers_round_trip(tmp_path, protocol):
    examples = [{"tokens": ["[CLS]", "a", "[SEP]"], "attns": np.eye(3, dtype=np.float16)[None, None], "n": np.int64(3)}]
    path = tmp_path / "ok.pkl"
    path.write_bytes(pickle.dumps(examples, protocol=protocol))
    loaded = read_pickle(path)
    np.testing.assert_array_equal(loaded[0]["attns"], examples[0]["attns"])
    assert loaded[0]["attns"].dtype == np.float16 and loaded[0]["tokens"] == examples[0]["tokens"]


def test_corrupt_pickle_is_an_input_error(tmp_path):
    path = tmp_path / "corrupt.pkl"
    path.write_bytes(pickle.dumps([{"a": 1}])[:-5])
    with pytest.raises(InputError, match="corrupt.pkl"):
        read_pickle(path)


def test_failed_write_keeps_the_older_file(tmp_path):
    path = tmp_path / "out.json"
    write_json(path, {"version": 1})
    with pytest.raises(RuntimeError), atomic_output(path, "w") as stream:
        stream.write('{"version": 2, "half')
        raise RuntimeError("disk full")
    assert path.read_text() == '{\n "version": 1\n}\n'
    assert [entry.name for entry in tmp_path.iterdir()] == ["out.json"]


def test_shard_directory_reads_in_order(tmp_path):
    write_pickle(tmp_path / "part-00000.pkl", [{"i": 0}, {"i": 1}])
    write_pickle(tmp_path / "part-00001.pkl", [{"i": 2}])
    shards = [{"file": "part-00000.pkl", "n_examples": 2}, {"file": "part-00001.pkl", "n_examples": 1}]
    write_json(tmp_path / "manifest.json", {"complete": True, "shards": shards})
    assert [example["i"] for example in iter_examples(tmp_path)] == [0, 1, 2]
