"""Long documents: analyze_corpus.py against transformers' eager attention with `output_attentions`, side by side.

A ModernBERT-base-size checkpoint with random weights (bench/families.py: 22 layers x 12 heads, hidden 768, 8,192
positions, a global layer every third, 128-token windows) reads one document of each length of `--lengths` (default
1,024, 2,048, 4,096 and 8,192 tokens: the golden long document's tokens repeated, `[CLS]` first and `[SEP]` last).
Each run is its own process, with its peak resident memory:
- `analyze_corpus.py` on the document, the general analysis end to end (statistics, figures, report page), timed
  from the start of its process: attention by blocks of query rows, so the `[L, H, n, n]` maps never exist;
- the same work timed alone on both sides, after the imports and the model's loading: the forward pass and the
  general statistics of the maps (analysis/general/statistics.py for both). Ours: Encoder.streamed_maps, each block
  summed as it comes (QueryRowSums). Reference: transformers' `AutoModel` with eager attention and
  `output_attentions=True`, then the statistics of each layer's maps; its address space is capped at
  `--reference-cap-gib` (default 16 GiB, on a 24 GiB machine) so that running out of memory is an error in that
  process rather than the machine's.

Needs the reference (pip install -r bench/requirements.txt). Run from the repository root:
    .venv/bin/python bench/long_bench.py [--lengths 1024 2048 4096 8192] [--reference-cap-gib 16]
"""

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

import numpy as np
from families import FAMILIES_DIR, write_base_checkpoint  # bench/ is the script's directory

ROOT = Path(__file__).resolve().parents[1]
GIB = 2**30
MEASURE = ("import resource, subprocess, sys, time; start = time.perf_counter(); "
           "result = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
           "core = [line.split()[1] for line in result.stdout.splitlines() if line.startswith('core ')]; "
           "print(time.perf_counter() - start, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, "
           "result.returncode, *core); sys.stderr.write(result.stderr[-2000:])")


def write_document(length: int, path: Path) -> Path:
    """One tokens example of `length` tokens: the golden long document's tokens (without its [CLS] and [SEP])
    repeated, between [CLS] and [SEP]."""
    with np.load(FAMILIES_DIR / "modernbert-long.npz") as arrays:
        tokens = [str(token) for token in arrays["tokens"]]
    inner = tokens[1:-1] * (length // (len(tokens) - 2) + 1)
    path.write_text(json.dumps([{"tokens": [tokens[0], *inner[:length - 2], tokens[-1]]}]))
    return path


class Run(NamedTuple):
    """One measured process: its wall seconds, peak resident GiB, exit status, the seconds of its core work (the
    forward pass and the statistics; None when it prints none) and the end of its stderr."""

    seconds: float
    peak_gib: float
    status: int
    core_seconds: float | None
    stderr: str


def measured(command: list[str], cap_bytes: int | None = None) -> Run:
    """A Python script with its arguments, run and measured in a fresh parent process, its address space capped at
    `cap_bytes` when given."""
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (cap_bytes, cap_bytes))

    result = subprocess.run([sys.executable, "-c", MEASURE, sys.executable, *command], cwd=ROOT, capture_output=True,
                            text=True,
                            preexec_fn=limit if cap_bytes else None)
    if not result.stdout.strip():
        raise SystemExit(f"could not measure {command[0]}: {result.stderr[-2000:]}")
    seconds, peak_kib, status, *core = result.stdout.split()
    return Run(float(seconds), int(peak_kib) * 1024 / GIB, int(status), float(core[0]) if core else None,
               result.stderr)


