"""Gradient importance (the paper's Figure 3): our masked-LM loss and |dL/d alpha| against Hugging Face's
BertForMaskedLM differentiated by torch autograd in float64 (golden file: tests/golden/make_golden.py --only grad),
a finite difference, Google and Hugging Face checkpoints with the head, the category reduction against a plain loop,
the masking rule, and gradient_importance.py's output and refusals."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from checkpoints import write_google_checkpoint
from conftest import assert_one_line_error, input_error, run_script

import gradient_importance
from bert.checkpoint import embedded_model_dir, load_masked_lm
from bert.gradients import (
    CATEGORIES,
    GradientImportance,
    MaskedExample,
    category_means,
    category_weights,
    gradient_step,
    masked_count,
    masking_plan,
)
from utils import InputError

GOLDEN = Path(__file__).parent / "golden" / "masked_lm_gradients.npz"
RELATIVE = 1e-4  # issue 14: ours (float32) equals the float64 golden to 1e-4 relative
HEAD = ("cls.predictions.transform.dense.weight", "cls.predictions.transform.dense.bias",
        "cls.predictions.transform.LayerNorm.weight", "cls.predictions.transform.LayerNorm.bias",
        "cls.predictions.bias")


@pytest.fixture(scope="module")
def golden() -> dict[str, np.ndarray]:
    with np.load(GOLDEN, allow_pickle=False) as arrays:
        return dict(arrays)


def hugging_face_dir(golden: dict, name: str, target: Path) -> Path:
    """The golden model `name` (tiny: its config, the first lines of the MiniLM vocabulary, its weights; minilm: the
    embedded MiniLM with the golden head) as a Hugging Face directory."""
    from safetensors.numpy import load_file, save_file

    embedded = embedded_model_dir()
    target.mkdir()
    if name == "tiny":
        config = json.loads(str(golden["tiny_config"]))
        vocab = (embedded / "vocab.txt").read_text(encoding="utf-8").splitlines()[: config["vocab_size"]]
        (target / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
        (target / "config.json").write_text(json.dumps(config))
        tensors = {key.removeprefix("tiny/"): value for key, value in golden.items() if key.startswith("tiny/")}
    else:
        shutil.copy(embedded / "vocab.txt", target / "vocab.txt")
        shutil.copy(embedded / "config.json", target / "config.json")
        tensors = {**load_file(embedded / "model.safetensors"),
                   **{parameter: golden[f"minilm_head/{parameter}"] for parameter in HEAD}}
    save_file(tensors, str(target / "model.safetensors"))
    return target


def golden_examples(golden: dict, name: str, vocab: dict[str, int]) -> list[tuple[MaskedExample, float, np.ndarray]]:
    """(masked example, loss, |dL/d alpha| [L, H, n, n]) of each golden example of model `name`."""
    examples = []
    index = 0
    while f"{name}_tokens_{index}" in golden:
        tokens = golden[f"{name}_tokens_{index}"].tolist()
        ids = np.array([vocab[token] for token in tokens], np.int32)
        positions = golden[f"{name}_masked_positions_{index}"].tolist()
        masked = masking_plan(ids, tokens, positions, np.random.default_rng(0), vocab["[MASK]"], len(vocab))
        examples.append((masked, float(golden[f"{name}_loss_{index}"]), golden[f"{name}_grad_{index}"]))
        index += 1
    return examples


def load_golden_model(golden: dict, name: str, tmp_path: Path):
    """Our MaskedLanguageModel loaded from the golden model's Hugging Face directory, and its vocabulary."""
    from bert.tokenization import load_vocab

    directory = hugging_face_dir(golden, name, tmp_path / name)
    return load_masked_lm(directory), load_vocab(directory / "vocab.txt")


def raw_gradients(model, examples: list[MaskedExample]) -> list[tuple[float, np.ndarray, np.ndarray]]:
    """(loss, attention, |dL/d alpha|) of each example, all in one padded batch, cut to its length."""
    inputs = GradientImportance(model).batch_inputs(examples)
    losses, attention, gradient = gradient_step(model, reduce=False)(inputs)
    lengths = [len(example.tokens) for example in examples]
    return [(float(loss), maps[..., :n, :n], grads[..., :n, :n])
            for loss, maps, grads, n in zip(losses, attention, gradient, lengths, strict=True)]


def assert_matches_golden(model, examples: list[tuple[MaskedExample, float, np.ndarray]]) -> None:
    """Our loss and |dL/d alpha| equal the golden's to RELATIVE (gradients relative to the example's largest)."""
    ours = raw_gradients(model, [masked for masked, _, _ in examples])
    for (loss, _, gradient), (_, golden_loss, golden_gradient) in zip(ours, examples, strict=True):
        assert loss == pytest.approx(golden_loss, rel=RELATIVE)
        assert gradient.shape == golden_gradient.shape
        # float32 against float64: entries far below the largest carry the largest one's rounding error
        np.testing.assert_allclose(gradient, golden_gradient, rtol=RELATIVE,
                                   atol=RELATIVE * np.abs(golden_gradient).max())


