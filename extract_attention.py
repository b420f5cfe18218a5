"""Extract the attention maps of a BERT model for JSON examples (docs/formats.md).

Example:
    python extract_attention.py --preprocessed-data-file data/sample/unlabeled.json
writes data/sample/unlabeled_attn.pkl: the examples in input order, each with float16 "attns"
[layers, heads, n, n], or "skipped" when longer than --max_sequence_length, and its run record beside it
(unlabeled_attn.run.json). With --outdir the same list is written as a directory of shard pickles as it
goes; rerunning an interrupted command resumes after the last complete shard. --original gives the original
code's maps (every segment id 0, a split word's attention from its first piece) instead of ours. --map norm
or --map rollout stores norm-based maps or attention rollout instead of attention weights; --map attn-res-ln,
alti or value-zeroing one context-mixing map a layer, with --aggregate their product across layers
(docs/definitions.md).
"""

import argparse
import hashlib
import json
from pathlib import Path

import cli
import provenance
from analysis.options import ModelOptions
from bert.backend import import_keras
from bert.extraction import (
    build_extractor,
    check_positions,
    long_inputs,
    open_model,
    prepare_example,
    report_skipped,
)
from bert.map_kinds import MAP_KINDS, stored_map_kind
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

OPTIONS_THAT_CHANGE_OUTPUT = {  # fingerprint name: option (the names of earlier versions, so their shards resume)
    "max_sequence_length": "max_sequence_length", "batch_size": "batch_size", "chunk_size": "shard_size",
    "cased": "cased", "debug": "debug", "word_level": "word_level", "word_level_mode": "word_level_mode",
    "single_segment": "single_segment", "original": "original",
}  # and "map" when not "attn", "random_init" (its seed) when given: so earlier shard directories still resume


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options; each accepts both the dashed and the underscored spelling."""
    parser = cli.ArgumentParser(__doc__)
    cli.add_flag(parser, "preprocessed-data-file", required=True,
                 help="JSON list of examples, each with one of 'text', 'words' or 'tokens'")
    cli.add_options(parser, ModelOptions)
    output = parser.add_mutually_exclusive_group()
    cli.add_flag(output, "outfile", help="output pickle (default: <input without .json>_attn.pkl)")
    cli.add_flag(output, "outdir", "output-dir",
                 help="write a shard directory instead of one pickle, resumable, in bounded memory")
    cli.add_flag(parser, "shard-size", "chunk-size", type=cli.bounded(int, 1), default=256,
                 help="consecutive examples sorted by length together; one shard each (default: %(default)s)")
    cli.add_flag(parser, "word_level", action="store_true", help="word-level maps (needs 'words'): n = len(words) + 2")
    cli.add_flag(parser, "word-level-mode", choices=WORD_LEVEL_MODES,
                 help="attention from a split word: mean of its pieces' rows, first piece, or max "
                      "(default: mean; first with --original)")
    cli.add_flag(parser, "single-segment", action="store_true", help="all token type ids 0, as the original code did")
    cli.add_flag(parser, "map", choices=MAP_KINDS, default="attn",
                 help="attention weights, norm-based maps (Kobayashi et al. 2020), attention rollout (Abnar and "
                      "Zuidema 2020), or context mixing: attention with residual and LayerNorm (Kobayashi et al. "
                      "2021), ALTI (Ferrando et al. 2022), value zeroing (Mohebbi et al. 2023); one map a layer "
                      "for the last four. See docs/definitions.md (default: %(default)s)")
    cli.add_flag(parser, "aggregate", action="store_true",
                 help="with a context-mixing --map: its product across layers, stored as <kind>-aggregated")
    cli.add_flag(parser, "original", action="store_true",
                 help="the original code's maps: --single-segment and --word-level-mode first")
    cli.add_flag(parser, "random-init", action="store_true",
                 help="the model's architecture and tokenizer with random weights, initialised as for pre-training "
                      "and seeded by --seed: the control a trained model is compared with")
    cli.add_flag(parser, "seed", type=cli.bounded(int, 0), default=0,
                 help="seed of --random-init's weights (default: %(default)s)")
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
    options = {name: getattr(args, option) for name, option in OPTIONS_THAT_CHANGE_OUTPUT.items()}
    if args.map != "attn":
        options["map"] = stored_map_kind(args.map, args.aggregate)
    if args.random_init:
        options["random_init"] = args.seed
    digest.update(json.dumps([str(bert_dir.resolve()), options], sort_keys=True).encode())
    return digest.hexdigest()


def main(argv: list[str] | None = None) -> None:
    """Validate the examples and the model, then extract the maps chunk by chunk into a pickle or shards."""
    args = parse_args(argv)
    model_options = cli.options_from(args, ModelOptions)
    input_path = check_input_file(args.preprocessed_data_file)
    map_kind = stored_map_kind(args.map, args.aggregate)
    source, config, tokenizer = open_model(args.model, args.max_sequence_length, args.cased, args.revision)
    outfile = Path(args.outfile) if args.outfile else default_outfile(input_path)
    if not args.outdir:
        check_output_file(outfile)
    examples = read_json(input_path)
    if not isinstance(examples, list):
        raise InputError(f"{input_path}: expected a JSON list of examples")
    prepared = [
        prepare_example(example, tokenizer, input_path, index, args.max_sequence_length, args.word_level)
        for index, example in enumerate(examples)
    ]
    check_positions(prepared, config.positions, input_path)
    long_inputs(prepared, map_kind, input_path)
    options = {name: value for name, value in vars(args).items() if name != "verbose"}
    model_record = provenance.model_record(source, config, args.debug)
    if args.random_init:
        model_record["random_init"] = {"seed": args.seed}  # the architecture only: the weights are random
    record = provenance.run_record(options, model=model_record)
    shard_writer = None
    if args.outdir:
        shard_writer = ShardWriter(args.outdir, run_fingerprint(input_path, source.directory, args), run=record)
    start = shard_writer.n_examples_written if shard_writer else 0

    import_keras(args.verbose)
    extractor = build_extractor(source.directory, tokenizer, debug=args.debug, map_kind=map_kind,
                                word_level=args.word_level, single_segment=args.single_segment,
                                tokens_per_batch=model_options.tokens_per_batch,
                                random_init=args.seed if args.random_init else None)
    with progress_bar(total=len(examples), initial=start, unit="ex", desc="extracting attention") as progress:
        chunks = extractor.output_chunks(
            examples, prepared, start, args.shard_size, args.word_level_mode, progress
        )
        if shard_writer:
            for chunk in chunks:
                shard_writer.write_shard(chunk)
            shard_writer.finish()
        else:
            write_pickle(outfile, [example for chunk in chunks for example in chunk])
            provenance.write_sidecar(outfile, record)
    skipped = report_skipped(prepared, args.max_sequence_length)
    cli.wrote(f"{args.outdir or outfile} ({len(examples) - skipped} examples with maps)")


if __name__ == "__main__":
    cli.run(main)