def reference_pass(document: Path, model_dir: Path) -> None:
    """--reference: transformers' eager forward pass with output_attentions=True on the document, then the general
    statistics of every layer's maps; prints the seconds of both (run in its own process)."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    from analysis.general.statistics import example_statistics

    tokens = json.loads(document.read_text())[0]["tokens"]
    ids = AutoTokenizer.from_pretrained(str(model_dir)).convert_tokens_to_ids(tokens)
    model = AutoModel.from_pretrained(str(model_dir), attn_implementation="eager").eval()
    start = time.perf_counter()
    with torch.inference_mode():
        outputs = model(input_ids=torch.tensor([ids]), output_attentions=True)
    for layer_maps in outputs.attentions:
        example_statistics(tokens, layer_maps.numpy())
    print(f"core {time.perf_counter() - start}")


def ours_pass(document: Path, model_dir: Path) -> None:
    """--ours: our forward pass by blocks of query rows on the document, each block summed into the general
    statistics as it comes; prints the seconds of both (run in its own process)."""
    from analysis.general.statistics import StreamedExample
    from bert.backend import import_keras
    from bert.checkpoint import model_tokenizer, read_config
    from bert.extraction import PreparedExample, build_extractor

    import_keras()
    tokens = json.loads(document.read_text())[0]["tokens"]
    config = read_config(model_dir)
    extractor = build_extractor(model_dir, model_tokenizer(model_dir, config))
    start = time.perf_counter()
    reader = StreamedExample(tokens, (config.num_hidden_layers, config.num_attention_heads))
    extractor.stream_maps(PreparedExample(tokens), reader.add)
    reader.row_sums.statistics()
    print(f"core {time.perf_counter() - start}")


def row(length: int, corpus: Run, ours: Run, reference: Run, cap_gib: float) -> str:
    """One table row: analyze_corpus.py's time and peak, then the core work of each side and their ratio, or what
    failed."""
    failed = "failed | -"
    cells = [f"{length:,}", f"{22 * 12 * length**2 * 4 / GIB:.1f}",
             f"{corpus.seconds:.1f} | {corpus.peak_gib:.2f}" if corpus.status == 0 else failed,
             f"{ours.core_seconds:.1f} | {ours.peak_gib:.2f}" if ours.status == 0 else failed]
    if reference.status == 0:
        cells.append(f"{reference.core_seconds:.1f} | {reference.peak_gib:.2f} | "
                     f"{reference.core_seconds / ours.core_seconds:.2f}x")
    else:
        reason = "out of memory" if "memory" in reference.stderr.lower() else f"exit {reference.status}"
        cells.append(f"{reason} (address space capped at {cap_gib:g} GiB) | - | -")
    return "| " + " | ".join(cells) + " |"


def main() -> None:
    """Write the checkpoint, then each length: ours, then the reference; print the table."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lengths", type=int, nargs="+", default=[1024, 2048, 4096, 8192])
    parser.add_argument("--reference-cap-gib", type=float, default=16.0)
    parser.add_argument("--reference", nargs=2, metavar=("DOCUMENT", "MODEL"), help=argparse.SUPPRESS)
    parser.add_argument("--ours", nargs=2, metavar=("DOCUMENT", "MODEL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.reference or args.ours:
        (reference_pass if args.reference else ours_pass)(*map(Path, args.reference or args.ours))
        return
    import platform

    import torch
    import transformers

    print(f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads; "
          f"torch {torch.__version__}, transformers {transformers.__version__}")
    rows = ["| tokens | float32 maps of all layers, GiB | analyze_corpus.py, s | its peak, GiB | ours: forward + "
            "statistics, s | its peak, GiB | reference: forward + statistics, s | its peak, GiB | ours vs reference |",
            "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    with tempfile.TemporaryDirectory(prefix="long-bench-") as scratch:
        start = time.perf_counter()
        model_dir = write_base_checkpoint("modernbert", Path(scratch) / "modernbert")
        print(f"(ModernBERT-base-size checkpoint written in {time.perf_counter() - start:.0f} s)", flush=True)
        for length in args.lengths:
            document = write_document(length, Path(scratch) / f"document_{length}.json")
            corpus = measured(["analyze_corpus.py", "--data-file", str(document), "--model", str(model_dir),
                               "--max-sequence-length", str(length), "--outdir", str(Path(scratch) / f"out_{length}")])
            this_script = str(Path(__file__).resolve())
            ours = measured([this_script, "--ours", str(document), str(model_dir)])
            reference = measured([this_script, "--reference", str(document), str(model_dir)],
                                 int(args.reference_cap_gib * GIB))
            rows.append(row(length, corpus, ours, reference, args.reference_cap_gib))
            print(rows[-1], flush=True)
            for name, run in (("analyze_corpus.py", corpus), ("ours", ours), ("reference", reference)):
                if run.status != 0:
                    print(f"({name} at {length} tokens: exit {run.status}: {run.stderr.strip().splitlines()[-1:]})")
    print("\n" + "\n".join(rows))


if __name__ == "__main__":
    main()