def test_tiny_model_gradients_equal_the_hugging_face_golden(golden, tmp_path):
    model, vocab = load_golden_model(golden, "tiny", tmp_path)
    assert_matches_golden(model, golden_examples(golden, "tiny", vocab))


@pytest.mark.slow
def test_minilm_with_a_head_gradients_equal_the_hugging_face_golden(golden, tmp_path):
    model, vocab = load_golden_model(golden, "minilm", tmp_path)
    assert_matches_golden(model, golden_examples(golden, "minilm", vocab))


def test_a_finite_difference_agrees_with_the_gradient(golden, tmp_path):
    import keras

    if keras.backend.backend() != "tensorflow":  # JAX and PyTorch gradients are checked against the golden only
        pytest.skip("float64 is not float64 throughout here: Keras's LayerNormalization computes in float32 on JAX "
                    "and PyTorch even under a float64 policy (3e-7 off a float64 layer norm, measured)")
    keras.config.set_floatx("float64")
    keras.config.set_dtype_policy("float64")  # the policy is fixed once a layer has been made: set it too
    try:
        model, vocab = load_golden_model(golden, "tiny", tmp_path)
        assert model.encoder.word_embeddings.embeddings.dtype == "float64"
        masked, _, _ = golden_examples(golden, "tiny", vocab)[1]
        inputs = GradientImportance(model).batch_inputs([masked])
        _, _, gradient = gradient_step(model, reduce=False)(inputs)
        assert gradient.dtype == np.float64

        def loss(offsets: np.ndarray) -> float:
            losses, _ = model({**inputs, "attention_offsets": offsets})
            return float(keras.ops.convert_to_numpy(losses)[0])

        # float64 throughout: a step of 1e-5 leaves a truncation error near 1e-12 relative and a rounding error
        # near 1e-10 in the difference quotient
        for cell in (np.unravel_index(np.argmax(gradient), gradient.shape), (0, 1, 2, 5, 3)):
            step = np.zeros_like(inputs["attention_offsets"])
            step[cell] = 1e-5
            central = (loss(step) - loss(-step)) / 2e-5
            assert abs(central) == pytest.approx(gradient[cell], rel=1e-6)
    finally:
        keras.config.set_floatx("float32")
        keras.config.set_dtype_policy("float32")


def google_checkpoint(golden: dict, hugging_face: Path, target: Path) -> None:
    """The tiny golden model as a Google BERT directory with cls/predictions, written with TensorFlow."""
    config = json.loads(str(golden["tiny_config"]))
    weights = {key.removeprefix("tiny/"): value for key, value in golden.items() if key.startswith("tiny/")}
    write_google_checkpoint(weights, config, hugging_face / "vocab.txt", target)


def test_a_google_checkpoint_with_its_head_gives_the_same_gradients(golden, tmp_path):
    hugging_face_model, vocab = load_golden_model(golden, "tiny", tmp_path)
    google_checkpoint(golden, tmp_path / "tiny", tmp_path / "google")
    google_model = load_masked_lm(tmp_path / "google")
    examples = [masked for masked, _, _ in golden_examples(golden, "tiny", vocab)]
    for ours, theirs in zip(raw_gradients(google_model, examples), raw_gradients(hugging_face_model, examples),
                            strict=True):
        assert ours[0] == theirs[0]
        np.testing.assert_array_equal(ours[2], theirs[2])
    assert_matches_golden(google_model, golden_examples(golden, "tiny", vocab))


def test_a_checkpoint_without_the_head_is_refused_in_one_line():
    with pytest.raises(InputError) as caught:
        load_masked_lm(embedded_model_dir())
    message = str(caught.value)
    assert "\n" not in message and "checkpoint has no masked-LM head" in message
    assert "bert-base-uncased" in message


def plain_category_means(values: np.ndarray, tokens: list[str], of_gradient: bool) -> np.ndarray:
    """[L, H, 3] of one example's [L, H, n, n] values written plainly in float64: for each query row, the mean
    (gradient) or the sum (attention) over the keys of each category, then the mean over the rows."""
    layers, heads, n, _ = values.shape
    members = {"sep": [j for j in range(n) if tokens[j] == "[SEP]"],
               "punct": [j for j in range(n) if tokens[j] in (".", ",")],
               "other": [j for j in range(n) if tokens[j] not in ("[SEP]", ".", ",", "[CLS]")]}
    result = np.zeros((layers, heads, 3))
    for layer in range(layers):
        for head in range(heads):
            for position, name in enumerate(CATEGORIES):
                total = 0.0
                for i in range(n):
                    row = sum(float(values[layer, head, i, j]) for j in members[name])
                    total += row / len(members[name]) if of_gradient and members[name] else row
                result[layer, head, position] = total / n
    return result


