"""Extract the attention maps of a BERT model for JSON examples (docs/formats.md).

Example:
    python extract_attention.py --preprocessed-data-file data/sample/unlabeled.json
writes data/sample/unlabeled_attn.pkl: the examples in input order, each with float16 "attns"
[layers, heads, n, n], or "skipped" when longer than --max_sequence_length, and its run record beside it
(unlabeled_attn.run.json). With --output-dir the same list is written as a directory of shard pickles as it
goes; rerunning an interrupted command resumes after the last complete shard. --original gives the original
code's maps (every segment id 0, a split word's attention from its first piece) instead of ours. --map norm
or --map rollout stores norm-based maps or attention rollout instead of attention weights (docs/definitions.md).
"""

import argparse
import dataclasses
import hashlib
import json
import sys
from pathlib import Path

import cli
import provenance
from bert.checkpoint import debug_config
from bert.extraction import MAP_KINDS, build_extractor, open_model, prepare_example, report_skipped
from bpe_utils import WORD_LEVEL_MODES
from utils import (
    InputError,
    ShardWriter,
    check_input_file,
    check_output_file,
    progress_bar,
    read_bytes,
    read_json,
    write_pickle,
)

OPTIONS_THAT_CHANGE_OUTPUT = (
    "max_sequence_length", "batch_size", "chunk_size", "cased", "debug", "word_level", "word_level_mode",
    "single_segment", "original",
)  # and "map" when it is not "attn", so that earlier shard directories of attention weights still resume


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options; each accepts both the dashed and the underscored spelling."""
    parser = cli.ArgumentParser(__doc__)
    cli.add_flag(parser, "preprocessed-data-file", required=True,
                 help="JSON list of examples, each with one of 'text', 'words' or 'tokens'")
    cli.add_model_flags(parser, "Google or Hugging Face BERT directory (default: the embedded MiniLM)",
                        "longer examples are kept, marked 'skipped'",
                        "use a tiny randomly initialised model (3 layers, hidden 144, fixed seed)")
    output = parser.add_mutually_exclusive_group()
    cli.add_flag(output, "outfile", help="output pickle (default: <input without .json>_attn.pkl)")
    cli.add_flag(output, "output-dir",
                 help="write a shard directory instead of one pickle, resumable, in bounded memory")
    cli.add_flag(parser, "chunk-size", type=cli.bounded(int, 1), default=256,
                 help="consecutive examples sorted by length together; one shard each (default: %(default)s)")
    cli.add_flag(parser, "word_level", action="store_true", help="word-level maps (needs 'words'): n = len(words) + 2")
    cli.add_flag(parser, "word-level-mode", choices=WORD_LEVEL_MODES,
                 help="attention from a split word: mean of its pieces' rows, first piece, or max "
                      "(default: mean; first with --original)")
    cli.add_flag(parser, "single-segment", action="store_true", help="all token type ids 0, as the original code did")
    cli.add_flag(parser, "map", choices=MAP_KINDS, default="attn",
                 help="attention weights, norm-based maps (Kobayashi et al. 2020) or attention rollout "
                      "(Abnar and Zuidema 2020), see docs/definitions.md (default: %(default)s)")
    cli.add_flag(parser, "original", action="store_true",
                 help="the original code's maps: --single-segment and --word-level-mode first")
    cli.add_verbose(parser)
    return resolve_original(parser, parser.parse_args(argv))


def resolve_original(parser: argparse.ArgumentParser, args: argparse.Namespace) -> argparse.Namespace:
    """Turn `--original` into what it stands for (all-zero segment ids, first-piece word level) and give
    `--word-level-mode` its default; a mode other than `first` with `--original` is refused."""
    if args.original:
        if args.word_level_mode not in (None, "first"):
            parser.error(f"--original takes the first piece's row; it cannot go with --word-level-mode "
                         f"{args.word_level_mode}")
        args.single_segment, args.word_level_mode = True, "first"
    args.word_level_mode = args.word_level_mode or "mean"
    return args


def default_outfile(input_path: Path) -> Path:
    """`<input without .json>_attn.pkl`."""
    stem = input_path.name.removesuffix(".json")
    return input_path.with_name(stem + "_attn.pkl")


def run_fingerprint(input_path: Path, bert_dir: Path, args: argparse.Namespace) -> str:
    """Digest of the input file, the model directory and the options that change the output."""
    digest = hashlib.sha256(read_bytes(input_path))
    options = {name: getattr(args, name) for name in OPTIONS_THAT_CHANGE_OUTPUT}
    if args.map != "attn":
        options["map"] = args.map
    digest.update(json.dumps([str(bert_dir.resolve()), options], sort_keys=True).encode())
    return digest.hexdigest()


def main(argv: list[str] | None = None) -> None:
    """Validate the examples and the model, then extract the maps chunk by chunk into a pickle or shards."""
    args = parse_args(argv)
    input_path = check_input_file(args.preprocessed_data_file)
    bert_dir, config, tokenizer = open_model(args.bert_dir, args.max_sequence_length, args.cased)
    outfile = Path(args.outfile) if args.outfile else default_outfile(input_path)
    if not args.output_dir:
        check_output_file(outfile)
    examples = read_json(input_path)
    if not isinstance(examples, list):
        raise InputError(f"{input_path}: expected a JSON list of examples")
    prepared = [
        prepare_example(example, tokenizer, input_path, index, args.max_sequence_length, args.word_level)
        for index, example in enumerate(examples)
    ]
    model = {"directory": str(bert_dir.resolve()), "debug": args.debug,
             "config": dataclasses.asdict(debug_config(config) if args.debug else config)}
    options = {name: value for name, value in vars(args).items() if name != "verbose"}
    record = provenance.run_record(options, model=model)
    shard_writer = None
    if args.output_dir:
        shard_writer = ShardWriter(args.output_dir, run_fingerprint(input_path, bert_dir, args), run=record)
    start = shard_writer.n_examples_written if shard_writer else 0

    cli.import_keras(args.verbose)
    extractor = build_extractor(bert_dir, tokenizer, debug=args.debug, map_kind=args.map, word_level=args.word_level,
                                single_segment=args.single_segment,
                                tokens_per_batch=args.batch_size * args.max_sequence_length)
    with progress_bar(total=len(examples), initial=start, unit="ex", desc="extracting attention") as progress:
        chunks = extractor.output_chunks(
            examples, prepared, start, args.chunk_size, args.word_level_mode, progress
        )
        if shard_writer:
            for chunk in chunks:
                shard_writer.write_shard(chunk)
            shard_writer.finish()
        else:
            write_pickle(outfile, [example for chunk in chunks for example in chunk])
            provenance.write_sidecar(outfile, record)
    skipped = report_skipped(prepared, args.max_sequence_length)
    print(f"wrote {args.output_dir or outfile} ({len(examples) - skipped} examples with maps)", file=sys.stderr)


if __name__ == "__main__":
    cli.run(main)
