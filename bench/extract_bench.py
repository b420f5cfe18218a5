"""Extraction throughput: ours against the reference (Hugging Face transformers), side by side in one run.

Both get the same checkpoint, the same examples (checked to give the model the same token ids) and produce the same
output: float16 maps [layers, heads, n, n] of every example on the host. The reference is the checkpoint's
AutoModel and AutoTokenizer fed as their documentation shows: batches of 16 in input order, `padding=True`, eager
attention, `output_attentions=True`; ours is our pipeline (length-sorted batches by a token budget). Runs alternate
(ours, reference, ours, reference) and the faster run of each counts; the float16 maps of the first 16 examples of
each workload are compared (largest |difference| printed). Two modes:

Default: the embedded MiniLM and a BERT-base-sized checkpoint with random weights, fixed sizes, two rounds (`--quick`: a
quarter, one round). Useful GFLOP/s counts the FLOPs of the full encoder on real tokens only, and is compared with
two limits stated beside it: the Keras backend's own float32 matrix multiply at the model's shapes (a batch of 2,048
tokens through its projections and feed-forward), measured in the same run, and the CPU's float32 peak from its
cores, vector width and clock (assumptions printed). A ratio is never printed above 100%: a rate past a limit means
the limit was measured low, and the table says so instead. Then the peak memory of extractions of 500 and 2,000
segments (`--skip-memory` skips it).

`--families`: each family of bert/config.py (`--only` picks some) at base size with random weights, drawn by
transformers into a temporary directory (bench/families.py), on `--ewt` UD EWT dev sentences (`words` examples;
transformers gets the words with `is_split_into_words=True`, the byte-level BPE tokenizers of RoBERTa and ModernBERT
`add_prefix_space=True`) and
`--wikipedia` 128-token Wikipedia segments cut by preprocess_unlabeled.py in each model's own pair template
(transformers gets the same token ids, padded, with the template's token types where the model has token types: 0
through the first separator, 1 after), best of `--rounds`. The table gives examples/s of each, their ratio and the
largest |difference| of the maps, which must be at most 6e-4: the run exits with status 1 otherwise.

Needs the reference: pip install -r bench/requirements.txt. Run from the repository root:
    .venv/bin/python bench/extract_bench.py [--quick] [--skip-memory]
    .venv/bin/python bench/extract_bench.py --families [--only FAMILY ...] [--ewt 400] [--wikipedia 100] [--rounds 3]
"""
import argparse
import gc
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from families import FAMILIES, write_base_checkpoint  # bench/ is the script's directory
from tqdm import tqdm

from bert.checkpoint import embedded_model_dir, load_encoder, read_config
from bert.config import EncoderConfig
from bert.extraction import AttentionExtractor, PreparedExample, open_model, prepare_example
from bert.model_tokenizer import ModelTokenizer
from preprocessing.depparse import parse_conllu

ROOT = Path(__file__).resolve().parents[1]

SHARED_DATA = ROOT.parent / "shared" / "data"
REFERENCE_BATCH = 16  # examples per batch of the reference, as its documentation feeds it
MAX_MAP_DIFFERENCE = 6e-4  # the largest |difference| of the float16 maps allowed (--families)


def backend_matmul_gflops(config: EncoderConfig, tokens: int = 2048, repeats: int = 10) -> float:
    """The Keras backend's float32 matrix-multiply rate at the model's shapes: `tokens` rows through the four
    attention projections and the two feed-forward products, best of `repeats`."""
    import keras
    from keras import ops

    hidden, inner = config.hidden_size, config.intermediate_size
    rng = np.random.default_rng(0)
    shapes = [(hidden, hidden)] * 4 + [(hidden, inner), (inner, hidden)]
    operands = [(ops.convert_to_tensor(rng.random((tokens, k), np.float32)),
                 ops.convert_to_tensor(rng.random((k, m), np.float32))) for k, m in shapes]

    def multiply_all() -> None:
        results = [ops.matmul(a, b) for a, b in operands]
        ops.convert_to_numpy(ops.sum(ops.stack([ops.sum(result) for result in results])))

    multiply_all()
    best = min(_timed(multiply_all) for _ in range(repeats))
    flops = sum(2 * tokens * k * m for k, m in shapes)
    print(f"Keras {keras.__version__} on {keras.backend.backend()}: float32 matmul at {config.num_attention_heads}"
          f"-head hidden {hidden}, {tokens} tokens: {flops / best / 1e9:.1f} GFLOP/s")
    return flops / best / 1e9