def test_the_category_reduction_equals_a_plain_loop():
    from keras import ops

    rng = np.random.default_rng(0)
    examples = [["[CLS]", "a", ".", "b", ",", "[SEP]", "c", "[SEP]"], ["[CLS]", "no", "punctuation", "[SEP]"],
                ["[CLS]", "."]]
    longest = max(len(tokens) for tokens in examples)
    values = rng.random((len(examples), 2, 3, longest, longest)).astype(np.float32)
    weights = [category_weights(tokens, longest) for tokens in examples]
    queries, keys, indicators = (np.stack(part) for part in zip(*weights, strict=True))
    gradient_means = ops.convert_to_numpy(category_means(values, queries, keys))
    attention_means = ops.convert_to_numpy(category_means(values, queries, indicators))
    for row, tokens in enumerate(examples):
        n = len(tokens)
        example_values = values[row, :, :, :n, :n]
        np.testing.assert_allclose(gradient_means[row], plain_category_means(example_values, tokens, True), rtol=1e-6)
        np.testing.assert_allclose(attention_means[row], plain_category_means(example_values, tokens, False),
                                   rtol=1e-6)
    assert (gradient_means[1, :, :, 1] == 0).all() and (gradient_means[2, :, :, 0] == 0).all()


def test_batching_does_not_change_the_statistics(golden, tmp_path):
    model, vocab = load_golden_model(golden, "tiny", tmp_path)
    examples = [masked for masked, _, _ in golden_examples(golden, "tiny", vocab)] * 2
    together = dict(GradientImportance(model, tokens_per_batch=1000).statistics(examples))
    alone = dict(GradientImportance(model, tokens_per_batch=1).statistics(examples))
    assert sorted(together) == sorted(alone) == list(range(len(examples)))
    for index in together:
        assert together[index].loss == pytest.approx(alone[index].loss, rel=1e-6)
        for name in ("grad_importance", "avg_attn"):
            ours, reference = getattr(together[index], name), getattr(alone[index], name)
            np.testing.assert_allclose(ours, reference, rtol=1e-5, atol=1e-6 * np.abs(reference).max())


def test_how_many_positions_are_masked():
    assert [masked_count(k) for k in (1, 3, 4, 6, 7, 10, 100, 133, 134, 500)] == [1, 1, 1, 1, 1, 2, 15, 20, 20, 20]
    # 15% of 30 and of 70 is 4.5 and 10.5: Python's round, as Google's create_pretraining_data.py, goes to even
    assert [masked_count(30), masked_count(50), masked_count(70)] == [4, 8, 10]
    google = [min(20, max(1, int(round(n * 0.15)))) for n in range(1, 600)]
    assert [masked_count(n) for n in range(1, 600)] == google


def random_plan(tokens: list[str], seed: int) -> MaskedExample:
    """The masking of `tokens` (ids 0..n-1, [MASK] = 999, 1000 ids) drawn with generator `seed`."""
    ids = np.arange(len(tokens), dtype=np.int32)
    return masking_plan(ids, tokens, None, np.random.default_rng(seed), 999, 1000)


def test_the_masking_rule():
    tokens = ["[CLS]", *[f"w{i}" for i in range(40)], "[SEP]", *[f"v{i}" for i in range(19)], "[SEP]"]
    plan = random_plan(tokens, 3)
    assert len(plan.positions) == 9  # 15% of 59 non-special positions, 8.85 -> 9
    assert len(set(plan.positions.tolist())) == 9 and (np.diff(plan.positions) > 0).all()
    assert not {tokens[position] for position in plan.positions} & {"[CLS]", "[SEP]"}
    np.testing.assert_array_equal(plan.original_ids, plan.positions)
    unmasked = np.setdiff1d(np.arange(len(tokens)), plan.positions)
    np.testing.assert_array_equal(plan.input_ids[unmasked], unmasked)
    again = random_plan(tokens, 3)
    np.testing.assert_array_equal(plan.positions, again.positions)
    np.testing.assert_array_equal(plan.input_ids, again.input_ids)
    assert len(random_plan(["[CLS]", "a", "[SEP]"], 0).positions) == 1
    assert len(random_plan(["[CLS]", *["a"] * 300, "[SEP]"], 0).positions) == 20
    assert random_plan(["[CLS]", "[SEP]"], 0) is None


