"""On one GPU: our extraction, head distances and streaming against Hugging Face transformers, in one run.

1. Extraction, examples/s, same checkpoint, same examples, same output (float16 maps [layers, heads, n, n] of every
   example on the host): ours (bert.extraction, examples sorted by length and batched by a token budget, by default
   64 x 128 tokens, in extraction's chunks of 256) against transformers' BertModel (eager attention,
   `output_attentions=True`, float32, batches of 16 in input order with `padding=True`, each example's maps
   cropped to its length and made float16 numpy on the host). Workloads: UD EWT dev sentences (word lists) and
   128-token Wikipedia segments. Each side is warmed up once on the whole workload (compilation), then runs
   alternate and the best counts; the largest absolute difference between the two sides' maps is printed.
2. Head distances (analysis/general/head_distances.py) of 144-head maps of 128 tokens (softmaxes of random logits
   of varied sharpness, float16): the numba kernel on the CPU cores against the keras.ops path on the backend's
   device (a GPU with JAX, in float64), seconds per example, and their largest relative difference.
3. Streaming (analysis.engines.streaming.ShardAnalyzer with the general analysis) on the Wikipedia segments,
   segments/s, against extraction alone with the same extractor, without and with head distances of every
   segment.

The checkpoint is BERT-base sized with random weights: transformers' `BertModel(BertConfig())` after
`torch.manual_seed(0)`, saved with `save_pretrained` (safetensors), with the vocab.txt of the embedded model; without
PyTorch, numpy random weights of the same layout (ours only). The workloads are read from `--data` (default
`.gpu/`), made there by `--prepare` from the real data beside the project (UD EWT dev, the Wikipedia sample).

Run from the repository root; the table goes to stdout and, when OUT is set, with a JSON of the numbers to $OUT:
    .venv/bin/python bench/gpu_bench.py --prepare      # write .gpu/ (data and vocabulary to carry)
    .venv/bin/python bench/gpu_bench.py --quick        # a small smoke test on the CPU
    KERAS_BACKEND=jax PYTHONPATH=. python3 bench/gpu_bench.py   # on the GPU machine
"""

import argparse
import importlib
import json
import os
import platform
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
EWT_FILE, WIKIPEDIA_FILE, VOCAB_FILE = "ewt_dev.json", "wikipedia_segments.json", "vocab.txt"
REFERENCE_BATCH = 16
CHUNK = 256
SEGMENT_LENGTH = 128
START = time.perf_counter()


def log(message: str) -> None:
    """A progress line on stdout with the seconds since start."""
    print(f"[{time.perf_counter() - START:6.1f} s] {message}", flush=True)


def prepare_data(directory: Path, sentences: int, segments: int) -> None:
    """Write the workloads and the vocabulary into `directory`: UD EWT dev word lists, 128-token Wikipedia segments
    (preprocessing.unlabeled.build_segments with our tokenizer) and the embedded model's vocab.txt."""
    from bert.checkpoint import embedded_model_dir, open_tokenizer
    from preprocessing.depparse import parse_conllu
    from preprocessing.unlabeled import build_segments, read_documents

    directory.mkdir(parents=True, exist_ok=True)
    vocab = embedded_model_dir() / VOCAB_FILE
    (directory / VOCAB_FILE).write_bytes(vocab.read_bytes())
    ewt = parse_conllu(SHARED_DATA / "ud-english-ewt" / "dev.conllu")[:sentences]
    (directory / EWT_FILE).write_text(json.dumps([{"words": sentence["words"]} for sentence in ewt]))
    tokenizer = open_tokenizer(vocab.parent)
    documents = ([tokenizer.tokenize(line) for line in document]
                 for document in read_documents(SHARED_DATA / "wikipedia-sample" / "unlabeled.txt"))
    tokens, _ = build_segments(documents, SEGMENT_LENGTH, segments)
    (directory / WIKIPEDIA_FILE).write_text(json.dumps([{"tokens": segment} for segment in tokens]))
    log(f"wrote {len(ewt)} sentences, {len(tokens)} segments and the vocabulary to {directory}")