def cpu_peak_gflops() -> tuple[float, str]:
    """The CPU's float32 peak, cores x clock x vector lanes x 2 (a fused multiply-add) x 2 FMA units, and how it
    was found (from /proc/cpuinfo; the two FMA units per core are an assumption)."""
    info = Path("/proc/cpuinfo").read_text()
    flags = set(next(line for line in info.splitlines() if line.startswith("flags")).split(":")[1].split())
    lanes = 16 if "avx512f" in flags else 8 if "avx2" in flags and "fma" in flags else 4
    megahertz = max(float(line.split(":")[1]) for line in info.splitlines() if line.startswith("cpu MHz"))
    max_frequency = Path("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq")
    if max_frequency.exists():
        megahertz = max(megahertz, int(max_frequency.read_text()) / 1000)
    cores = os.cpu_count() or 1
    model = next((line.split(":")[1].strip() for line in info.splitlines() if line.startswith("model name")), "?")
    peak = cores * megahertz / 1000 * lanes * 2 * 2
    how = (f"{model}: {cores} logical cores x {megahertz / 1000:.2f} GHz x {lanes} float32 lanes x 2 (FMA) x 2 FMA "
           "units per core (assumed)")
    return peak, how


def share(rate: float, limit: float) -> str:
    """`rate` as a percentage of `limit`, never above 100%: past the limit, say that the limit was measured low."""
    return f"{rate / limit:.0%}" if rate <= limit else "over (limit measured low)"


def _timed(function, *args) -> float:
    """Seconds that `function(*args)` takes."""
    start = time.perf_counter()
    function(*args)
    return time.perf_counter() - start


def encoder_flops(config: EncoderConfig, lengths: list[int]) -> float:
    """FLOPs of the full encoder (projections, attention, feed-forward) on the real tokens of each example."""
    hidden, inner, layers = config.hidden_size, config.intermediate_size, config.num_hidden_layers
    n = np.asarray(lengths, np.float64)
    per_layer = 8 * n * hidden**2 + 4 * n * hidden * inner + 4 * n**2 * hidden
    return float(layers * per_layer.sum())


def random_hugging_face_checkpoint(model_dir: Path, vocab_file: Path) -> None:
    """A BERT-base-sized Hugging Face directory (12 x 12 heads, hidden 768) with random weights."""
    from safetensors.numpy import save_file

    vocab_size = len(vocab_file.read_text(encoding="utf-8").splitlines())
    config = {"vocab_size": vocab_size, "hidden_size": 768,
              "num_hidden_layers": 12, "num_attention_heads": 12, "intermediate_size": 3072, "hidden_act": "gelu",
              "max_position_embeddings": 512, "type_vocab_size": 2, "layer_norm_eps": 1e-12,
              "model_type": "bert", "architectures": ["BertModel"]}
    rng = np.random.default_rng(0)
    shapes = {"embeddings.word_embeddings.weight": (config["vocab_size"], 768),
              "embeddings.position_embeddings.weight": (512, 768),
              "embeddings.token_type_embeddings.weight": (2, 768),
              "embeddings.LayerNorm.weight": (768,), "embeddings.LayerNorm.bias": (768,)}
    for layer in range(12):
        prefix = f"encoder.layer.{layer}."
        for name, shape in [("attention.self.query", (768, 768)), ("attention.self.key", (768, 768)),
                            ("attention.self.value", (768, 768)), ("attention.output.dense", (768, 768)),
                            ("intermediate.dense", (3072, 768)), ("output.dense", (768, 3072))]:
            shapes[prefix + name + ".weight"] = shape
            shapes[prefix + name + ".bias"] = (shape[0],)
        for name in ("attention.output.LayerNorm", "output.LayerNorm"):
            shapes[prefix + name + ".weight"] = (768,)
            shapes[prefix + name + ".bias"] = (768,)
    tensors = {name: (rng.normal(0, 0.02, shape) + (name.endswith("LayerNorm.weight"))).astype(np.float32)
               for name, shape in shapes.items()}
    model_dir.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(model_dir / "model.safetensors"))
    (model_dir / "config.json").write_text(json.dumps(config))
    (model_dir / "vocab.txt").write_bytes(vocab_file.read_bytes())


