"""See what a model attends to in one sentence: the head view and the model view as one page that opens offline.

    python view_attention.py --text "The cat sat on the mat." --layer 2 --head 5 --outfile cat.html --open
    python view_attention.py --text "The cat sat." --text-b "It slept." --model google-bert/bert-base-uncased

writes the page of `view()` (analysis/report/view.py; in a notebook, `from analysis import view`). Heads are
1-based, as the page and the paper label them.
"""

import argparse
import webbrowser
from pathlib import Path

import cli
import utils
from analysis.options import ModelOptions
from bert.map_kinds import MAP_KINDS

FLAGS = {"texts": "--text", "layer": "--layer", "head": "--head", "map": "--map"}  # view()'s arguments as flags


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line: the text (and its pair), the model, the map kind, the head shown first, the page."""
    parser = cli.ArgumentParser(__doc__)
    cli.add_flag(parser, "text", required=True, help="the text to view")
    cli.add_flag(parser, "text-b", help="a second text: the pair `[CLS] text [SEP] text-b [SEP]`")
    cli.add_options(parser, ModelOptions, only=("model", "revision", "cased"))
    cli.add_flag(parser, "max-sequence-length", type=cli.bounded(int, 3),
                 help="longest text in tokens (default: the model's positions)")
    cli.add_flag(parser, "map", choices=MAP_KINDS, default="attn",
                 help="attention weights, norm-based maps, attention rollout or a context-mixing measure "
                      "(docs/definitions.md) (default: %(default)s)")
    cli.add_flag(parser, "word_level", action="store_true",
                 help="word-level maps of the text's words (split at spaces)")
    cli.add_flag(parser, "layer", type=int, help="the layer shown first, 1-based (default: 1)")
    cli.add_flag(parser, "head", type=int, help="the head shown first, 1-based (default: 1)")
    cli.add_flag(parser, "outfile", default="attention_view.html", help="the page to write (default: %(default)s)")
    cli.add_flag(parser, "open", action="store_true", help="open the page in the default browser")
    cli.add_verbose(parser)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Run the model on the text, write the page (and open it)."""
    args = parse_args(argv)
    cli.options_from(args, ModelOptions, only=("model", "revision", "cased"))
    outfile = Path(args.outfile)
    utils.check_output_file(outfile)
    from analysis.report.view import ViewError, view
    from bert.backend import import_keras

    import_keras(args.verbose)
    texts = args.text if args.text_b is None else (args.text, args.text_b)
    try:
        page = view(texts, args.model, args.map, args.word_level, args.layer, args.head, revision=args.revision,
                    cased=args.cased, max_sequence_length=args.max_sequence_length)
    except ViewError as error:
        raise cli.InputError(f"{FLAGS.get(error.argument, error.argument)}: {error.problem}") from None
    page.save(outfile)
    cli.wrote(f"{outfile}")
    if args.open:
        webbrowser.open(outfile.resolve().as_uri())


if __name__ == "__main__":
    cli.run(main)