def load_workloads(directory: Path, sentences: int, segments: int) -> dict[str, list[dict]]:
    """The two workloads, cut to the sizes asked for: UD EWT dev sentences and Wikipedia segments."""
    ewt = json.loads((directory / EWT_FILE).read_text())[:sentences]
    wikipedia = json.loads((directory / WIKIPEDIA_FILE).read_text())[:segments]
    return {"UD EWT dev sentences": ewt, "Wikipedia 128-token segments": wikipedia}


def torch_or_none() -> object | None:
    """PyTorch, or None where it is not installed."""
    try:
        return importlib.import_module("torch")
    except ImportError:
        return None


def make_checkpoint(directory: Path, vocab: Path) -> str:
    """A BERT-base-sized Hugging Face directory with random weights in `directory`; says how it was made."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / VOCAB_FILE).write_bytes(vocab.read_bytes())
    vocab_size = len(vocab.read_text(encoding="utf-8").splitlines())
    torch = torch_or_none()
    if torch is not None:
        from transformers import BertConfig, BertModel

        torch.manual_seed(0)
        BertModel(BertConfig(vocab_size=vocab_size)).save_pretrained(str(directory))
        return "transformers BertModel(BertConfig()), torch.manual_seed(0), save_pretrained (safetensors)"
    numpy_checkpoint(directory, vocab_size)
    return "numpy normal(0, 0.02) weights, BERT-base layout (no PyTorch here)"


def numpy_checkpoint(directory: Path, vocab_size: int) -> None:
    """Random BERT-base weights (normal, std 0.02; LayerNorm 1 and 0) as model.safetensors with its config.json."""
    from safetensors.numpy import save_file

    rng = np.random.default_rng(0)
    shapes = {"embeddings.word_embeddings.weight": (vocab_size, 768),
              "embeddings.position_embeddings.weight": (512, 768), "embeddings.token_type_embeddings.weight": (2, 768),
              "embeddings.LayerNorm.weight": (768,), "embeddings.LayerNorm.bias": (768,)}
    for layer in range(12):
        for name, (rows, columns) in {"attention.self.query": (768, 768), "attention.self.key": (768, 768),
                                      "attention.self.value": (768, 768), "attention.output.dense": (768, 768),
                                      "intermediate.dense": (3072, 768), "output.dense": (768, 3072)}.items():
            shapes[f"encoder.layer.{layer}.{name}.weight"] = (rows, columns)
            shapes[f"encoder.layer.{layer}.{name}.bias"] = (rows,)
        for name in ("attention.output.LayerNorm", "output.LayerNorm"):
            shapes[f"encoder.layer.{layer}.{name}.weight"] = shapes[f"encoder.layer.{layer}.{name}.bias"] = (768,)
    tensors = {name: (np.ones(shape) if name.endswith("LayerNorm.weight") else np.zeros(shape)
                      if name.endswith("LayerNorm.bias") else rng.normal(0, 0.02, shape)).astype(np.float32)
               for name, shape in shapes.items()}
    save_file(tensors, str(directory / "model.safetensors"))
    config = {"model_type": "bert", "vocab_size": vocab_size, "hidden_size": 768, "num_hidden_layers": 12,
              "num_attention_heads": 12, "intermediate_size": 3072, "hidden_act": "gelu",
              "max_position_embeddings": 512, "type_vocab_size": 2, "layer_norm_eps": 1e-12}
    (directory / "config.json").write_text(json.dumps(config))


def environment() -> dict[str, str]:
    """Versions, devices and settings that the figures depend on."""
    import keras
    import numba

    info = {"python": platform.python_version(), "numpy": np.__version__, "keras": keras.__version__,
            "keras backend": keras.backend.backend(), "numba": f"{numba.__version__}, "
            f"{numba.config.NUMBA_NUM_THREADS} threads", "CPU cores": str(os.cpu_count())}
    if keras.backend.backend() == "jax":
        import jax

        info["jax"] = f"{jax.__version__}, devices {jax.devices()}"
        info["jax float32 matmul precision"] = str(jax.config.jax_default_matmul_precision or "default")
    torch = torch_or_none()
    if torch is not None:
        import transformers

        gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none (CPU)"
        info |= {"torch": torch.__version__, "transformers": transformers.__version__, "torch GPU": gpu,
                 "torch allow_tf32 (matmul)": str(torch.backends.cuda.matmul.allow_tf32)}
    return info


class Ours:
    """Our pipeline from examples to float16 maps: prepare_example, then AttentionExtractor's length-sorted batches
    of at most `tokens_per_batch` tokens, in chunks of 256 examples."""

    def __init__(self, bert_dir: Path, tokens_per_batch: int):
        from bert.checkpoint import open_tokenizer
        from bert.extraction import build_extractor

        self.tokenizer = open_tokenizer(bert_dir)
        self.extractor = build_extractor(bert_dir, self.tokenizer, tokens_per_batch=tokens_per_batch)

    def prepare(self, examples: list[dict], max_length: int = 512) -> list:
        """Every example tokenized as extract_attention.py does (token level)."""
        from bert.extraction import prepare_example

        return [prepare_example(example, self.tokenizer, Path("bench"), index, max_length, False)
                for index, example in enumerate(examples)]

    def run(self, examples: list[dict]) -> list[np.ndarray]:
        """Each example's float16 maps [layers, heads, n, n], in input order."""
        from tqdm import tqdm

        chunks = self.extractor.output_chunks(examples, self.prepare(examples), 0, CHUNK, "mean", tqdm(disable=True))
        return [example["attns"] for chunk in chunks for example in chunk]