def ewt_dev_examples(limit: int) -> list[dict]:
    """UD EWT dev sentences as `words` examples (token-level maps)."""
    sentences = parse_conllu(SHARED_DATA / "ud-english-ewt" / "dev.conllu")
    return [{"words": sentence["words"]} for sentence in sentences[:limit]]


def wikipedia_segments(limit: int, bert_dir: Path) -> list[dict]:
    """128-token segments of the Wikipedia sample in the model's own pair template (`[CLS] A [SEP] B [SEP]`,
    `<s> A </s></s> B </s>`), made by preprocess_unlabeled.py."""
    with tempfile.TemporaryDirectory() as scratch:
        text = Path(scratch) / "wiki.txt"
        text.write_bytes((SHARED_DATA / "wikipedia-sample" / "unlabeled.txt").read_bytes())
        subprocess.run([sys.executable, str(ROOT / "preprocess_unlabeled.py"), "--data-file", str(text),
                        "--num-docs", str(limit), "--model", str(bert_dir)], check=True, capture_output=True)
        return json.loads(text.with_suffix(".json").read_text())


def workload_parser(description: str) -> argparse.ArgumentParser:
    """The command line of the side-by-side benchmarks: rounds, and the sizes of the two workloads."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--ewt", type=int, default=400, help="UD EWT dev sentences (words examples)")
    parser.add_argument("--wikipedia", type=int, default=100, help="128-token Wikipedia segments")
    return parser


def workloads(args: argparse.Namespace, bert_dir: Path) -> dict[str, list[dict]]:
    """The two workloads of `workload_parser`'s sizes: short sentences and 128-token segments."""
    return {"UD EWT dev sentences": ewt_dev_examples(args.ewt),
            "Wikipedia 128-token segments": wikipedia_segments(args.wikipedia, bert_dir)}


def prepare_all(examples: list[dict], tokenizer: ModelTokenizer, max_length: int = 512) -> list[PreparedExample]:
    """Every example prepared for the model (token level), as extract_attention.py prepares them."""
    return [prepare_example(example, tokenizer, Path("bench"), index, max_length, False)
            for index, example in enumerate(examples)]


def timed_extraction(extractor: AttentionExtractor, examples: list[dict], prepared: list[PreparedExample]) -> float:
    """Seconds to turn every example into its output (its maps on the host), in extraction's chunks of 256."""
    start = time.perf_counter()
    for _ in extractor.output_chunks(examples, prepared, 0, 256, "mean", tqdm(disable=True)):
        pass
    return time.perf_counter() - start


class Ours:
    """Our pipeline from examples to float16 maps: tokenized as extract_attention.py does, then length-sorted batches
    by a token budget, each padded to its longest."""

    def __init__(self, model_dir: Path):
        _, self.config, self.tokenizer = open_model(model_dir, 512, False)
        self.extractor = AttentionExtractor(load_encoder(model_dir, "float16"), self.tokenizer)

    def prepare(self, examples: list[dict]) -> list[PreparedExample]:
        """Every example tokenized for the model (token level)."""
        return prepare_all(examples, self.tokenizer)

    def lengths(self, examples: list[dict]) -> list[int]:
        """Token count of each example."""
        return [len(example.tokens) for example in self.prepare(examples)]

    def token_ids(self, examples: list[dict]) -> list[list[int]]:
        """Each example's token ids as the model gets them."""
        return [self.tokenizer.convert_tokens_to_ids(example.tokens) for example in self.prepare(examples)]

    def run(self, examples: list[dict]) -> list[np.ndarray]:
        """Each example's float16 maps [layers, heads, n, n], in input order."""
        chunks = self.extractor.output_chunks(examples, self.prepare(examples), 0, 256, "mean", tqdm(disable=True))
        return [example["attns"] for chunk in chunks for example in chunk]


