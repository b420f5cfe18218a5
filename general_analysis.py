r"""What BERT's heads attend to in general (paper sections 3 and 6): figures, general.json, general.md.

    python general_analysis.py --attn-data-file out/demo/unlabeled_attn.pkl \
        --head-distances out/demo/head_distances.pkl --outdir out/demo/general
    python general_analysis.py --attn-data-file out/demo/unlabeled_attn.pkl out/demo/unlabeled_norm.pkl \
        --outdir out/demo/general_by_map
"""

import argparse

import cli
from analysis.options import GeneralOptions

OUTDIR = "general"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line: inputs, output directory and the GeneralOptions."""
    parser = cli.analysis_parser(__doc__, "attention pickle or shard directory (extract_attention.py); further ones "
                                 "(e.g. --map norm maps of the same examples) are drawn beside it in figure2_by_map",
                                 OUTDIR, several=True)
    cli.add_flag(parser, "head-distances",
                 help="pickled [N, N] head distances (head_distances.py); enables Figure 6 and 'mds'")
    cli.add_options(parser, GeneralOptions)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Parse the command line, check the inputs exist, run the analysis."""
    args = parse_args(argv)
    cli.require_files(*args.attn_data_file, args.head_distances)
    cli.headless_figures()
    from analysis.general import pipeline as general_pipeline

    outdir = cli.default_outdir(args, OUTDIR)
    options = cli.options_from(args, GeneralOptions)
    attn_data_file, *compared = args.attn_data_file
    general_pipeline.run(attn_data_file, outdir, args.head_distances, options, compared)
    page = "" if args.no_html else ", report.html"
    cli.wrote(f"{outdir}/general.json, general.md{page} and figures")


if __name__ == "__main__":
    cli.run(main)
