"""Every encoder family against Hugging Face transformers: small random-weight checkpoints of BERT, RoBERTa, XLM-R,
ELECTRA, DistilBERT and ALBERT with tokenizers built for them, and their eager-attention maps, tokens and masked-LM
gradients (golden files: tests/golden/make_families.py). Also the SentencePiece-only path, a Hub cache read
offline, Google's ELECTRA checkpoint layout, and the configs and tokenizers refused before any work."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from checkpoints import hub_cache, write_google_electra_checkpoint
from conftest import ROOT, assert_one_line_error, input_error

import extract_attention
from bert.checkpoint import load_masked_lm, open_tokenizer, read_config
from bert.extraction import build_extractor, open_model, output_example, prepare_example
from bert.gradients import GradientImportance, gradient_step, masking_plan
from bert.special_tokens import SpecialTokens
from utils import read_examples, read_json

FAMILIES_DIR = Path(__file__).parent / "golden" / "families"
FAMILIES = ("bert", "roberta", "xlm-roberta", "electra", "distilbert", "albert", "deberta-v2", "deberta-v2-separate",
            "modernbert")
WITH_MASKED_LM = ("bert", "roberta", "xlm-roberta", "distilbert", "albert")
SENTENCEPIECE = {"xlm-roberta": "sentencepiece.bpe.model", "albert": "spiece.model", "deberta-v2": "spm.model"}
FLOAT16 = 6e-4  # issue 21: maps equal transformers' eager attention to float16 rounding
RELATIVE = 1e-4  # gradients: our float32 against the float64 golden
ROLES = {"bert": ("[CLS]", "[SEP]"), "roberta": ("<s>", "</s>"), "xlm-roberta": ("<s>", "</s>"),
         "electra": ("[CLS]", "[SEP]"), "distilbert": ("[CLS]", "[SEP]"), "albert": ("[CLS]", "[SEP]"),
         "deberta-v2": ("[CLS]", "[SEP]"), "deberta-v2-separate": ("[CLS]", "[SEP]"), "modernbert": ("[CLS]", "[SEP]")}


def golden(family: str) -> dict[str, np.ndarray]:
    with np.load(FAMILIES_DIR / f"{family}.npz", allow_pickle=False) as arrays:
        return dict(arrays)


def strings(array: np.ndarray) -> list[str]:
    return [str(item) for item in array.tolist()]


def token_examples(arrays: dict) -> list[dict]:
    """The golden token-level examples as our examples: each text, or a pair of them as tokens in our template."""
    return [{"text_a": str(arrays[f"text_a_{i}"]), "text_b": str(arrays[f"text_b_{i}"])}
            for i in range(int(arrays["n_examples"]))]


def our_tokens(tokenizer, text_a: str, text_b: str) -> list[str]:
    """Our tokens of a text or a pair, with the model's template."""
    if not text_b:
        return tokenizer.single(tokenizer.tokenize(text_a))
    return tokenizer.pair(tokenizer.tokenize(text_a), tokenizer.tokenize(text_b))


def extracted(directory: Path, examples: list[dict], word_level: bool = False) -> list[dict]:
    """Our output examples for `examples`, batched by length in batches of mixed lengths (so padded)."""
    _, config, tokenizer = open_model(str(directory), 64, False)
    prepared = [prepare_example(example, tokenizer, Path("golden"), index, config.positions, word_level)
                for index, example in enumerate(examples)]
    extractor = build_extractor(directory, tokenizer, word_level=word_level, tokens_per_batch=3 * 48)
    outputs = [None] * len(examples)
    for position, maps, _ in extractor.chunk_maps(prepared):
        outputs[position] = output_example(examples[position], prepared[position], maps, "mean",
                                           tokenizer.special_tokens)
    return outputs


@pytest.mark.parametrize("family", FAMILIES)
def test_tokens_ids_and_token_types_equal_transformers(family):
    arrays = golden(family)
    _, config, tokenizer = open_model(str(FAMILIES_DIR / family), 64, False)
    assert (tokenizer.special_tokens.cls, tokenizer.special_tokens.sep) == ROLES[family]
    for index, example in enumerate(token_examples(arrays)):
        tokens = our_tokens(tokenizer, example["text_a"], example["text_b"])
        assert tokens == strings(arrays[f"tokens_{index}"])
        assert tokenizer.convert_tokens_to_ids(tokens) == arrays[f"input_ids_{index}"].tolist()
        if config.type_vocab_size > 1:
            inputs = extracted_inputs(tokenizer, config, tokens)
            assert inputs["segment_ids"][0].tolist() == arrays[f"token_type_ids_{index}"].tolist()


