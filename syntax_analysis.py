r"""Dependency syntax in attention (paper sections 4.2 and 5): Table 1, Figure 5 and, with --probes, Table 3.

    python syntax_analysis.py --attn-data-file out/demo/depparse/dev_attn.pkl \
        --select-attn-data-file out/demo/depparse/train_attn.pkl --probes --outdir out/demo/syntax

Inputs are word-level attention pickles (extract_attention.py --word_level) of examples with gold "heads"
and "relns". Writes OUTDIR/syntax.json, OUTDIR/syntax.md and Figure 5 as PNG and SVG.
"""

import argparse

import cli
from analysis.options import ProbeSettings, SyntaxOptions
from bert.backend import import_keras

OUTDIR = "syntax"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line: inputs, output directory, the SyntaxOptions and the ProbeSettings."""
    parser = cli.analysis_parser(
        __doc__, "word-level attention pickle (or shard directory) of the evaluation data, e.g. dev", OUTDIR)
    cli.add_flag(parser, "select-attn-data-file", "train-attn-data-file",
                 help="word-level attention pickle of the training data: where heads are chosen with --select-on "
                      "train, and what the probes train on")
    cli.add_options(parser, SyntaxOptions)
    cli.add_options(parser, ProbeSettings, prefix="probe-")
    cli.add_verbose(parser)
    args = parser.parse_args(argv)
    if (args.probes or args.select_on == "train") and args.select_attn_data_file is None:
        parser.error("--probes and --select-on train need --select-attn-data-file")
    return args


def main(argv: list[str] | None = None) -> None:
    """Parse the command line, check the inputs exist, run the analysis."""
    args = parse_args(argv)
    cli.require_files(args.attn_data_file, args.select_attn_data_file)
    if args.probes:
        import_keras(args.verbose)
    cli.headless_figures()
    from analysis.syntax import pipeline as syntax_pipeline

    outdir = cli.default_outdir(args, OUTDIR)
    options = cli.options_from(args, SyntaxOptions)
    probe_settings = cli.options_from(args, ProbeSettings, prefix="probe-")
    syntax_pipeline.run(args.attn_data_file, outdir, args.select_attn_data_file, options, probe_settings)
    page = "" if args.no_html else ", report.html"
    cli.wrote(f"{outdir}/syntax.json, syntax.md{page} and figures")


if __name__ == "__main__":
    cli.run(main)