class Reference:
    """Hugging Face transformers: the checkpoint's AutoModel (eager attention) and AutoTokenizer, fed as their
    documentation shows: batches of 16 in input order, `padding=True`, `output_attentions=True`."""

    def __init__(self, model_dir: Path):
        import torch
        from transformers import AutoModel, AutoTokenizer

        self.torch = torch
        self.device = "cuda" if torch.cuda.is_available() else "cpu"  # on a GPU machine both sides use the GPU
        self.model = AutoModel.from_pretrained(str(model_dir), attn_implementation="eager").eval().to(self.device)
        # a byte-level BPE tokenizer must be told that pre-split words each follow a space
        options = {"add_prefix_space": True} if self.model.config.model_type == "roberta" else {}
        self.tokenizer = AutoTokenizer.from_pretrained(str(model_dir), **options)
        if self.model.config.model_type == "modernbert":  # its generic fast tokenizer ignores add_prefix_space
            from tokenizers import pre_tokenizers

            self.tokenizer.backend_tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True)
        self.token_types = getattr(self.model.config, "type_vocab_size", 0) > 1

    def inputs(self, batch: list[dict]) -> dict:
        """The model's inputs for a batch, padded to its longest: `words` examples through the tokenizer
        (`is_split_into_words=True`); `tokens` examples as their ids, with the template's token types (0 through the
        first separator, 1 after) where the model has token types."""
        if "words" in batch[0]:
            return self.tokenizer([example["words"] for example in batch], is_split_into_words=True, padding=True,
                                  return_tensors="pt")
        ids = [self.tokenizer.convert_tokens_to_ids(example["tokens"]) for example in batch]
        inputs = self.tokenizer.pad({"input_ids": ids}, padding=True, return_tensors="pt")
        if self.token_types:
            is_sep = inputs["input_ids"] == self.tokenizer.sep_token_id
            inputs["token_type_ids"] = ((is_sep.cumsum(1) - is_sep.long()) > 0).long()
        return inputs

    def batches(self, examples: list[dict]):
        """(inputs, each example's token count) of every batch of REFERENCE_BATCH examples, in input order."""
        for start in range(0, len(examples), REFERENCE_BATCH):
            inputs = self.inputs(examples[start : start + REFERENCE_BATCH])
            yield inputs, inputs["attention_mask"].sum(1).tolist()

    def token_ids(self, examples: list[dict]) -> list[list[int]]:
        """Each example's token ids as the model gets them (without the padding)."""
        return [row[:n] for inputs, lengths in self.batches(examples)
                for row, n in zip(inputs["input_ids"].tolist(), lengths, strict=True)]

    def run(self, examples: list[dict]) -> list[np.ndarray]:
        """Each example's maps [layers, heads, n, n], taken to float16 on the host, in input order."""
        maps = []
        for inputs, lengths in self.batches(examples):
            with self.torch.inference_mode():
                outputs = self.model(**inputs.to(self.device), output_attentions=True)
                attentions = self.torch.stack(outputs.attentions, dim=1).cpu()
            maps.extend(attentions[row, :, :, :n, :n].numpy().astype(np.float16) for row, n in enumerate(lengths))
        return maps


def check_same_tokens(ours: Ours, reference: Reference, examples: list[dict]) -> None:
    """Stop unless both implementations give the model the same token ids for every example."""
    for index, (mine, theirs) in enumerate(zip(ours.token_ids(examples), reference.token_ids(examples), strict=True)):
        if mine != theirs:
            raise SystemExit(f"example {index} is not the same input: ours gives the model {mine}, the reference "
                             f"{theirs}")


def largest_difference(ours_maps: list[np.ndarray], reference_maps: list[np.ndarray]) -> float:
    """The largest |difference| between two lists of float16 maps, which must have the same shapes."""
    worst = 0.0
    for index, (mine, theirs) in enumerate(zip(ours_maps, reference_maps, strict=True)):
        if mine.shape != theirs.shape:
            raise SystemExit(f"example {index}: ours has maps {mine.shape}, the reference {theirs.shape}")
        worst = max(worst, float(np.abs(mine.astype(np.float32) - theirs.astype(np.float32)).max()))
    return worst


