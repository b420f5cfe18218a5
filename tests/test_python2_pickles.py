"""The original's files load: pickles written by Python 2 (crafted by tests/py2_pickles.py the way cPickle wrote
them), its attention maps and its head_distances.pkl, through the same restricted unpickler."""

import json

import numpy as np
from conftest import assert_one_line_error, input_error, run_script
from py2_pickles import python2_dumps

import general_analysis
import utils
from analysis.general import behaviour
from analysis.general import pipeline as general_pipeline
from analysis.general.head_distances import head_distances


def random_examples(seed: int) -> list[dict]:
    """Two examples of 2 x 3 heads with random float16 maps (their raw bytes are not ASCII, as in real maps)."""
    rng = np.random.default_rng(seed)
    tokens = [["[CLS]", "the", "cat", ".", "[SEP]"], ["[CLS]", "a", ",", "dog", "[SEP]", "ran", "[SEP]"]]
    return [{"tokens": words, "attns": rng.dirichlet(np.ones(len(words)), (2, 3, len(words))).astype(np.float16)}
            for words in tokens]


def test_a_python2_pickle_gives_the_same_general_analysis(tmp_path):
    examples = random_examples(0)
    assert any(byte >= 128 for byte in examples[0]["attns"].tobytes())
    (tmp_path / "original_attn.pkl").write_bytes(python2_dumps(examples))
    utils.write_pickle(tmp_path / "ours_attn.pkl", examples)
    loaded = utils.read_pickle(tmp_path / "original_attn.pkl")
    assert loaded[1]["tokens"] == examples[1]["tokens"]
    np.testing.assert_array_equal(loaded[1]["attns"], examples[1]["attns"])
    outputs = [general_pipeline.run(tmp_path / name, tmp_path / name.removesuffix(".pkl"))
               for name in ("original_attn.pkl", "ours_attn.pkl")]
    for output in outputs:
        del output["run"]
    assert outputs[0] == outputs[1]


def test_the_original_head_distances_give_the_same_embedding_up_to_scale(tmp_path):
    examples = random_examples(1)
    utils.write_pickle(tmp_path / "attn.pkl", examples)
    mean = head_distances(tmp_path / "attn.pkl")
    n_rows = sum(example["attns"].shape[2] for example in examples)
    (tmp_path / "head_distances.pkl").write_bytes(python2_dumps(mean * n_rows))  # the original summed
    original = behaviour.read_head_distances(tmp_path / "head_distances.pkl", (2, 3))
    np.testing.assert_allclose(original, mean * n_rows)
    ours, theirs = behaviour.embed_heads(mean), behaviour.embed_heads(original)
    np.testing.assert_allclose(theirs / n_rows, ours, atol=1e-4 * np.abs(ours).max())
    general_analysis.main(["--attn-data-file", str(tmp_path / "attn.pkl"), "--head-distances",
                           str(tmp_path / "head_distances.pkl"), "--outdir", str(tmp_path / "out")])
    assert np.array(json.loads((tmp_path / "out" / "general.json").read_text())["mds"]).shape == (6, 2)


def test_a_malicious_python2_pickle_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    malicious = b"\x80\x02cos\nsystem\nq\x00U" + bytes([len(f"touch {marker}")]) + f"touch {marker}".encode()
    (tmp_path / "attn.pkl").write_bytes(malicious + b"q\x01\x85q\x02Rq\x03.")
    error = input_error(general_analysis.main, "--attn-data-file", str(tmp_path / "attn.pkl"))
    assert "refused to load os.system" in error
    result = run_script("general_analysis.py", "--attn-data-file", str(tmp_path / "attn.pkl"))
    assert_one_line_error(result, "attn.pkl: not a readable attention pickle", "refused to load os.system")
    assert not marker.exists()