class Reference:
    """transformers' BertModel, eager attention, float32 on the GPU (when there is one), batches of 16 in input
    order with padding=True; maps cropped to each example's length and made float16 numpy on the host."""

    def __init__(self, bert_dir: Path):
        import torch
        from transformers import BertModel, BertTokenizerFast

        self.torch = torch
        self.device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        self.tokenizer = BertTokenizerFast(str(bert_dir / VOCAB_FILE), do_lower_case=True)
        self.model = BertModel.from_pretrained(str(bert_dir), attn_implementation="eager", dtype=torch.float32)
        self.model = self.model.to(self.device).eval()

    def encode(self, batch: list[dict]) -> dict:
        """The model inputs of a batch, padded to its longest example, on the model's device."""
        if "words" in batch[0]:
            inputs = self.tokenizer([example["words"] for example in batch], is_split_into_words=True, padding=True,
                                    return_tensors="pt")
        else:
            ids = [self.tokenizer.convert_tokens_to_ids(example["tokens"]) for example in batch]
            inputs = self.tokenizer.pad({"input_ids": ids}, padding=True, return_tensors="pt")
            is_sep = inputs["input_ids"] == self.tokenizer.sep_token_id
            inputs["token_type_ids"] = ((is_sep.cumsum(1) - is_sep.long()) > 0).long()
        return {name: tensor.to(self.device) for name, tensor in inputs.items()}

    def run(self, examples: list[dict]) -> list[np.ndarray]:
        """Each example's float16 maps [layers, heads, n, n], in input order."""
        maps = []
        for start in range(0, len(examples), REFERENCE_BATCH):
            inputs = self.encode(examples[start : start + REFERENCE_BATCH])
            with self.torch.inference_mode():
                attentions = self.torch.stack(self.model(**inputs, output_attentions=True).attentions, dim=1).cpu()
            lengths = inputs["attention_mask"].sum(1).tolist()
            maps.extend(attentions[row, :, :, :n, :n].numpy().astype(np.float16) for row, n in enumerate(lengths))
        return maps


def timed(function: Callable[..., object], *args: object) -> tuple[float, object]:
    """Seconds that `function(*args)` took, and what it returned."""
    start = time.perf_counter()
    result = function(*args)
    return time.perf_counter() - start, result


def largest_difference(ours: list[np.ndarray], reference: list[np.ndarray]) -> tuple[float, int]:
    """Largest absolute difference between the two sides' maps, and how many examples differ in shape (not
    compared: the two tokenizers split them differently)."""
    worst, mismatched = 0.0, 0
    for a, b in zip(ours, reference, strict=True):
        if a.shape != b.shape:
            mismatched += 1
            continue
        worst = max(worst, float(np.abs(a.astype(np.float32) - b.astype(np.float32)).max()))
    return worst, mismatched