def side_by_side(ours: Ours, reference: Reference, examples: list[dict], rounds: int) -> tuple[dict[str, float], float]:
    """Both on the same examples (same token ids, checked): a warm-up on the first 16 examples, whose maps are
    compared, then `rounds` alternating runs on all; (best seconds of "ours" and "reference", the largest
    |difference| of the compared maps)."""
    check_same_tokens(ours, reference, examples)
    worst = largest_difference(ours.run(examples[:16]), reference.run(examples[:16]))
    best = {"ours": float("inf"), "reference": float("inf")}
    for _ in range(rounds):
        for implementation, runner in (("ours", ours), ("reference", reference)):
            best[implementation] = min(best[implementation], _timed(runner.run, examples))
    return best, worst


def compare(name: str, bert_dir: Path, workloads: dict[str, list[dict]], cpu_peak: float, rounds: int) -> list[str]:
    """Time both implementations on each workload, alternating; table rows of figures and ratios."""
    config = read_config(bert_dir)
    ours, reference = Ours(bert_dir), Reference(bert_dir)
    matmul = 0.0
    rows = []
    for workload, examples in workloads.items():
        best, worst = side_by_side(ours, reference, examples, rounds)
        lengths = ours.lengths(examples)
        gflop = encoder_flops(config, lengths) / 1e9
        matmul = max(matmul, backend_matmul_gflops(config))  # measured beside each workload; the best counts
        for implementation in ("ours", "reference"):
            seconds = best[implementation]
            rows.append(f"| {name} | {workload} ({len(examples)} ex, mean {np.mean(lengths):.0f} tokens) | "
                        f"{implementation} | {len(examples) / seconds:.1f} | {gflop / seconds:.1f} | "
                        f"{share(gflop / seconds, matmul)} | {share(gflop / seconds, cpu_peak)} | "
                        f"{best['reference'] / seconds:.2f}x |")
        rows.append(f"|  | max abs difference of the float16 maps, ours vs reference: {worst:.1e} | | | | | | |")
    return rows


FAMILY_HEADER = ["| family (base size, random weights) | workload | examples | mean tokens | ours, examples/s | "
                 "reference, examples/s | ours vs reference | max abs difference of the maps |",
                 "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]


def compare_family(family: str, scratch: Path, args: argparse.Namespace) -> tuple[list[str], list[float], float]:
    """One family at base size with random weights (written into `scratch`) against the reference on both workloads:
    (table rows, the ratios ours vs reference, the largest |difference| of the maps)."""
    start = time.perf_counter()
    model_dir = write_base_checkpoint(family, scratch / family)
    print(f"({family}: base-size checkpoint written in {time.perf_counter() - start:.0f} s)", flush=True)
    ours, reference = Ours(model_dir), Reference(model_dir)
    rows, ratios, worst = [], [], 0.0
    for workload, examples in workloads(args, model_dir).items():
        best, difference = side_by_side(ours, reference, examples, args.rounds)
        ratio = best["reference"] / best["ours"]
        flag = "" if difference <= MAX_MAP_DIFFERENCE else f" (over {MAX_MAP_DIFFERENCE:.0e})"
        rows.append(f"| {family} | {workload} | {len(examples)} | {np.mean(ours.lengths(examples)):.1f} | "
                    f"{len(examples) / best['ours']:.2f} | {len(examples) / best['reference']:.2f} | {ratio:.2f}x | "
                    f"{difference:.1e}{flag} |")
        ratios.append(ratio)
        worst = max(worst, difference)
    return rows, ratios, worst


def run_families(args: argparse.Namespace) -> None:
    """--families: every chosen family in turn, its checkpoint in a temporary directory removed after it; the
    table, the smallest ratio, and exit status 1 when a map difference is over MAX_MAP_DIFFERENCE."""
    import torch
    import transformers

    transformers.utils.logging.disable_progress_bar()
    print(f"{platform_line()}; torch {torch.__version__} ({torch.get_num_threads()} threads), transformers "
          f"{transformers.__version__}; best of {args.rounds} rounds")
    rows, ratios, worst = list(FAMILY_HEADER), [], 0.0
    for family in args.only or FAMILIES:
        start = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix=f"extract-bench-{family}-") as scratch:
            family_rows, family_ratios, family_worst = compare_family(family, Path(scratch), args)
        gc.collect()
        print("\n".join(family_rows), flush=True)
        print(f"({family}: {time.perf_counter() - start:.0f} s in all)", flush=True)
        rows, ratios, worst = rows + family_rows, ratios + family_ratios, max(worst, family_worst)
    print("\n" + "\n".join(rows))
    print(f"\nsmallest ratio, ours vs reference: {min(ratios):.2f}x; largest map difference: {worst:.1e} "
          f"(allowed: {MAX_MAP_DIFFERENCE:.0e})")
    if worst > MAX_MAP_DIFFERENCE:
        sys.exit(f"the maps differ by up to {worst:.1e}, over {MAX_MAP_DIFFERENCE:.0e}")