def extracted_inputs(tokenizer, config, tokens: list[str]) -> dict:
    from bert.extraction import padded_inputs

    return padded_inputs([tokenizer.convert_tokens_to_ids(tokens)], [tokens], False, config.type_vocab_size,
                         tokenizer.special_tokens.sep)


@pytest.mark.parametrize("family", FAMILIES)
def test_token_maps_equal_eager_attention(family):
    arrays = golden(family)
    _, _, tokenizer = open_model(str(FAMILIES_DIR / family), 64, False)
    examples = [{"tokens": our_tokens(tokenizer, example["text_a"], example["text_b"])}
                for example in token_examples(arrays)]
    outputs = extracted(FAMILIES_DIR / family, examples)
    lengths = {len(example["tokens"]) for example in examples}
    assert len(lengths) > 3  # mixed lengths, several batches, padding
    for index, output in enumerate(outputs):
        expected = arrays[f"attention_{index}"]
        assert output["attns"].dtype == np.float16 and output["attns"].shape == expected.shape
        np.testing.assert_allclose(output["attns"].astype(np.float32), expected, rtol=0, atol=FLOAT16)
        assert output["special_tokens"] == dict(zip(("cls", "sep"), ROLES[family], strict=True))


@pytest.mark.parametrize("family", FAMILIES)
def test_word_maps_equal_pooled_eager_attention(family):
    arrays = golden(family)
    examples = [{"words": strings(arrays[f"words_{j}"])} for j in range(int(arrays["n_word_examples"]))]
    _, _, tokenizer = open_model(str(FAMILIES_DIR / family), 64, False)
    for j, example in enumerate(examples):
        pieces = [piece for word in example["words"] for piece in tokenizer.tokenize_word(word)]
        assert tokenizer.single(pieces) == strings(arrays[f"word_tokens_{j}"])
    for j, output in enumerate(extracted(FAMILIES_DIR / family, examples, word_level=True)):
        expected = arrays[f"word_level_{j}"]
        assert output["attns"].shape == expected.shape
        np.testing.assert_allclose(output["attns"].astype(np.float32), expected, rtol=0, atol=FLOAT16)


@pytest.mark.parametrize("family", FAMILIES)
def test_hard_texts_tokenize_as_transformers(family):
    arrays = golden(family)
    tokenizer = open_tokenizer(FAMILIES_DIR / family)
    for k, text in enumerate(strings(arrays["case_texts"])):
        assert tokenizer.convert_tokens_to_ids(tokenizer.tokenize(text)) == arrays[f"case_ids_{k}"].tolist(), text
    for k, word in enumerate(strings(arrays["case_words"])):
        assert tokenizer.tokenize_word(word) == strings(arrays[f"case_word_tokens_{k}"]), word


@pytest.mark.parametrize("family", sorted(SENTENCEPIECE))
def test_sentencepiece_model_alone_tokenizes_as_sentencepiece(family, tmp_path):
    """Without tokenizer.json the pieces are the sentencepiece library's (ALBERT's text preprocessing first, special
    tokens written in the text kept whole), with the model's ids: XLM-R's fairseq layout, ALBERT's and DeBERTa's own."""
    directory = shutil.copytree(FAMILIES_DIR / family, tmp_path / family)
    (directory / "tokenizer.json").unlink()
    assert (directory / SENTENCEPIECE[family]).is_file()
    arrays = golden(family)
    tokenizer = open_tokenizer(directory)
    assert type(tokenizer.pieces).__name__ == "SentencePiecePieces"
    assert tokenizer.special_tokens == SpecialTokens(*ROLES[family])
    specials = ("<s>", "</s>", "[CLS]", "[SEP]", "<mask>", "[MASK]", "<pad>", "<unk>")
    for k, text in enumerate(strings(arrays["case_texts"])):
        if any(special in text for special in specials):
            continue
        pieces = strings(arrays[f"case_spm_tokens_{k}"])  # a piece outside the vocabulary is its unknown token
        unknown = tokenizer.pieces.unknown
        assert tokenizer.tokenize(text) == [piece if piece in tokenizer.vocab else unknown for piece in pieces], text
        tokenizer.convert_tokens_to_ids(tokenizer.tokenize(text))  # every token has an id
    for index, example in enumerate(token_examples(arrays)):
        tokens = our_tokens(tokenizer, example["text_a"], example["text_b"])
        assert tokens[0] == ROLES[family][0] and tokens[-1] == ROLES[family][1]
        if tokens == strings(arrays[f"tokens_{index}"]):  # where sentencepiece and transformers agree, so do the ids
            assert tokenizer.convert_tokens_to_ids(tokens) == arrays[f"input_ids_{index}"].tolist()


