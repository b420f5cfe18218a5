"""Jensen-Shannon distances between every pair of attention heads (input of the paper's Figure 6).

    python head_distances.py --attn-data-file out/demo/unlabeled_attn.pkl --outfile out/demo/head_distances.pkl

Writes a pickled float64 [N, N] array, N = layers * heads, indexed by the flat head index layer * heads + head.
"""

import argparse
import sys

import utils
from analysis.head_distances import accumulate


def main() -> None:
    """Parse the command line, compute the distances, write them atomically."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--attn-data-file",
        "--attn_data_file",
        required=True,
        help="attention pickle or shard directory (extract_attention.py)",
    )
    parser.add_argument("--outfile", "--out-file", "--out_file", required=True, help="output pickle of distances")
    parser.add_argument(
        "--use-keras",
        "--use_keras",
        action="store_true",
        help="compute with keras.ops on the Keras backend's device (a GPU when present) instead of numpy",
    )
    args = parser.parse_args()

    distances = accumulate(args.attn_data_file, args.use_keras)
    utils.write_pickle(args.outfile, distances.result())
    n_layers, n_heads = distances.grid
    print(
        f"wrote {args.outfile}: distances of {n_layers} x {n_heads} heads over {distances.n_examples} examples "
        f"({distances.n_rows} query rows)",
        file=sys.stderr,
    )


if __name__ == "__main__":
    utils.run_cli(main)
