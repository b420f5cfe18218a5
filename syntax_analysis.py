"""Dependency syntax in attention (paper sections 4.2 and 5): Table 1, Figure 5 and, with --probes, Table 3.

    python syntax_analysis.py --attn-data-file out/demo/depparse/dev_attn.pkl \
        --train-attn-data-file out/demo/depparse/train_attn.pkl --probes --outdir out/demo/syntax

Inputs are word-level attention pickles (extract_attention.py --word_level) of examples with gold "heads"
and "relns". Writes OUTDIR/syntax.json, OUTDIR/syntax.md and Figure 5 as PNG and SVG.
"""

import argparse
from pathlib import Path

import utils


def main() -> None:
    """Parse the command line, check the inputs exist, run the analysis."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--attn-data-file", "--attn_data_file", required=True,
                        help="word-level attention pickle (or shard directory) of the evaluation data, e.g. dev")
    parser.add_argument("--train-attn-data-file", "--train_attn_data_file",
                        help="word-level attention pickle of the training data (for --probes and --select-on train)")
    parser.add_argument("--probes", action="store_true", help="train and evaluate the attention probes (Table 3)")
    parser.add_argument("--select-on", "--select_on", choices=["same", "train"], default="same",
                        help="choose each relation's head on the same data (the paper's protocol, default) or on train")
    parser.add_argument("--min-count", "--min_count", type=int, default=100,
                        help="relations with fewer words are left out of the table (default 100)")
    parser.add_argument("--universal-relations", "--universal_relations", action="store_true",
                        help="merge relation subtypes into their universal part (nmod:poss -> nmod)")
    parser.add_argument("--figure-relations", "--figure_relations",
                        help="relations of Figure 5, comma-separated (default: the table's 6 most frequent)")
    parser.add_argument("--outdir", "--out-dir", "--out_dir",
                        help="output directory (default: 'syntax' beside the attention data)")
    parser.add_argument("--probe-epochs", "--probe_epochs", type=int, default=40,
                        help="most training epochs of each probe (default 40)")
    parser.add_argument("--probe-patience", "--probe_patience", type=int, default=3,
                        help="epochs without held-out improvement before a probe stops (default 3)")
    parser.add_argument("--probe-learning-rate", "--probe_learning_rate", type=float, default=0.05,
                        help="initial Adam learning rate of the probes (default 0.05)")
    parser.add_argument("--seed", type=int, default=0, help="random seed of the probes (default 0)")
    args = parser.parse_args()

    needs_train = args.probes or args.select_on == "train"
    if needs_train and args.train_attn_data_file is None:
        parser.error("--probes and --select-on train need --train-attn-data-file")
    for path in (args.attn_data_file, args.train_attn_data_file):
        if path is not None and not Path(path).exists():
            raise utils.InputError(f"{path}: no such file")
    import matplotlib

    matplotlib.use("Agg")
    from analysis import syntax

    options = syntax.Options(
        select_on=args.select_on,
        min_count=args.min_count,
        universal=args.universal_relations,
        figure_relations=args.figure_relations.split(",") if args.figure_relations else (),
        probes=args.probes,
        probe_training={"epochs": args.probe_epochs, "patience": args.probe_patience,
                        "learning_rate": args.probe_learning_rate, "seed": args.seed},
    )
    outdir = args.outdir or str(Path(args.attn_data_file).resolve().parent / "syntax")
    syntax.run(args.attn_data_file, outdir, args.train_attn_data_file, options)


if __name__ == "__main__":
    utils.run_cli(main)