@pytest.mark.parametrize("family", WITH_MASKED_LM)
def test_masked_lm_gradients_equal_autograd(family):
    arrays = golden(family)
    model = load_masked_lm(FAMILIES_DIR / family)
    tokenizer = open_tokenizer(FAMILIES_DIR / family)
    examples, expected = [], []
    for k in range(int(arrays["n_mlm_examples"])):
        tokens = strings(arrays[f"mlm_tokens_{k}"])
        ids = np.array(tokenizer.convert_tokens_to_ids(tokens), np.int32)
        assert ids.tolist() == arrays[f"mlm_input_ids_{k}"].tolist()
        positions = arrays[f"mlm_masked_positions_{k}"].tolist()
        examples.append(masking_plan(ids, tokens, positions, np.random.default_rng(0),
                                     tokenizer.vocab[tokenizer.mask_token], len(tokenizer.vocab),
                                     tokenizer.special_tokens))
        expected.append((float(arrays[f"mlm_loss_{k}"]), arrays[f"mlm_grad_{k}"]))
    losses, _, gradients = gradient_step(model, reduce=False)(GradientImportance(model).batch_inputs(examples))
    for example, loss, gradient, (golden_loss, golden_gradient) in zip(examples, losses, gradients, expected,
                                                                       strict=True):
        n = len(example.tokens)
        assert float(loss) == pytest.approx(golden_loss, rel=RELATIVE)
        np.testing.assert_allclose(gradient[..., :n, :n], golden_gradient, rtol=RELATIVE,
                                   atol=RELATIVE * np.abs(golden_gradient).max())


def test_electra_discriminator_has_no_masked_lm_head():
    from utils import InputError

    with pytest.raises(InputError, match="checkpoint has no masked-LM head"):
        load_masked_lm(FAMILIES_DIR / "electra")


@pytest.mark.slow
def test_google_electra_checkpoint_gives_the_same_maps(tmp_path):
    directory = write_google_electra_checkpoint(FAMILIES_DIR / "electra", tmp_path / "google_electra")
    arrays = golden("electra")
    _, _, tokenizer = open_model(str(directory), 64, False)
    examples = [{"tokens": our_tokens(tokenizer, example["text_a"], example["text_b"])}
                for example in token_examples(arrays)]
    for index, output in enumerate(extracted(directory, examples)):
        np.testing.assert_allclose(output["attns"].astype(np.float32), arrays[f"attention_{index}"], rtol=0,
                                   atol=FLOAT16)


@pytest.mark.slow
def test_a_cached_hub_id_offline_gives_the_directory_maps(tmp_path):
    commit = hub_cache(tmp_path / "hf", "tiny-org/tiny-roberta", FAMILIES_DIR / "roberta")
    data = tmp_path / "examples.json"
    data.write_text(json.dumps([{"text": "The cat sat on the mat."}, {"words": ["Naïve", "researchers", "wrote"]}]))

    def offline(model: str, outfile: str) -> subprocess.CompletedProcess:
        environment = {**os.environ, "HF_HOME": str(tmp_path / "hf"), "HF_HUB_OFFLINE": "1"}
        return subprocess.run([sys.executable, "extract_attention.py", "--preprocessed-data-file", str(data),
                               "--model", model, "--max-sequence-length", "64", "--outfile", str(tmp_path / outfile)],
                              cwd=ROOT,
                              capture_output=True, text=True, env=environment, timeout=600)

    assert offline("tiny-org/tiny-roberta", "hub.pkl").returncode == 0
    assert offline(str(FAMILIES_DIR / "roberta"), "directory.pkl").returncode == 0
    from_hub, from_directory = read_examples(tmp_path / "hub.pkl"), read_examples(tmp_path / "directory.pkl")
    for hub_example, directory_example in zip(from_hub, from_directory, strict=True):
        np.testing.assert_array_equal(hub_example["attns"], directory_example["attns"])
        assert hub_example["tokens"] == directory_example["tokens"]
        assert hub_example["special_tokens"] == {"cls": "<s>", "sep": "</s>"}
    model = read_json(tmp_path / "hub.run.json")["model"]
    assert (model["hub_id"], model["commit"]) == ("tiny-org/tiny-roberta", commit)
    assert model["config"]["model_type"] == "roberta"
    assert_one_line_error(offline("tiny-org/absent", "absent.pkl"), "tiny-org/absent: not a model directory")
    assert not (tmp_path / "absent.pkl").exists()


