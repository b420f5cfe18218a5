"""Gradient importance of attention (the paper's Figure 3): does the attention to [SEP] matter for the masked-LM loss?

Example, with a BERT that has its masked-LM head (Hugging Face bert-base-uncased saved to ./bert-base-uncased, or a
Google BERT checkpoint; the embedded MiniLM has no head):
    python gradient_importance.py --preprocessed-data-file data/sample/unlabeled.json --bert-dir bert-base-uncased
writes data/sample/gradients/gradients.json, figure3_gradient_importance.png/.svg and report.html (unless --no-html):
per head, the mean of |dL/d alpha| over the keys [SEP], ". ," and the other tokens, beside the average attention to
them (docs/definitions.md, "Gradient importance"). Examples take the inputs of extract_attention.py, and may give their
own "masked_positions"; the others are masked by BERT's rule, seeded by --seed. --debug runs a tiny random model
with a random head instead (a demonstration of the chain: its numbers mean nothing).
"""

import argparse
import dataclasses
import sys
from pathlib import Path

import numpy as np

import cli
import provenance
from bert.checkpoint import debug_config
from bert.extraction import open_model, prepare_example
from bert.gradients import CATEGORIES, ExampleStatistics, MaskedExample, check_masked_positions, masked_example
from bert.tokenization import FullTokenizer
from utils import InputError, check_input_file, check_output_dir, progress_bar, read_json, write_json

OUTDIR = "gradients"
FIGURE = "figure3_gradient_importance"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options; each accepts both the dashed and the underscored spelling."""
    parser = cli.ArgumentParser(__doc__)
    cli.add_flag(parser, "preprocessed-data-file", required=True,
                 help="JSON list of examples, each with one of 'text', 'words' or 'tokens' (and 'masked_positions')")
    cli.add_model_flags(parser, "Google or Hugging Face BERT directory with the masked-LM head",
                        "longer examples are skipped and counted",
                        "a tiny randomly initialised model with a random masked-LM head (its numbers mean nothing)")
    cli.add_flag(parser, "outdir", "out-dir",
                 help=f"output directory (default: '{OUTDIR}' beside the preprocessed data)")
    cli.add_flag(parser, "seed", type=cli.bounded(int, 0), default=0,
                 help="seed of the masking (and of --debug's random model) (default: %(default)s)")
    cli.add_flag(parser, "no-html", action="store_true", help="do not write report.html")
    cli.add_verbose(parser)
    return parser.parse_args(argv)


def default_outdir(args: argparse.Namespace) -> Path:
    """`--outdir`, or the folder OUTDIR beside the preprocessed data."""
    return Path(args.outdir) if args.outdir else Path(args.preprocessed_data_file).resolve().parent / OUTDIR


def masked_examples(
    examples: list, tokenizer: FullTokenizer, input_path: Path, args: argparse.Namespace
) -> tuple[list[MaskedExample], int, int]:
    """Every example validated (an InputError names the first bad one) and masked; returns the masked examples
    that fit --max_sequence_length, and how many were too long and how many had nothing to mask."""
    kept, too_long, nothing = [], 0, 0
    for index, example in enumerate(examples):
        prepared = prepare_example(example, tokenizer, input_path, index, args.max_sequence_length, False)
        if prepared.skipped is not None:
            if "masked_positions" in example:
                check_masked_positions(example["masked_positions"], prepared.tokens, input_path, index)
            too_long += 1
            continue
        masked = masked_example(example, prepared, tokenizer, input_path, index, args.seed)
        if masked is None:
            nothing += 1
        else:
            kept.append(masked)
    return kept, too_long, nothing


def run_model(model, kept: list[MaskedExample], args: argparse.Namespace) -> list[ExampleStatistics]:
    """Each kept example's statistics, in input order, with a progress bar."""
    from bert.gradients import GradientImportance

    importance = GradientImportance(model, args.batch_size * args.max_sequence_length)
    statistics: list[ExampleStatistics | None] = [None] * len(kept)
    with progress_bar(total=len(kept), unit="ex", desc="gradients of the masked-LM loss") as progress:
        for index, example_statistics in importance.statistics(kept):
            statistics[index] = example_statistics
            progress.update()
    return statistics


def by_category(values: np.ndarray) -> dict[str, list]:
    """[layers, heads, 3] -> {category: [layers][heads]}."""
    return {name: values[:, :, position].tolist() for position, name in enumerate(CATEGORIES)}


def main(argv: list[str] | None = None) -> None:
    """Validate and mask the examples, load the model with its head, then write gradients.json, Figure 3 and
    report.html (unless --no-html)."""
    args = parse_args(argv)
    input_path = check_input_file(args.preprocessed_data_file)
    outdir = default_outdir(args)
    check_output_dir(outdir)
    bert_dir, config, tokenizer = open_model(args.bert_dir, args.max_sequence_length, args.cased)
    examples = read_json(input_path)
    if not isinstance(examples, list):
        raise InputError(f"{input_path}: expected a JSON list of examples")
    kept, too_long, nothing = masked_examples(examples, tokenizer, input_path, args)
    if not kept:
        raise InputError(f"{input_path}: no example to analyse ({too_long} too long, {nothing} with nothing to mask)")

    cli.import_keras(args.verbose)
    from bert.checkpoint import debug_masked_lm, load_masked_lm

    model = debug_masked_lm(config, args.seed) if args.debug else load_masked_lm(bert_dir)
    cli.headless_figures()
    from analysis.report import page as report_page
    from analysis.report.figures import plot_gradient_importance, save_figure

    statistics = run_model(model, kept, args)
    grad_importance = np.mean([example.grad_importance for example in statistics], axis=0)
    avg_attn = np.mean([example.avg_attn for example in statistics], axis=0)
    model_record = {"directory": str(bert_dir.resolve()), "debug": args.debug,
                    "config": dataclasses.asdict(debug_config(config) if args.debug else config)}
    options = {name: value for name, value in vars(args).items() if name not in ("verbose", "no_html")}
    output = {
        "source": str(input_path), "debug": args.debug, "grid": list(grad_importance.shape[:2]),
        "n_examples": len(kept), "n_skipped": too_long + nothing,
        "loss": float(np.mean([example.loss for example in statistics])),
        "grad_importance": by_category(grad_importance), "avg_attn": by_category(avg_attn),
        "run": provenance.run_record(options, model=model_record),
    }
    save_figure(plot_gradient_importance(grad_importance, avg_attn, len(kept), args.debug), outdir, FIGURE)
    write_json(outdir / "gradients.json", output)
    if not args.no_html:
        report_page.write_page(outdir, report_page.gradients_page(output, input_path))
    if too_long or nothing:
        print(f"{too_long} of {len(examples)} examples longer than {args.max_sequence_length} tokens and {nothing} "
              "with nothing to mask were skipped", file=sys.stderr)
    page = "" if args.no_html else ", report.html"
    print(f"wrote {outdir}/gradients.json, {FIGURE}.png/.svg{page} ({len(kept)} examples)", file=sys.stderr)


if __name__ == "__main__":
    cli.run(main)
