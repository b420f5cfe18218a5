r"""Coreference in attention (paper section 4.3): Table 2, every head's accuracy, the best head on examples.

    python coref_analysis.py --attn-data-file out/demo/coref/sample_attn.pkl --outdir out/demo/coref/analysis

Inputs are word-level attention pickles (extract_attention.py --word_level) of the windows preprocess_coref.py
writes. Writes OUTDIR/coref.json, OUTDIR/coref.md and the figures as PNG and SVG.
"""

import argparse

import cli
from analysis.options import CorefOptions

OUTDIR = "coref"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line: inputs, output directory and the CorefOptions."""
    parser = cli.analysis_parser(
        __doc__, "word-level attention pickle (or shard directory) of the evaluation windows, e.g. dev", OUTDIR)
    cli.add_flag(parser, "select-attn-data-file", "train-attn-data-file",
                 help="word-level attention pickle of the data the best head is chosen on (--select-on train)")
    cli.add_options(parser, CorefOptions)
    args = parser.parse_args(argv)
    if args.select_on == "train" and args.select_attn_data_file is None:
        parser.error("--select-on train needs --select-attn-data-file")
    return args


def main(argv: list[str] | None = None) -> None:
    """Parse the command line, check the inputs exist, run the analysis."""
    args = parse_args(argv)
    cli.require_files(args.attn_data_file, args.select_attn_data_file)
    cli.headless_figures()
    from analysis.coref import pipeline as coref_pipeline

    outdir = cli.default_outdir(args, OUTDIR)
    coref_pipeline.run(args.attn_data_file, outdir, args.select_attn_data_file, cli.options_from(args, CorefOptions))
    page = "" if args.no_html else ", report.html"
    cli.wrote(f"{outdir}/coref.json, coref.md{page} and figures")


if __name__ == "__main__":
    cli.run(main)