def refused_copy(tmp_path: Path, family: str, config_changes: dict | None = None) -> Path:
    """A copy of a family's golden model with its config changed."""
    directory = shutil.copytree(FAMILIES_DIR / family, tmp_path / f"{family}_changed")
    config = {**json.loads((directory / "config.json").read_text()), **(config_changes or {})}
    (directory / "config.json").write_text(json.dumps(config))
    return directory


REFUSED_CONFIGS = [
    ("bert", {"model_type": "gpt2"}, "model_type 'gpt2' is not supported"),
    ("bert", {"position_embedding_type": "relative_key"}, "position_embedding_type 'relative_key' is not supported"),
    ("roberta", {"is_decoder": True}, "is_decoder True is not supported"),
    ("albert", {"inner_group_num": 2}, "inner_group_num 2 is not supported"),
    ("albert", {"num_hidden_groups": 3}, "cannot be shared by 3 groups"),
    ("distilbert", {"sinusoidal_pos_embds": True}, "sinusoidal_pos_embds True is not supported"),
    ("electra", {"hidden_act": "swish"}, "hidden_act 'swish' is not one of"),
    ("deberta-v2", {"conv_kernel_size": 3}, "conv_kernel_size 3 is not supported"),
    ("deberta-v2", {"pos_att_type": ["c2p", "p2p"]}, "pos_att_type ['c2p', 'p2p'] is not supported"),
    ("deberta-v2", {"attention_head_size": 4}, "attention_head_size 4 is not hidden_size / num_attention_heads"),
    ("modernbert", {"mlp_bias": True}, "mlp_bias True is not supported"),
    ("modernbert", {"rope_parameters": {"full_attention": {"rope_type": "linear", "rope_theta": 1e4, "factor": 2}}},
     "rope_type 'linear' is not supported"),
    ("modernbert", {"layer_types": ["full_attention", "chunked_attention", "full_attention", "full_attention"]},
     "layer_types must name one of"),
]


@pytest.mark.parametrize(("family", "changes", "expected"), REFUSED_CONFIGS,
                         ids=[f"{family}-{next(iter(changes))}" for family, changes, _ in REFUSED_CONFIGS])
def test_a_config_not_computed_exactly_is_refused_before_any_work(tmp_path, family, changes, expected):
    directory = refused_copy(tmp_path, family, changes)
    data = tmp_path / "examples.json"
    data.write_text(json.dumps([{"text": "a cat"}]))
    assert expected in input_error(extract_attention.main, "--preprocessed-data-file", str(data), "--model",
                                   str(directory), "--max-sequence-length", "64")
    assert not (tmp_path / "examples_attn.pkl").exists()


@pytest.mark.parametrize(("damage", "expected"), [
    (lambda directory: (directory / "tokenizer.json").write_text("{not json"), "not a readable tokenizer.json"),
    (lambda directory: (directory / "tokenizer.json").write_text('{"model": {"type": "Nonsense"}}'),
     "not a readable tokenizer.json"),
    (lambda directory: refused_vocab(directory), "beyond the model's vocab_size"),
], ids=["malformed", "unknown-model", "vocab-too-large"])
def test_a_bad_tokenizer_is_refused_before_any_work(tmp_path, damage, expected):
    directory = refused_copy(tmp_path, "roberta")
    damage(directory)
    data = tmp_path / "examples.json"
    data.write_text(json.dumps([{"text": "a cat"}]))
    assert expected in input_error(extract_attention.main, "--preprocessed-data-file", str(data), "--model",
                                   str(directory), "--max-sequence-length", "64")
    assert not (tmp_path / "examples_attn.pkl").exists()


