"""Convert dependency-parsed data to JSON for the syntax analyses.

Reads each split (train, dev and test by default) from --data-dir as `<split>.txt` (the original repository's
`word head-reln` format, one word a line, a blank line between sentences) or `<split>.conllu` (CoNLL-U), and
writes `<split>.json`, a list of `{"words", "heads", "relns"}` (heads 1-based, 0 = root; `"id"` too for CoNLL-U
sentences with a `# sent_id`). Splits without a file are skipped; at least one must be present (the original
required both train.txt and dev.txt).
"""

import argparse
from pathlib import Path

import cli
import utils
from preprocessing.depparse import PARSERS, find_splits


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line: where the splits are, their format, where the JSON goes."""
    parser = cli.ArgumentParser(__doc__)
    cli.add_flag(parser, "data-dir", required=True, help="directory holding the split files")
    cli.add_flag(parser, "format", choices=["auto", "conll", "conllu"], default="auto",
                 help="input format (default: %(default)s, by extension)")
    cli.add_flag(parser, "outdir", "output-dir", help="where to write <split>.json (default: --data-dir)")
    cli.add_flag(parser, "splits", nargs="+", default=["train", "dev", "test"],
                 help="split names to convert (default: %(default)s)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Parse the command line, convert every split found, write the JSON files."""
    args = parse_args(argv)
    split_files = find_splits(args.data_dir, args.splits, args.format)
    output_dir = Path(args.outdir or args.data_dir)
    utils.check_output_dir(output_dir)
    splits = {split: PARSERS[data_format](path) for split, (path, data_format) in split_files.items()}
    for split, sentences in splits.items():  # written only once every split has been read without error
        output_file = output_dir / f"{split}.json"
        utils.write_json(output_file, sentences)
        word_count = sum(len(sentence["words"]) for sentence in sentences)
        cli.wrote(f"{output_file}: {len(sentences)} sentences, {word_count} words of {split_files[split][0]}")


if __name__ == "__main__":
    cli.run(main)
