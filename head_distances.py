"""Jensen-Shannon distances between every pair of attention heads (input of the paper's Figure 6).

    python head_distances.py --attn-data-file out/demo/unlabeled_attn.pkl --outfile out/demo/head_distances.pkl

Writes a pickled float64 [N, N] array, N = layers * heads, indexed by the flat head index layer * heads + head,
and its run record beside it (head_distances.run.json).
"""

import argparse

import cli
import provenance
import utils
from bert.backend import import_keras


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line: input, output, and the backend to compute on."""
    parser = cli.ArgumentParser(__doc__)
    cli.add_flag(parser, "attn-data-file", required=True,
                 help="attention pickle or shard directory (extract_attention.py)")
    cli.add_flag(parser, "outfile", "out-file", required=True, help="output pickle of distances")
    cli.add_flag(parser, "use-keras", action="store_true",
                 help="compute with keras.ops on the Keras backend's device (a GPU when present) instead of numpy")
    cli.add_verbose(parser)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Parse the command line, compute the distances, write them and their run record atomically."""
    args = parse_args(argv)
    if args.use_keras:
        import_keras(args.verbose)
    from analysis.general.head_distances import accumulate

    utils.check_output_file(args.outfile)
    distances = accumulate(args.attn_data_file, args.use_keras)
    utils.write_pickle(args.outfile, distances.result())
    record = provenance.run_record({"use_keras": args.use_keras}, inputs={"attn_data_file": args.attn_data_file})
    provenance.write_sidecar(args.outfile, record)
    cli.wrote(f"{args.outfile}: distances of {distances.grid} heads over {distances.n_examples} examples "
              f"({distances.n_rows} query rows)")


if __name__ == "__main__":
    cli.run(main)