def refused_vocab(directory: Path) -> None:
    """Shrink the config's vocab_size below the tokenizer's ids."""
    config = json.loads((directory / "config.json").read_text())
    (directory / "config.json").write_text(json.dumps({**config, "vocab_size": config["vocab_size"] - 5}))


@pytest.mark.parametrize(("key", "limit", "bucket_size", "max_position"),
                         [("log_buckets_256_512", 8191, 256, 512), ("log_buckets_8_64", 100, 8, 64)])
def test_log_buckets_equal_transformers(key, limit, bucket_size, max_position):
    """DeBERTa's relative position buckets, in float32 as transformers, at every distance up to 8,191 (DeBERTa-v3's
    256 buckets and 512 positions, and the golden model's)."""
    from keras import ops

    from bert.deberta import log_buckets

    relative = ops.arange(-limit, limit + 1, dtype="int32")
    buckets = ops.convert_to_numpy(log_buckets(relative, bucket_size, max_position))
    np.testing.assert_array_equal(buckets, golden("deberta-v2")[key])


def test_a_hub_style_modernbert_config_reads_as_transformers_5_writes_it(tmp_path):
    """answerdotai/ModernBERT-base's config.json keys (global_attn_every_n_layers, global/local_rope_theta, norm_eps
    beside a layer_norm_eps the model does not read) give the config of transformers 5's layer_types and
    rope_parameters."""
    saved = json.loads((FAMILIES_DIR / "modernbert" / "config.json").read_text())
    hub_style = {key: value for key, value in saved.items() if key not in ("layer_types", "rope_parameters")}
    hub_style |= {"global_attn_every_n_layers": 2, "global_rope_theta": 160000.0, "local_rope_theta": 10000.0,
                  "layer_norm_eps": 1e-12, "norm_eps": 1e-5}
    (tmp_path / "config.json").write_text(json.dumps(hub_style))
    expected = read_config(FAMILIES_DIR / "modernbert")
    assert expected.layer_types == ("full_attention", "sliding_attention") * 2 and expected.layer_norm_eps == 1e-5
    assert read_config(tmp_path) == expected


def test_roles_come_from_the_tokenizer():
    for family, (cls, sep) in ROLES.items():
        assert open_tokenizer(FAMILIES_DIR / family).special_tokens == SpecialTokens(cls, sep)
    roberta = open_tokenizer(FAMILIES_DIR / "roberta")
    assert roberta.pair(["a"], ["b"]) == ["<s>", "a", "</s>", "</s>", "b", "</s>"]
    assert roberta.template.overhead == 4


def run_ok(*args: str) -> None:
    """Run a script of the repository root; it must succeed."""
    result = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr


def plain_to_key(attention_maps: np.ndarray, is_key: np.ndarray) -> np.ndarray:
    """The mean over query rows of the attention to the keys of `is_key` [n], float64 [layers, heads]."""
    return attention_maps.astype(np.float64)[..., is_key].sum(-1).mean(-1)


