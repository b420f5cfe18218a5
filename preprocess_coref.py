"""Turn CoNLL-U with coreference (`Entity=` brackets in MISC, as in GUM / CorefUD) into windows for the coreference
analysis (paper section 4.3).

    python preprocess_coref.py --data-file data/sample/coref/sample.conllu

Writes `<data-file without .conllu>.json` (or --outfile): a list of windows `{"doc_id", "window", "words", "upos",
"feats", "mentions"}`, each mention `{"start", "end", "head", "entity", "type"}` with 0-based word positions in the
window (`end` exclusive), the input of `extract_attention.py --word_level`. A document's sentences are packed
greedily into windows of at most --max-sequence-length WordPiece tokens, [CLS] and [SEP] included, counted with the
model's tokenizer (see preprocessing/coref.py for the reading rules).
"""

import argparse
from collections import Counter
from pathlib import Path

import cli
import utils
from analysis.options import TOKENIZER_OPTIONS, ModelOptions
from bert.checkpoint import open_tokenizer
from preprocessing.coref import SPECIAL_TOKENS_PER_WINDOW, TYPES, document_windows, piece_counter, read_documents


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line: input, model vocabulary, window size, output."""
    parser = cli.ArgumentParser(__doc__)
    cli.add_flag(parser, "data-file", required=True, help="CoNLL-U file with Entity= coreference in MISC")
    cli.add_options(parser, ModelOptions, only=TOKENIZER_OPTIONS,
                    helps={"max_sequence_length": "tokens per window, [CLS]/[SEP] included"})
    cli.add_flag(parser, "first-window-only", action="store_true",
                 help="keep only each document's first window (the paper truncated documents to 128 tokens)")
    cli.add_flag(parser, "outfile", help="output JSON (default: the data file with .json instead of .conllu)")
    return parser.parse_args(argv)


def output_path(data_file: Path, outfile: str | None) -> Path:
    """Where the windows go: --outfile, or the data file with a .json suffix; never the data file itself."""
    output_file = Path(outfile) if outfile else data_file.with_suffix(".json")
    if output_file.resolve() == data_file.resolve():
        raise utils.InputError(f"{data_file}: the output would overwrite the input; give another --outfile")
    utils.check_output_file(output_file)
    return output_file


def main(argv: list[str] | None = None) -> None:
    """Parse the command line, read the documents, cut them into windows, write the JSON."""
    args = parse_args(argv)
    cli.options_from(args, ModelOptions, only=TOKENIZER_OPTIONS)
    if args.max_sequence_length <= SPECIAL_TOKENS_PER_WINDOW:
        raise utils.InputError(f"--max-sequence-length {args.max_sequence_length}: must leave room for words "
                               f"beside [CLS] and [SEP]")
    data_file = utils.check_input_file(args.data_file)
    output_file = output_path(data_file, args.outfile)
    tokenizer = open_tokenizer(args.model, args.cased, args.revision)
    count_pieces = piece_counter(tokenizer)
    documents = read_documents(data_file)
    examples, n_dropped = [], 0
    with utils.progress_bar(documents, desc="documents", unit="doc") as progress:
        for document in progress:
            windows, n_window_dropped = document_windows(document, count_pieces, args.max_sequence_length,
                                                         args.first_window_only)
            examples += windows
            n_dropped += n_window_dropped
    utils.write_json(output_file, examples)
    by_type = Counter(mention["type"] for example in examples for mention in example["mentions"])
    type_counts = ", ".join(f"{by_type[name]} {name}" for name in TYPES)
    n_cross_sentence = sum(document.n_cross_sentence for document in documents)
    cli.wrote(f"{output_file}: {len(documents)} documents, {len(examples)} windows, {by_type.total()} mentions "
              f"({type_counts}) of {data_file}; dropped {n_cross_sentence} crossing sentences, {n_dropped} crossing "
              "windows")


if __name__ == "__main__":
    cli.run(main)
