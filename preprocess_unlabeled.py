"""Turn raw text (one sentence a line, blank line between documents) into BERT `[CLS] A [SEP] B [SEP]` segments.

Writes `<data-file without .txt>.json`: a list of `{"tokens": [...]}`, the input of extract_attention.py.
Segments are built as in BERT pre-training (see preprocessing/unlabeled.py), seeded, so the same input
and options give the same output.
"""

import argparse
import sys
from pathlib import Path

from tqdm import tqdm

import utils
from bert.checkpoint import resolve_bert_dir
from bert.tokenization import FullTokenizer
from preprocessing.unlabeled import build_segments, read_documents


def main() -> None:
    """Parse the command line, build the segments, write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-file", "--data_file", required=True, help="text file, one sentence a line")
    parser.add_argument("--bert-dir", "--bert_dir", help="model directory holding vocab.txt (default: embedded MiniLM)")
    parser.add_argument(
        "--num-docs",
        "--num_docs",
        type=int,
        default=1000,
        help="number of segments to write (default 1000); as in the original, it counts segments, not documents",
    )
    parser.add_argument("--cased", action="store_true", help="keep case (for cased models)")
    parser.add_argument(
        "--max-sequence-length",
        "--max_sequence_length",
        type=int,
        default=128,
        help="tokens per segment, [CLS]/[SEP] included",
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed for the A/B splits and truncation (default 0)")
    args = parser.parse_args()

    data_file = Path(args.data_file)
    output_file = data_file.with_suffix(".json")
    if output_file == data_file:
        raise utils.InputError(f"{data_file}: the input must not be a .json file (the output is written there)")

    tokenizer = FullTokenizer(str(resolve_bert_dir(args.bert_dir) / "vocab.txt"), do_lower_case=not args.cased)
    documents = (
        [tokenizer.tokenize(sentence) for sentence in document]
        for document in tqdm(read_documents(data_file), desc="documents", unit="doc")
    )
    segments, skipped = build_segments(documents, args.max_sequence_length, args.num_docs, args.seed)
    utils.write_json(output_file, [{"tokens": segment} for segment in segments])
    shortfall = f" (the input ran out before --num-docs {args.num_docs})" if len(segments) < args.num_docs else ""
    print(f"wrote {len(segments)} segments to {output_file}{shortfall}", file=sys.stderr)
    if skipped:
        print(f"skipped {skipped} one-token chunks (a single one-token sentence cannot form A and B)", file=sys.stderr)


if __name__ == "__main__":
    utils.run_cli(main)
