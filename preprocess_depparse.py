"""Convert dependency-parsed data to JSON for the syntax analyses.

Reads each split (train, dev and test by default) from --data-dir as `<split>.txt` (the original repository's
`word head-reln` format, one word a line, a blank line between sentences) or `<split>.conllu` (CoNLL-U), and
writes `<split>.json`, a list of `{"words", "heads", "relns"}` (heads 1-based, 0 = root; `"id"` too for CoNLL-U
sentences with a `# sent_id`). Splits without a file are skipped; at least one must be present (the original
required both train.txt and dev.txt).
"""

import argparse
import sys
from pathlib import Path

from tqdm import tqdm

import utils
from preprocessing.depparse import PARSERS, find_splits


def main() -> None:
    """Parse the command line, convert every split found, write the JSON files."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", "--data_dir", required=True, help="directory holding the split files")
    parser.add_argument(
        "--format", choices=["auto", "conll", "conllu"], default="auto", help="input format (default: by extension)"
    )
    parser.add_argument("--output-dir", "--output_dir", help="where to write <split>.json (default: --data-dir)")
    parser.add_argument(
        "--splits", nargs="+", default=["train", "dev", "test"], help="split names to convert (default: train dev test)"
    )
    args = parser.parse_args()

    split_files = find_splits(args.data_dir, args.splits, args.format)
    output_dir = Path(args.output_dir or args.data_dir)
    for split, (path, data_format) in tqdm(split_files.items(), desc="splits", unit="split"):
        sentences = PARSERS[data_format](path)
        output_file = output_dir / f"{split}.json"
        utils.write_json(output_file, sentences)
        word_count = sum(len(sentence["words"]) for sentence in sentences)
        tqdm.write(f"{path}: {len(sentences)} sentences, {word_count} words -> {output_file}", file=sys.stderr)


if __name__ == "__main__":
    utils.run_cli(main)