@pytest.mark.slow
@pytest.mark.parametrize("family", ["roberta", "albert"])
def test_the_whole_chain_runs_on_a_family_with_its_own_special_tokens(family, tmp_path):
    model = ["--model", str(FAMILIES_DIR / family), "--max-sequence-length", "64"]
    cls, sep = ROLES[family]
    text = tmp_path / "unlabeled.txt"
    text.write_bytes((ROOT / "data" / "sample" / "unlabeled.txt").read_bytes())
    run_ok("preprocess_unlabeled.py", "--data-file", str(text), "--num-docs", "12", *model)
    segments = read_json(tmp_path / "unlabeled.json")
    separator = [sep, sep] if family == "roberta" else [sep]
    for segment in segments:
        tokens = segment["tokens"]
        assert tokens[0] == cls and tokens[-1] == sep and len(tokens) <= 64
        middle = tokens.index(sep)
        assert tokens[middle:middle + len(separator)] == separator and tokens.count(sep) == 1 + len(separator)
    run_ok("extract_attention.py", "--preprocessed-data-file", str(tmp_path / "unlabeled.json"), *model)
    run_ok("general_analysis.py", "--attn-data-file", str(tmp_path / "unlabeled_attn.pkl"), "--outdir",
           str(tmp_path / "chain"))
    run_ok("analyze_corpus.py", "--data-file", str(text), "--num-docs", "12", "--segment-seed", "0", *model,
           "--outdir", str(tmp_path / "corpus"))
    chain, corpus = read_json(tmp_path / "chain" / "general.json"), read_json(tmp_path / "corpus" / "general.json")
    examples = read_examples(tmp_path / "unlabeled_attn.pkl")
    to_cls = np.mean([plain_to_key(example["attns"], np.array(example["tokens"]) == cls) for example in examples], 0)
    to_sep = np.mean([plain_to_key(example["attns"], np.array(example["tokens"]) == sep) for example in examples], 0)
    for general in (chain, corpus):
        np.testing.assert_allclose(general["avg_attn"]["cls"], to_cls, rtol=1e-9)
        np.testing.assert_allclose(general["avg_attn"]["sep"], to_sep, rtol=1e-9)
        assert general["special_tokens"] == {"cls": cls, "sep": sep}


@pytest.mark.slow
def test_word_level_analyses_run_on_roberta(tmp_path):
    model = ["--model", str(FAMILIES_DIR / "roberta"), "--max-sequence-length", "64"]
    run_ok("preprocess_depparse.py", "--data-dir", str(ROOT / "data" / "sample" / "depparse"), "--outdir",
           str(tmp_path))
    for split in ("train", "dev"):
        run_ok("extract_attention.py", "--preprocessed-data-file", str(tmp_path / f"{split}.json"), "--word_level",
               *model)
    dev = read_examples(tmp_path / "dev_attn.pkl")
    assert dev[0]["special_tokens"] == {"cls": "<s>", "sep": "</s>"}
    assert all(example["attns"].shape[-1] == len(example["words"]) + 2 for example in dev if "attns" in example)
    run_ok("syntax_analysis.py", "--attn-data-file", str(tmp_path / "dev_attn.pkl"), "--select-attn-data-file",
           str(tmp_path / "train_attn.pkl"), "--min-count", "5", "--outdir", str(tmp_path / "syntax"))
    assert (tmp_path / "syntax" / "syntax.json").is_file()
    run_ok("preprocess_coref.py", "--data-file", str(ROOT / "data" / "sample" / "coref" / "sample.conllu"),
           "--outfile", str(tmp_path / "coref.json"), *model)
    run_ok("extract_attention.py", "--preprocessed-data-file", str(tmp_path / "coref.json"), "--word_level", *model)
    run_ok("coref_analysis.py", "--attn-data-file", str(tmp_path / "coref_attn.pkl"), "--outdir",
           str(tmp_path / "coref"))
    for kind in ("norm", "rollout"):
        run_ok("extract_attention.py", "--preprocessed-data-file", str(tmp_path / "dev.json"), "--map", kind,
               "--outfile", str(tmp_path / f"dev_{kind}.pkl"), *model)
        for example in read_examples(tmp_path / f"dev_{kind}.pkl"):
            np.testing.assert_allclose(example["attns"].astype(np.float32).sum(-1), 1, atol=2e-3)


def test_segments_take_the_model_s_pair_template_in_both_modes():
    from preprocessing.unlabeled import build_segments, original_segments

    template = open_tokenizer(FAMILIES_DIR / "roberta").template
    documents = [[["Ġa", "Ġb", "Ġc"], ["Ġd", "Ġe"], ["Ġf", "Ġg", "Ġh", "Ġi"]]] * 3
    ours, _ = build_segments(documents, 9, num_segments=100, template=template)
    lines = ["a b c", "d e", "f g h i", ""] * 3
    original = original_segments(lines, str.split, 9, 100, template)
    assert ours and original
    for segment in ours + original:
        assert len(segment) <= 9 and segment[0] == "<s>" and segment[-1] == "</s>"
        separator = segment.index("</s>")
        assert segment[separator + 1] == "</s>" and segment.count("</s>") == 3
        assert separator > 1 and len(segment) - separator > 3  # A and B each hold a token