def test_the_80_10_10_proportions():
    tokens = ["[CLS]", *[f"w{i}" for i in range(100)], "[SEP]"]
    plans = [random_plan(tokens, seed) for seed in range(1000)]
    replaced = np.concatenate([plan.input_ids[plan.positions] for plan in plans])
    original = np.concatenate([plan.original_ids for plan in plans])
    assert len(replaced) == 15_000
    mask, unchanged = np.mean(replaced == 999), np.mean(replaced == original)
    # 15,000 draws: a share's standard deviation is at most 0.4%; 1.5% is over three of them
    assert mask == pytest.approx(0.8, abs=0.015)
    assert unchanged == pytest.approx(0.1 + 0.1 / 1000, abs=0.015)  # a random id can draw the original
    assert 1 - mask - unchanged == pytest.approx(0.1, abs=0.015)


def test_given_positions_are_all_masked():
    tokens = ["[CLS]", "a", "b", "[SEP]"]
    plan = masking_plan(np.array([5, 6, 7, 8], np.int32), tokens, [2, 1], np.random.default_rng(0), 4, 10)
    np.testing.assert_array_equal(plan.positions, [1, 2])
    np.testing.assert_array_equal(plan.input_ids, [5, 4, 4, 8])
    np.testing.assert_array_equal(plan.original_ids, [6, 7])


@pytest.mark.slow
def test_the_command_writes_gradients_json_and_figure_3(tmp_path):
    examples = [{"text": "The cat sat on the mat, then it slept."},
                {"tokens": ["[CLS]", "the", "cat", "[SEP]", "a", "dog", ".", "[SEP]"], "masked_positions": [2, 5]},
                {"words": ["Dogs", "bark", "."]}, {"text": " ".join(["word"] * 200)}]
    (tmp_path / "examples.json").write_text(json.dumps(examples))
    result = run_script("gradient_importance.py", "--preprocessed-data-file", str(tmp_path / "examples.json"),
                        "--debug", "--batch_size", "2")
    assert result.returncode == 0, result.stderr
    assert "1 of 4 examples longer than 128 tokens" in result.stderr
    output = json.loads((tmp_path / "gradients" / "gradients.json").read_text())
    assert output["n_examples"] == 3 and output["debug"] is True and output["grid"] == [3, 12]
    for key in ("grad_importance", "avg_attn"):
        assert set(output[key]) == set(CATEGORIES)
        assert all(np.array(output[key][name]).shape == (3, 12) for name in CATEGORIES)
    assert output["run"]["options"]["gradients"]["seed"] == 0 and output["run"]["model"]["debug"] is True
    assert (np.array(output["grad_importance"]["other"]) > 0).all()
    for extension in ("png", "svg"):
        assert (tmp_path / "gradients" / f"figure3_gradient_importance.{extension}").stat().st_size > 0
    assert (tmp_path / "gradients" / "report.html").is_file()
    assert result.stderr.splitlines()[-1].endswith("report.html (3 examples)")


BAD_POSITIONS = [
    ("not a list", "3", "expected a non-empty list of integers"),
    ("empty", "[]", "expected a non-empty list of integers"),
    ("a boolean", "[true]", "expected a non-empty list of integers"),
    ("repeated", "[1, 1]", "positions must be distinct"),
    ("out of range", "[1, 9]", "position 9 is outside the 4 tokens"),
    ("negative", "[-1]", "position -1 is outside"),
    ("on [CLS]", "[0]", "position 0 is [CLS], never masked"),
    ("on [SEP]", "[3]", "position 3 is [SEP], never masked"),
]


@pytest.mark.parametrize(("case", "positions", "message"), BAD_POSITIONS, ids=[case for case, _, _ in BAD_POSITIONS])
def test_bad_masked_positions_are_refused_in_one_line(tmp_path, case, positions, message):
    examples = f'[{{"text": "fine"}}, {{"text": "the cat", "masked_positions": {positions}}}]'
    (tmp_path / "examples.json").write_text(examples)
    error = input_error(gradient_importance.main, "--preprocessed-data-file", str(tmp_path / "examples.json"),
                        "--debug", "--outdir", str(tmp_path / "out"))
    assert f"examples.json: example 1: field 'masked_positions': {message}" in error
    assert not (tmp_path / "out").exists()


def test_a_model_without_the_head_is_refused_and_nothing_is_written(tmp_path):
    (tmp_path / "examples.json").write_text('[{"text": "the cat"}]')
    error = input_error(gradient_importance.main, "--preprocessed-data-file", str(tmp_path / "examples.json"),
                        "--outdir", str(tmp_path / "out"))
    assert "checkpoint has no masked-LM head" in error
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_bad_input_as_a_command_is_one_line_and_status_2(tmp_path):
    (tmp_path / "examples.json").write_text('[{"text": "the cat", "masked_positions": [0]}]')
    result = run_script("gradient_importance.py", "--preprocessed-data-file", str(tmp_path / "examples.json"))
    assert_one_line_error(result, "example 0: field 'masked_positions'", "[CLS]")
    assert not (tmp_path / "gradients").exists()
