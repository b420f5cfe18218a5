"""Gradient importance of attention (the paper's Figure 3): does the attention to [SEP] matter for the masked-LM loss?

Example, with a BERT that has its masked-LM head (a Hugging Face BertForMaskedLM save or Hub id, or a Google BERT
checkpoint; the embedded MiniLM has no head):
    python gradient_importance.py --preprocessed-data-file data/sample/unlabeled.json --model bert-base-uncased
writes data/sample/gradients/gradients.json, figure3_gradient_importance.png/.svg and report.html (unless --no-html):
per head, the mean of |dL/d alpha| over the keys [SEP], ". ," and the other tokens, beside the average attention to
them (docs/definitions.md, "Gradient importance"). Examples take the inputs of extract_attention.py, and may give their
own "masked_positions"; the others are masked by BERT's rule, seeded by --seed. --debug runs a tiny random model
with a random head instead (a demonstration of the chain: its numbers mean nothing).
"""

import argparse
from pathlib import Path

import cli
from analysis.options import GradientOptions, ModelOptions

OUTDIR = "gradients"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options; each accepts both the dashed and the underscored spelling."""
    parser = cli.ArgumentParser(__doc__)
    cli.add_flag(parser, "preprocessed-data-file", required=True,
                 help="JSON list of examples, each with one of 'text', 'words' or 'tokens' (and 'masked_positions')")
    cli.add_options(parser, ModelOptions, helps={
        "model": "the model with its masked-LM head: a directory (Google or Hugging Face) or a Hugging Face Hub id "
                 "(default: the embedded MiniLM, which has none)",
        "max_sequence_length": "longest example in tokens; longer ones are skipped and counted",
        "debug": "a tiny randomly initialised model with a random masked-LM head (its numbers mean nothing)"})
    cli.add_flag(parser, "outdir", "out-dir",
                 help=f"output directory (default: '{OUTDIR}' beside the preprocessed data)")
    cli.add_options(parser, GradientOptions)
    cli.add_verbose(parser)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Parse the command line and run the analysis (analysis/gradients/pipeline.py)."""
    args = parse_args(argv)
    model, options = cli.options_from(args, ModelOptions), cli.options_from(args, GradientOptions)
    outdir = Path(args.outdir) if args.outdir else Path(args.preprocessed_data_file).resolve().parent / OUTDIR
    cli.headless_figures()
    from analysis.gradients import pipeline

    output = pipeline.run(args.preprocessed_data_file, outdir, model, options, args.verbose)
    page = "" if options.no_html else ", report.html"
    cli.wrote(f"{outdir}/gradients.json, {pipeline.FIGURE}.png/.svg{page} ({output['n_examples']} examples)")


if __name__ == "__main__":
    cli.run(main)