def platform_line() -> str:
    """The CPU, its logical cores and the Keras backend."""
    import keras

    model = cpu_peak_gflops()[1].split(":")[0]
    return f"{model}, {os.cpu_count()} logical cores; Keras {keras.__version__} on {keras.backend.backend()}"


def peak_memory_mb(input_path: Path, output_dir: Path) -> float:
    """Peak resident memory (MB) of one extraction into a shard directory, in a child process."""
    command = [sys.executable, str(ROOT / "extract_attention.py"), "--preprocessed-data-file", str(input_path),
               "--output-dir", str(output_dir)]
    probe = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, capture_output=True); "
             "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    result = subprocess.run([sys.executable, "-c", probe, *command], check=True, capture_output=True, text=True)
    return int(result.stdout.split()[-1]) / 1024


def parse_args() -> argparse.Namespace:
    """The command line: the default mode's --quick and --skip-memory; --families, --only and the sizes of its
    workloads (--ewt, --wikipedia, --rounds)."""
    parser = workload_parser(__doc__)
    parser.add_argument("--quick", action="store_true", help="default mode: a quarter of the examples, one round")
    parser.add_argument("--skip-memory", action="store_true", help="skip the 500 vs 2,000 segment memory run")
    parser.add_argument("--families", action="store_true",
                        help="each encoder family at base size with random weights, sized by --ewt, --wikipedia and "
                             "--rounds (the default mode's sizes are fixed)")
    parser.add_argument("--only", nargs="+", choices=FAMILIES, metavar="FAMILY",
                        help=f"with --families, only these: {', '.join(FAMILIES)}")
    args = parser.parse_args()
    if args.only and not args.families:
        parser.error("--only picks the families of --families")
    return args


def run_default(args: argparse.Namespace) -> None:
    """The default mode: MiniLM and BERT-base size against the reference, then the memory of an extraction."""
    scale, rounds = (4, 1) if args.quick else (1, 2)
    embedded = embedded_model_dir()
    cpu_peak, how = cpu_peak_gflops()
    print(f"CPU float32 peak: {cpu_peak:.0f} GFLOP/s ({how})")
    rows = ["| model | workload | implementation | examples/s | useful GFLOP/s | of backend matmul | of CPU peak | "
            "vs reference |", "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    segments = wikipedia_segments(256 // scale, embedded)
    rows += compare("MiniLM-L6 (embedded)", embedded,
                    {"UD EWT dev": ewt_dev_examples(2001 // scale), "Wikipedia 128-token": segments}, cpu_peak,
                    rounds)
    with tempfile.TemporaryDirectory() as scratch:
        base_dir = Path(scratch) / "bert-base-random"
        random_hugging_face_checkpoint(base_dir, embedded / "vocab.txt")
        rows += compare("BERT-base size, random", base_dir,
                        {"UD EWT dev": ewt_dev_examples(512 // scale), "Wikipedia 128-token": segments[: 64 // scale]},
                        cpu_peak, rounds)
    print("\n".join(rows))
    if args.skip_memory:
        return
    with tempfile.TemporaryDirectory() as scratch:
        for count in (500, 2000):
            input_path = Path(scratch) / f"wiki_{count}.json"
            input_path.write_text(json.dumps(wikipedia_segments(count, embedded)))
            print(f"peak memory, {count} segments into a shard directory: "
                  f"{peak_memory_mb(input_path, Path(scratch) / f'shards_{count}'):.0f} MB")


def main() -> None:
    """Run the mode the command line chose."""
    args = parse_args()
    if args.families:
        run_families(args)
    else:
        run_default(args)


if __name__ == "__main__":
    main()
