r"""Compare models head by head: several models' maps of the same examples (or map kinds, or a model and its
--random-init control), every head of all of them on one plane.

    python compare_models.py --attn-data-file out/demo/depparse/dev_attn.pkl out/demo/depparse/dev_random_attn.pkl \
        --labels minilm control --outdir out/demo/compare

Word-level maps (extract_attention.py --word_level) compare across tokenizers, token-level maps where the tokens are
equal; files whose examples differ are refused, naming the first that differs. Writes OUTDIR/cross_head_distances.pkl
(the head distance of every pair of heads of all files, float64 [N, N], the first file's heads first),
compare.json, compare.md, the head atlas (head_atlas.png/.svg) and report.html: Table 1 or Table 2 side by side
when the examples carry dependency trees or coreference mentions.
"""

import argparse

import cli

OUTDIR = "compare"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line: the files, their labels, the output directory, the MDS seed, Table 1's minimum count."""
    parser = cli.analysis_parser(__doc__, "attention pickles or shard directories of the same examples, two or more",
                                 OUTDIR, several=True)
    cli.add_flag(parser, "labels", nargs="+", help="a label per file (default: the file names)")
    cli.add_flag(parser, "seed", type=cli.bounded(int, 0), default=0,
                 help="random seed of the atlas's MDS embedding (default: %(default)s)")
    cli.add_flag(parser, "min-count", type=cli.bounded(int, 0), default=100,
                 help="Table 1: relations with fewer words are left out (default: %(default)s)")
    cli.add_flag(parser, "no-html", action="store_true", help="do not write report.html")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Parse the command line, check the inputs exist, compare them."""
    args = parse_args(argv)
    cli.require_files(*args.attn_data_file)
    cli.headless_figures()
    from analysis.compare import pipeline

    outdir = cli.default_outdir(args, OUTDIR)
    output = pipeline.run(args.attn_data_file, outdir, args.labels, args.seed, args.min_count, not args.no_html)
    page = "" if args.no_html else ", report.html"
    cli.wrote(f"{outdir}/compare.json, {pipeline.DISTANCES_FILE}, compare.md, head_atlas.png/.svg{page} "
              f"({len(output['heads'])} heads of {len(output['models'])} models over {output['n_examples']} examples)")


if __name__ == "__main__":
    cli.run(main)
