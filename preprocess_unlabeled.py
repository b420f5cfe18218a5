"""Turn raw text (one sentence a line, blank line between documents) into BERT `[CLS] A [SEP] B [SEP]` segments.

Writes `<data-file without .txt>.json` (or --outfile): a list of `{"tokens": [...]}`, the input of
extract_attention.py. Segments are built as in BERT pre-training (see preprocessing/unlabeled.py), seeded, so the
same input and options give the same output. --original reproduces the original script's segments exactly
(its rules, its seed and its final shuffle); the module's docstring lists where the default departs from it.
"""

import argparse
import sys
from pathlib import Path

import cli
import utils
from analysis.options import TOKENIZER_OPTIONS, ModelOptions
from bert.checkpoint import open_tokenizer
from bert.model_tokenizer import ModelTokenizer
from preprocessing.unlabeled import build_segments, original_segments, read_documents, read_lines


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line: input, output, model vocabulary, and how segments are built."""
    parser = cli.ArgumentParser(__doc__)
    cli.add_flag(parser, "data-file", required=True, help="text file, one sentence a line")
    cli.add_flag(parser, "outfile", help="output JSON (default: the data file with .json instead of .txt)")
    cli.add_options(parser, ModelOptions, only=TOKENIZER_OPTIONS,
                    helps={"max_sequence_length": "tokens per segment, [CLS]/[SEP] included"})
    cli.add_flag(parser, "num-docs", type=cli.bounded(int, 1), default=1000,
                 help="number of segments to write (default: %(default)s); as in the original, it counts segments, "
                      "not documents")
    cli.add_flag(parser, "seed", type=cli.bounded(int, 0), default=0,
                 help="random seed for the A/B splits and truncation (default: %(default)s)")
    cli.add_flag(parser, "original", action="store_true",
                 help="reproduce the original script's segments exactly: Python's random seeded with 0, a document "
                      "cut at its first one-sentence chunk, a last document without a trailing blank line ignored, "
                      "the segments shuffled (refuses a --seed other than 0)")
    return parser.parse_args(argv)


def output_path(data_file: Path, outfile: str | None) -> Path:
    """Where the segments go: --outfile, or the data file with a .json suffix; never the data file itself."""
    output_file = Path(outfile) if outfile is not None else data_file.with_suffix(".json")
    if output_file.resolve() == data_file.resolve():
        if outfile is None:
            raise utils.InputError(f"{data_file}: the input must not be a .json file (the output is written there; "
                                   f"or give --outfile)")
        raise utils.InputError(f"{data_file}: --outfile is the input file; give another --outfile")
    utils.check_output_file(output_file)
    return output_file


def our_segments(data_file: Path, tokenizer: ModelTokenizer, args: argparse.Namespace) -> list[list[str]]:
    """The default segments (preprocessing.unlabeled.build_segments), in document order; skipped chunks reported."""
    with utils.progress_bar(read_documents(data_file), desc="documents", unit="doc") as progress:
        documents = ([tokenizer.tokenize(sentence) for sentence in document] for document in progress)
        segments, skipped = build_segments(documents, args.max_sequence_length, args.num_docs, args.seed,
                                           tokenizer.template)
    if skipped:
        print(f"skipped {skipped} one-token chunks (a single one-token sentence cannot form A and B)", file=sys.stderr)
    return segments


def main(argv: list[str] | None = None) -> None:
    """Parse the command line, build the segments, write the JSON."""
    args = parse_args(argv)
    if args.original and args.seed != 0:
        raise utils.InputError(f"--seed {args.seed}: --original always seeds with 0, as the original did")
    data_file = utils.check_input_file(args.data_file)
    output_file = output_path(data_file, args.outfile)

    cli.options_from(args, ModelOptions, only=TOKENIZER_OPTIONS)
    tokenizer = open_tokenizer(args.model, args.cased, args.revision)
    if args.original:
        with utils.progress_bar(read_lines(data_file), desc="lines", unit="line") as lines:
            segments = original_segments(lines, tokenizer.tokenize, args.max_sequence_length, args.num_docs,
                                         tokenizer.template)
    else:
        segments = our_segments(data_file, tokenizer, args)
    utils.write_json(output_file, [{"tokens": segment} for segment in segments])
    shortfall = f" (the input ran out before --num-docs {args.num_docs})" if len(segments) < args.num_docs else ""
    order = ", shuffled as the original script did" if args.original else ""
    cli.wrote(f"{len(segments)} segments to {output_file}{order}{shortfall}")


if __name__ == "__main__":
    cli.run(main)
