"""Turn raw text (one sentence a line, blank line between documents) into BERT `[CLS] A [SEP] B [SEP]` segments.

Writes `<data-file without .txt>.json`: a list of `{"tokens": [...]}`, the input of extract_attention.py.
Segments are built as in BERT pre-training (see preprocessing/unlabeled.py), seeded, so the same input
and options give the same output.
"""

import argparse
import sys

import cli
import utils
from bert.checkpoint import resolve_bert_dir
from bert.tokenization import FullTokenizer
from preprocessing.unlabeled import build_segments, read_documents


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line: input, model vocabulary, and how segments are built."""
    parser = cli.ArgumentParser(__doc__)
    cli.add_flag(parser, "data-file", required=True, help="text file, one sentence a line")
    cli.add_flag(parser, "bert-dir", help="model directory holding vocab.txt (default: embedded MiniLM)")
    cli.add_flag(parser, "num-docs", type=cli.bounded(int, 1), default=1000,
                 help="number of segments to write (default: %(default)s); as in the original, it counts segments, "
                      "not documents")
    cli.add_flag(parser, "cased", action="store_true", help="keep case (for cased models)")
    cli.add_flag(parser, "max-sequence-length", type=cli.bounded(int, 5), default=128,
                 help="tokens per segment, [CLS]/[SEP] included (default: %(default)s)")
    cli.add_flag(parser, "seed", type=cli.bounded(int, 0), default=0,
                 help="random seed for the A/B splits and truncation (default: %(default)s)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Parse the command line, build the segments, write the JSON."""
    args = parse_args(argv)
    data_file = utils.check_input_file(args.data_file)
    output_file = data_file.with_suffix(".json")
    if output_file == data_file:
        raise utils.InputError(f"{data_file}: the input must not be a .json file (the output is written there)")
    utils.check_output_file(output_file)

    tokenizer = FullTokenizer(str(resolve_bert_dir(args.bert_dir) / "vocab.txt"), do_lower_case=not args.cased)
    with utils.progress_bar(read_documents(data_file), desc="documents", unit="doc") as progress:
        documents = ([tokenizer.tokenize(sentence) for sentence in document] for document in progress)
        segments, skipped = build_segments(documents, args.max_sequence_length, args.num_docs, args.seed)
    utils.write_json(output_file, [{"tokens": segment} for segment in segments])
    shortfall = f" (the input ran out before --num-docs {args.num_docs})" if len(segments) < args.num_docs else ""
    print(f"wrote {len(segments)} segments to {output_file}{shortfall}", file=sys.stderr)
    if skipped:
        print(f"skipped {skipped} one-token chunks (a single one-token sentence cannot form A and B)", file=sys.stderr)


if __name__ == "__main__":
    cli.run(main)
