"""`extract_attention.py --map norm` and `--map rollout` against `--map attn`, side by side on the same examples.

The whole extraction pipeline runs for each map kind (length-sorted batches, the forward pass, float16 maps of every
example on the host) with the embedded model. Runs alternate (attn, norm, rollout, attn, ...) and the fastest run of
each counts; the target (issue 14) is that `norm` costs at most 25% more than `attn`.

Run from the repository root:
    .venv/bin/python bench/map_bench.py [--rounds 3] [--ewt 400] [--wikipedia 100]
"""

import platform

from extract_bench import prepare_all, timed_extraction, workload_parser, workloads  # bench/ is the script's directory

from bert.checkpoint import embedded_model_dir, open_tokenizer
from bert.extraction import MAP_KINDS, build_extractor


def main() -> None:
    """Time every map kind on each workload and print a table."""
    args = workload_parser(__doc__).parse_args()
    bert_dir = embedded_model_dir()
    tokenizer = open_tokenizer(bert_dir)
    named_workloads = workloads(args, bert_dir)
    extractors = {kind: build_extractor(bert_dir, tokenizer, map_kind=kind) for kind in MAP_KINDS}
    print(f"{platform.processor() or platform.machine()}, {len(extractors)} map kinds, best of {args.rounds} rounds")
    print("| workload | examples | tokens | attn s | norm s (vs attn) | rollout s (vs attn) |")
    print("|---|---|---|---|---|---|")
    for name, examples in named_workloads.items():
        prepared = prepare_all(examples, tokenizer)
        best = {kind: float("inf") for kind in MAP_KINDS}
        for _ in range(args.rounds):
            for kind, extractor in extractors.items():
                best[kind] = min(best[kind], timed_extraction(extractor, examples, prepared))
        tokens = sum(len(example.tokens) for example in prepared)
        cells = [f"{best[kind]:.2f} ({best[kind] / best['attn'] - 1:+.0%})" for kind in ("norm", "rollout")]
        print(f"| {name} | {len(examples)} | {tokens} | {best['attn']:.2f} | {cells[0]} | {cells[1]} |")


if __name__ == "__main__":
    main()