def extraction(bert_dir: Path, workloads: dict[str, list[dict]], tokens_per_batch: int, rounds: int,
               results: dict) -> None:
    """Section 1: examples/s of ours and the reference on each workload (best of `rounds` alternating runs after
    a warm-up of each), and the maps' agreement."""
    ours = Ours(bert_dir, tokens_per_batch)
    reference = Reference(bert_dir) if torch_or_none() is not None else None
    log(f"extraction: models loaded (reference: {'yes' if reference else 'no PyTorch, skipped'})")
    for workload, examples in workloads.items():
        lengths = [len(example.tokens) for example in ours.prepare(examples)]
        entry = results.setdefault("extraction", {})[workload] = {
            "examples": len(examples), "mean tokens": float(np.mean(lengths)), "max tokens": max(lengths)}
        sides = {"ours": ours, "transformers": reference} if reference else {"ours": ours}
        warm = {name: timed(side.run, examples) for name, side in sides.items()}
        for name, (seconds, _) in warm.items():
            entry[f"{name} warm-up s"] = seconds
            log(f"{workload}: {name} warm-up {seconds:.1f} s")
        if reference:
            entry["max abs difference"], entry["examples not compared"] = largest_difference(
                warm["ours"][1], warm["transformers"][1])
            log(f"{workload}: max abs difference {entry['max abs difference']:.2e}")
        del warm
        times: dict[str, list[float]] = {name: [] for name in sides}
        for _ in range(rounds):
            for name, side in sides.items():
                times[name].append(timed(side.run, examples)[0])
        for name in sides:
            entry[f"{name} s"] = times[name]
            entry[f"{name} examples/s"] = len(examples) / min(times[name])
        log(f"{workload}: " + ", ".join(f"{name} {entry[f'{name} examples/s']:.1f} ex/s" for name in sides))


def random_maps(rng: np.random.Generator, length: int = SEGMENT_LENGTH) -> np.ndarray:
    """float16 maps [12, 12, n, n] whose rows are softmaxes of random logits of varied sharpness."""
    logits = rng.normal(size=(12, 12, length, length)) * rng.choice([0.5, 2.0, 8.0, 40.0], size=(12, 12, length, 1))
    weights = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return (weights / weights.sum(axis=-1, keepdims=True)).astype(np.float16)


def enable_float64() -> None:
    """Let the backend compute in float64 (JAX needs jax_enable_x64; the others always can)."""
    import keras

    if keras.backend.backend() == "jax":
        import jax

        jax.config.update("jax_enable_x64", True)


def head_distances(examples: int, results: dict) -> None:
    """Section 2: seconds per example of the numba kernel and of the keras path (each after one warm-up example),
    and the largest relative difference of their distances over pairs of distinct heads."""
    from analysis.general.head_distances import HeadDistances
    from analysis.heads import HeadGrid

    rng = np.random.default_rng(0)
    maps = [random_maps(rng) for _ in range(examples + 1)]
    enable_float64()
    distances, entry = {}, results.setdefault("head distances", {"examples timed": examples})
    for name, use_keras in (("numba (CPU cores)", False), ("keras.ops (backend device)", True)):
        accumulator = HeadDistances(HeadGrid(12, 12), use_keras)
        entry[f"{name} warm-up s"] = timed(accumulator.update, maps[0])[0]
        seconds = [timed(accumulator.update, example_maps)[0] for example_maps in maps[1:]]
        entry[f"{name} s/example"] = float(np.median(seconds))
        entry[f"{name} s/example, all"] = seconds
        distances[name] = accumulator.result()
        log(f"head distances, {name}: {entry[f'{name} s/example']:.4f} s/example (median of {len(seconds)})")
    numba_result, keras_result = distances.values()
    off_diagonal = ~np.eye(len(numba_result), dtype=bool)
    relative = np.abs(keras_result - numba_result)[off_diagonal] / np.abs(numba_result)[off_diagonal]
    entry["max relative difference"] = float(relative.max())
    log(f"head distances: max relative difference {relative.max():.2e}")


