"""What BERT's heads attend to in general (paper sections 3 and 6): figures, general.json, general.md.

    python general_analysis.py --attn-data-file out/demo/unlabeled_attn.pkl \
        --head-distances out/demo/head_distances.pkl --outdir out/demo/general
"""

import argparse
from pathlib import Path

import utils


def main() -> None:
    """Parse the command line, check the inputs exist, run the analysis."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--attn-data-file",
        "--attn_data_file",
        required=True,
        help="attention pickle or shard directory (extract_attention.py)",
    )
    parser.add_argument(
        "--head-distances",
        "--head_distances",
        help="pickled [N, N] head distances (head_distances.py); enables Figure 6 and 'mds'",
    )
    parser.add_argument(
        "--outdir", "--out-dir", "--out_dir", help="output directory (default: 'general' beside the attention data)"
    )
    parser.add_argument(
        "--example-index",
        "--example_index",
        type=int,
        help="example shown in Figure 1 (index in the file; default: the first with maps)",
    )
    parser.add_argument(
        "--figure-heads",
        "--figure_heads",
        help="heads of Figure 1, 1-based LAYER-HEAD,... (default: the strongest next-token, "
        "previous-token, [SEP] and broad heads)",
    )
    parser.add_argument(
        "--named-heads",
        "--named_heads",
        help="heads marked in Figure 6: LAYER-HEAD=NAME,... (1-based), or 'paper' for the paper's "
        "BERT-base heads (default: Figure 1's heads)",
    )
    parser.add_argument(
        "--broad-entropy",
        "--broad_entropy",
        type=float,
        help="mean entropy (nats) above which a head attends broadly (default 3.8)",
    )
    parser.add_argument(
        "--position-threshold",
        "--position_threshold",
        type=float,
        help="average attention to next/previous token that labels a head (default 0.5)",
    )
    parser.add_argument(
        "--token-threshold",
        "--token_threshold",
        type=float,
        help="average attention to [CLS]/[SEP]/punctuation that labels a head (default 0.6)",
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed of the MDS embedding (default 0)")
    args = parser.parse_args()

    for path in (args.attn_data_file, args.head_distances):
        if path is not None and not Path(path).exists():
            raise utils.InputError(f"{path}: no such file")
    import matplotlib

    matplotlib.use("Agg")
    from analysis import general_report

    thresholds = {
        name: getattr(args, name)
        for name in ("broad_entropy", "position_threshold", "token_threshold")
        if getattr(args, name) is not None
    }
    options = general_report.Options(
        example_index=args.example_index,
        figure_heads=args.figure_heads.split(",") if args.figure_heads else (),
        named_heads=args.named_heads,
        seed=args.seed,
        **thresholds,
    )
    outdir = args.outdir or str(Path(args.attn_data_file).resolve().parent / "general")
    general_report.run(args.attn_data_file, outdir, args.head_distances, options)
    print(f"wrote {outdir}/general.json, general.md and figures")


if __name__ == "__main__":
    utils.run_cli(main)
