"""Every `extract_attention.py --map` kind against `--map attn`, side by side on the same examples.

The whole extraction pipeline runs for each map kind (length-sorted batches, the forward pass, the maps of every
example on the host) with the embedded model. Runs alternate (attn, norm, rollout, attn-res-ln, alti, attn, ...) and
the fastest run of each counts. Targets: `norm` at most 1.25x `attn` (issue 14); `attn-res-ln` and `alti` at most
1.3x `attn`, and `value-zeroing` at most 0.75 n forward passes for an example of n tokens (issue 24).

Value zeroing runs once, on the first `--value-zeroing` examples of each workload. Its cost is given in forward
passes per token: its time over sum_k n_k * (n_k c), where c is `attn`'s time per token on the whole workload, so
that an example of n tokens is charged n forward passes of its own length.

Run from the repository root:
    .venv/bin/python bench/map_bench.py [--rounds 3] [--ewt 400] [--wikipedia 100] [--value-zeroing 40]
"""

import platform

from extract_bench import prepare_all, timed_extraction, workload_parser, workloads  # bench/ is the script's directory

from bert.checkpoint import embedded_model_dir, open_tokenizer
from bert.extraction import build_extractor
from bert.map_kinds import MAP_KINDS

ALTERNATING = [kind for kind in MAP_KINDS if kind != "value-zeroing"]


def main() -> None:
    """Time every map kind on each workload and print a table."""
    parser = workload_parser(__doc__)
    parser.add_argument("--value-zeroing", type=int, default=40, help="examples of each workload for value zeroing")
    args = parser.parse_args()
    bert_dir = embedded_model_dir()
    tokenizer = open_tokenizer(bert_dir)
    named_workloads = workloads(args, bert_dir)
    extractors = {kind: build_extractor(bert_dir, tokenizer, map_kind=kind) for kind in MAP_KINDS}
    print(f"{platform.processor() or platform.machine()}, {len(extractors)} map kinds, best of {args.rounds} rounds")
    others = ALTERNATING[1:]
    columns = " | ".join(f"{kind} s, ex/s (vs attn)" for kind in others)
    print(f"| workload | examples | tokens | attn s (ex/s) | {columns} "
          "| value-zeroing: examples, ex/s, forward passes per token |")
    print("|---" * (len(others) + 5) + "|")
    for name, examples in named_workloads.items():
        prepared = prepare_all(examples, tokenizer)
        best = {kind: float("inf") for kind in ALTERNATING}
        for _ in range(args.rounds):
            for kind in ALTERNATING:
                best[kind] = min(best[kind], timed_extraction(extractors[kind], examples, prepared))
        lengths = [len(example.tokens) for example in prepared]
        attn_per_token = best["attn"] / sum(lengths)
        count = min(args.value_zeroing, len(examples))
        zeroing = timed_extraction(extractors["value-zeroing"], examples[:count], prepared[:count])
        passes = zeroing / sum(n * n * attn_per_token for n in lengths[:count])
        cells = [f"{best[kind]:.2f}, {len(examples) / best[kind]:.0f} ex/s ({best[kind] / best['attn']:.2f}x)"
                 for kind in others]
        print(f"| {name} | {len(examples)} | {sum(lengths)} | {best['attn']:.2f} ({len(examples) / best['attn']:.0f}) "
              f"| {' | '.join(cells)} | {count}, {count / zeroing:.1f}, {passes:.2f} |")


if __name__ == "__main__":
    main()