def streaming(bert_dir: Path, segments: list[dict], tokens_per_batch: int, rounds: int, results: dict) -> None:
    """Section 3: segments/s of extraction alone and of ShardAnalyzer with the general analysis, without and with
    the head distances of every segment (best of `rounds` alternating runs after a warm-up of each)."""
    from tqdm import tqdm

    from analysis.engines.streaming import ModelSettings, PartialStore, ShardAnalyzer, cut_shards, run_local
    from analysis.general.pipeline import GeneralAnalysis
    from analysis.heads import HeadGrid
    from analysis.options import GeneralOptions
    from bert.checkpoint import open_tokenizer, read_config
    from bert.extraction import prepare_example

    tokenizer = open_tokenizer(bert_dir)
    prepared = [prepare_example(segment, tokenizer, Path("bench"), index, SEGMENT_LENGTH, False)
                for index, segment in enumerate(segments)]
    config = read_config(bert_dir)
    grid = HeadGrid(config.num_hidden_layers, config.num_attention_heads)
    analyses = {"streaming, no head distances": GeneralAnalysis(GeneralOptions(), grid, "bench", distance_examples=0),
                "streaming + head distances of all": GeneralAnalysis(GeneralOptions(), grid, "bench",
                                                                     distance_examples=len(segments))}
    for analysis in analyses.values():
        analysis.plan(list(range(len(segments))))
    settings = ModelSettings(str(bert_dir), max_sequence_length=SEGMENT_LENGTH,
                             batch_size=tokens_per_batch // SEGMENT_LENGTH)
    analyzer = ShardAnalyzer(settings, analyses["streaming, no head distances"], "bench")
    shards = list(cut_shards(segments, prepared, CHUNK))

    def extract_only(count: int) -> None:
        for _ in analyzer.extractor.output_chunks(segments[:count], prepared[:count], 0, CHUNK, "mean",
                                                  tqdm(disable=True)):
            pass

    def stream(analysis: GeneralAnalysis, count: int) -> None:
        analyzer.analysis = analysis
        with tempfile.TemporaryDirectory() as scratch:
            store = PartialStore(scratch, "bench", len(shards))
            run_local(analyzer, shards[: -(-count // CHUNK)], store, tqdm(disable=True))
            store.close()

    runs = {"extraction alone": extract_only,
            **{name: (lambda count, analysis=analysis: stream(analysis, count)) for name, analysis in analyses.items()}}
    entry = results.setdefault("streaming", {"segments": len(segments), "shard size": CHUNK})
    for name, function in runs.items():  # warm-up on the first shard: every shard has the same batch shapes
        entry[f"{name} warm-up s (first shard)"] = timed(function, CHUNK)[0]
        log(f"streaming: {name} warm-up {entry[f'{name} warm-up s (first shard)']:.1f} s")
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(rounds):
        for name, function in runs.items():
            times[name].append(timed(function, len(segments))[0])
    for name in runs:
        entry[f"{name} s"] = times[name]
        entry[f"{name} segments/s"] = len(segments) / min(times[name])
    log("streaming: " + ", ".join(f"{name} {entry[f'{name} segments/s']:.1f}/s" for name in runs))


def table(results: dict, tokens_per_batch: int) -> str:
    """The environment and the Markdown table of every figure measured so far."""
    rows = [f"- {key}: {value}" for key, value in results["environment"].items()]
    rows += [f"- checkpoint: BERT-base size (12 x 12 heads, hidden 768), random: {results.get('checkpoint')}", "",
             "| section | workload | what | figure |", "| --- | --- | --- | --- |"]
    for workload, entry in results.get("extraction", {}).items():
        size = f"{entry['examples']} ex, mean {entry['mean tokens']:.1f} tokens (max {entry['max tokens']})"
        settings = {"ours": f"length-sorted, {tokens_per_batch} tokens/batch ({tokens_per_batch // 128} x 128), "
                            f"chunks of {CHUNK}",
                    "transformers": f"eager, float32, batches of {REFERENCE_BATCH} in input order, padding=True"}
        for name, described in settings.items():
            if f"{name} examples/s" in entry:
                rows.append(f"| extraction | {workload}, {size} | {name} ({described}) | "
                            f"{entry[f'{name} examples/s']:.1f} examples/s |")
        if "transformers examples/s" in entry:
            rows.append(f"| extraction | {workload} | ours / transformers | "
                        f"{entry['ours examples/s'] / entry['transformers examples/s']:.2f}x |")
        if "max abs difference" in entry:
            rows.append(f"| extraction | {workload} | max abs difference of the float16 maps | "
                        f"{entry['max abs difference']:.2e} ({entry['examples not compared']} examples of another "
                        "tokenization not compared) |")
    entry = results.get("head distances", {})
    for name in ("numba (CPU cores)", "keras.ops (backend device)"):
        if f"{name} s/example" in entry:
            rows.append(f"| head distances | 144 heads, 128 tokens, random float16 maps | {name} | "
                        f"{entry[f'{name} s/example'] * 1000:.1f} ms/example (median of {entry['examples timed']}; "
                        f"warm-up {entry[f'{name} warm-up s']:.1f} s) |")
    if "max relative difference" in entry:
        rows.append(f"| head distances | | max relative difference, keras vs numba | "
                    f"{entry['max relative difference']:.2e} |")
    entry = results.get("streaming", {})
    for name in ("extraction alone", "streaming, no head distances", "streaming + head distances of all"):
        if f"{name} segments/s" in entry:
            share = entry[f"{name} segments/s"] / entry["extraction alone segments/s"]
            rows.append(f"| streaming | Wikipedia, {entry['segments']} segments, shards of {entry['shard size']} | "
                        f"{name} | {entry[f'{name} segments/s']:.1f} segments/s ({share:.0%} of extraction) |")
    return "\n".join(rows)


def save(results: dict, tokens_per_batch: int) -> None:
    """Write the table and the numbers to $OUT, when it is set."""
    out = os.environ.get("OUT")
    if out:
        Path(out, "gpu_bench.json").write_text(json.dumps(results, indent=1, default=str))
        Path(out, "gpu_bench.md").write_text(table(results, tokens_per_batch) + "\n")


def run_section(name: str, function: Callable[[], None], results: dict, deadline: float) -> None:
    """Run one section unless the deadline has passed; a failure is printed and recorded, and the run goes on."""
    if time.perf_counter() - START > deadline:
        log(f"{name}: skipped, past the {deadline:.0f} s deadline")
        results.setdefault("skipped", []).append(name)
        return
    log(f"{name}: start")
    try:
        function()
    except Exception:  # noqa: BLE001 - one device call: report a section's failure and measure the rest
        traceback.print_exc()
        results.setdefault("failed", {})[name] = traceback.format_exc(limit=3)


def main() -> None:
    """Prepare the data, or measure the three sections and print the table."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=ROOT / ".gpu", help="workloads and vocabulary (see --prepare)")
    parser.add_argument("--prepare", action="store_true", help="write the workloads and vocabulary to --data, stop")
    parser.add_argument("--quick", action="store_true", help="a small smoke test (CPU)")
    parser.add_argument("--sentences", type=int, default=1000)
    parser.add_argument("--segments", type=int, default=512)
    parser.add_argument("--tokens-per-batch", type=int, default=64 * 128, help="our token budget per batch")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--distance-examples", type=int, default=8, help="examples timed per head-distance path")
    parser.add_argument("--deadline", type=float, default=330, help="seconds after which no section starts")
    args = parser.parse_args()
    if args.prepare or not (args.data / WIKIPEDIA_FILE).exists():
        prepare_data(args.data, args.sentences, args.segments)
        if args.prepare:
            return
    if args.quick:
        args.sentences, args.segments, args.rounds, args.distance_examples = 32, 16, 2, 2
    from bert.backend import import_keras

    import_keras()
    results: dict = {"environment": environment(), "tokens per batch (ours)": args.tokens_per_batch}
    workloads = load_workloads(args.data, args.sentences, args.segments)
    with tempfile.TemporaryDirectory() as scratch:
        bert_dir = Path(scratch) / "bert-base-random"
        results["checkpoint"] = make_checkpoint(bert_dir, args.data / VOCAB_FILE)
        log(f"checkpoint: {results['checkpoint']}")
        sections = {
            "extraction": lambda: extraction(bert_dir, workloads, args.tokens_per_batch, args.rounds, results),
            "streaming": lambda: streaming(bert_dir, workloads["Wikipedia 128-token segments"], args.tokens_per_batch,
                                           max(1, args.rounds - 1), results),
            "head distances": lambda: head_distances(args.distance_examples, results),  # last: it turns on float64
        }
        for name, function in sections.items():
            run_section(name, function, results, args.deadline)
            save(results, args.tokens_per_batch)
    print("\n" + table(results, args.tokens_per_batch))
    for name in results.get("failed", {}):
        print(f"FAILED: {name} (traceback above)")
    sys.exit(1 if results.get("failed") else 0)


if __name__ == "__main__":
    main()
