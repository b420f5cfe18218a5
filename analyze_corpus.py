r"""Text in, statistics out: extract the maps and run the analyses on them in one pass, writing no map (docs/scale.md).

    python analyze_corpus.py --data-file data/sample/unlabeled.txt --outdir out/demo/corpus
    python analyze_corpus.py --data-file out/demo/depparse/dev.json --engine ray --workers 2

The data is raw text (one sentence a line, blank lines between documents, cut into segments as by
preprocess_unlabeled.py) or the examples JSON of any preprocessing script. What the examples hold picks the
analysis: dependency trees (preprocess_depparse.py) the syntax analysis, coreference windows (preprocess_coref.py)
the coreference analysis, anything else the general analysis with its head distances. OUTDIR gets the same files
as the file-based chain (general.json and head_distances.pkl, syntax.json or coref.json, with figures, Markdown
and report.html) and partials/, the partial statistics of every finished shard: rerunning an interrupted command
resumes after them. `--engine ray` runs the shards on Ray Data workers: a local cluster it starts, or the one at
--address.
"""

import argparse
import dataclasses
import sys
from pathlib import Path

import numpy as np

import cli
import provenance
import utils
from analysis.engines.maps import ExampleError
from analysis.engines.streaming import (
    CorpusAnalysis,
    ModelSettings,
    PartialStore,
    Shard,
    ShardAnalyzer,
    cut_shards,
    merge_partials,
    run_fingerprint,
    run_local,
)
from analysis.heads import HeadGrid
from analysis.options import CorefOptions, GeneralOptions, SyntaxOptions
from bert.checkpoint import debug_config
from bert.config import BertConfig
from bert.extraction import MAP_KINDS, PreparedExample, open_model, prepare_example, report_skipped
from bert.tokenization import FullTokenizer
from bpe_utils import WORD_LEVEL_MODES

SYNTAX_OPTIONS = ("min_count", "universal_relations", "figure_relations")  # those that apply without train data
ENGINES = ("local", "ray")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line: data, model, engine, extraction settings and the analyses' options."""
    parser = cli.ArgumentParser(__doc__)
    cli.add_flag(parser, "data-file", required=True,
                 help="raw text (one sentence a line) or an examples JSON of a preprocessing script")
    cli.add_model_flags(parser, "Google or Hugging Face BERT directory (default: the embedded MiniLM)",
                        "longer examples are skipped and counted; raw text is cut to segments of this length",
                        "use a tiny randomly initialised model (3 layers, hidden 144, fixed seed)", min_length=5)
    cli.add_flag(parser, "outdir", "out-dir", help="output directory (default: <data file without extension>_analysis "
                 "beside it)")
    cli.add_flag(parser, "engine", choices=ENGINES, default="local",
                 help="run the shards in this process or on Ray Data workers (default: %(default)s)")
    cli.add_flag(parser, "address", help="with --engine ray: the Ray cluster to use, e.g. ray://head:10001 or auto "
                 "(default: start a local one)")
    cli.add_flag(parser, "workers", type=cli.bounded(int, 1), default=2,
                 help="with --engine ray: worker actors, each loading the model once (default: %(default)s)")
    cli.add_flag(parser, "cpus-per-worker", type=cli.bounded(float, 0.01),
                 help="with --engine ray: CPUs each actor reserves (default: the cluster's CPUs over workers + 1, at "
                      "most 1)")
    cli.add_flag(parser, "num-gpus-per-worker", type=cli.bounded(float, 0.0), default=0.0,
                 help="with --engine ray: GPUs each actor reserves (default: %(default)s)")
    cli.add_flag(parser, "shard-size", type=cli.bounded(int, 1), default=256,
                 help="examples per shard: one extraction chunk, one partial on disk (default: %(default)s)")
    cli.add_flag(parser, "num-docs", type=cli.bounded(int, 1),
                 help="raw text: the number of segments to make (default: all the text gives)")
    cli.add_flag(parser, "segment-seed", type=cli.bounded(int, 0), default=0,
                 help="raw text: random seed of the A/B splits, as preprocess_unlabeled.py's --seed (default: "
                      "%(default)s)")
    cli.add_flag(parser, "word-level-mode", choices=WORD_LEVEL_MODES, default="mean",
                 help="syntax and coreference: attention from a split word (default: %(default)s)")
    cli.add_flag(parser, "single-segment", action="store_true", help="all token type ids 0, as the original code did")
    cli.add_flag(parser, "map", choices=MAP_KINDS, default="attn",
                 help="attention weights, norm-based maps or attention rollout (default: %(default)s)")
    cli.add_flag(parser, "distance-examples", type=cli.bounded(int, 0), default=1000,
                 help="general analysis: the head distances (Figure 6) over the first N examples with maps, as the "
                      "paper's 1,000 segments; 0 for none. They cost about one MiniLM forward pass per example on a "
                      "CPU (default: %(default)s)")
    cli.add_options(parser, GeneralOptions)
    cli.add_options(parser, SyntaxOptions, only=SYNTAX_OPTIONS)
    cli.add_verbose(parser)
    return parser.parse_args(argv)


def read_corpus(data_file: Path, tokenizer: FullTokenizer, args: argparse.Namespace) -> list[dict]:
    """The examples: the JSON list of a `.json` file, else the text's `[CLS] A [SEP] B [SEP]` segments."""
    if data_file.suffix == ".json":
        examples = utils.read_json(data_file)
        if not isinstance(examples, list) or not examples:
            raise utils.InputError(f"{data_file}: expected a non-empty JSON list of examples")
        return examples
    from preprocessing.unlabeled import build_segments, read_documents

    with utils.progress_bar(read_documents(data_file), desc="documents", unit="doc") as progress:
        documents = ([tokenizer.tokenize(sentence) for sentence in document] for document in progress)
        segments, _ = build_segments(documents, args.max_sequence_length, args.num_docs or sys.maxsize,
                                     args.segment_seed)
    if not segments:
        raise utils.InputError(f"{data_file}: no segment could be made (no document with two or more tokens)")
    return [{"tokens": segment} for segment in segments]


def analysis_kind(examples: list[dict]) -> str:
    """`coref` when the first example is a coreference window, `syntax` when it has a dependency tree, else
    `general`."""
    first = examples[0] if isinstance(examples[0], dict) else {}
    if "mentions" in first:
        return "coref"
    return "syntax" if "heads" in first and "relns" in first else "general"


def model_grid(config: BertConfig, args: argparse.Namespace) -> HeadGrid:
    """The grid of the maps the run makes: the model's (or --debug's) layers x heads; one head a layer for rollout."""
    config = debug_config(config) if args.debug else config
    return HeadGrid(config.num_hidden_layers, 1 if args.map == "rollout" else config.num_attention_heads)


def build_analysis(kind: str, args: argparse.Namespace, grid: HeadGrid,
                   data_file: Path) -> tuple[CorpusAnalysis, object]:
    """The analysis to run and its options, checked against the grid before any work."""
    if kind == "general":
        from analysis.general.pipeline import GeneralAnalysis

        options = cli.options_from(args, GeneralOptions)
        return GeneralAnalysis(options, grid, data_file, distance_examples=args.distance_examples), options
    if kind == "syntax":
        from analysis.syntax.pipeline import SyntaxAnalysis

        options = dataclasses.replace(cli.options_from(args, SyntaxOptions, only=SYNTAX_OPTIONS),
                                      no_html=args.no_html)
        return SyntaxAnalysis(options, data_file), options
    from analysis.coref.pipeline import CorefAnalysis

    options = CorefOptions(no_html=args.no_html)
    return CorefAnalysis(options, data_file), options


def check_examples(examples: list, tokenizer: FullTokenizer, analysis: CorpusAnalysis, data_file: Path,
                   args: argparse.Namespace, word_level: bool) -> list[PreparedExample]:
    """Every example prepared for the model (fields and tokens checked, over-long ones marked) and its own fields
    (trees, mentions) checked by the analysis on an empty stand-in of its word-level map, before the long pass."""
    check = analysis.check
    prepared = []
    with utils.progress_bar(examples, desc="checking examples", unit=" ex") as progress:
        for index, example in enumerate(progress):
            ready = prepare_example(example, tokenizer, data_file, index, args.max_sequence_length, word_level)
            if check is not None and ready.skipped is None:
                size = len(ready.pieces_per_word) + 2
                try:
                    check(example, np.empty((0, 0, size, size), np.float32))
                except ExampleError as error:
                    raise utils.example_error(data_file, index, error.field, error.problem) from None
            prepared.append(ready)
    return prepared


def run_shards(args: argparse.Namespace, settings: ModelSettings, analysis: CorpusAnalysis, shards: list[Shard],
               store: PartialStore, kind: str) -> None:
    """Analyse the shards whose partials are not in `store` yet, in this process or on Ray, with a progress bar."""
    finished = store.finished()
    pending = [shard for shard in shards if shard.number not in finished]
    done = sum(len(shard.examples) for shard in shards if shard.number in finished)
    with utils.progress_bar(total=done + sum(len(shard.examples) for shard in pending), initial=done, unit=" ex",
                            desc=f"{kind} analysis") as progress:
        if args.engine == "local":
            if pending:
                run_local(ShardAnalyzer(settings, analysis, args.data_file), pending, store, progress)
            return
        from analysis.engines.ray_engine import RaySettings, run_ray

        ray_settings = RaySettings(args.address, args.workers, args.cpus_per_worker, args.num_gpus_per_worker,
                                   args.verbose)
        timings = run_ray(settings, analysis, args.data_file, pending, store, ray_settings, progress.update)
    print(f"ray: cluster start-up {timings.start_up:.1f} s, shards {timings.total:.1f} s on {args.workers} workers, "
          f"of which compute {timings.compute:.1f} s summed over workers", file=sys.stderr)


def main(argv: list[str] | None = None) -> None:
    """Read and check everything, analyse the shards not finished yet, merge the partials, write the outputs."""
    args = parse_args(argv)
    if args.engine == "ray" and args.address:
        from analysis.engines.ray_engine import check_reachable

        check_reachable(args.address)
    data_file = utils.check_input_file(args.data_file)
    bert_dir, config, tokenizer = open_model(args.bert_dir, args.max_sequence_length, args.cased)
    outdir = Path(args.outdir or data_file.with_name(data_file.name.rsplit(".", 1)[0] + "_analysis"))
    utils.check_output_dir(outdir)
    examples = read_corpus(data_file, tokenizer, args)
    kind = analysis_kind(examples)
    word_level = kind != "general"
    analysis, options = build_analysis(kind, args, model_grid(config, args), data_file)
    prepared = check_examples(examples, tokenizer, analysis, data_file, args, word_level)
    if kind == "general":
        analysis.plan([index for index, ready in enumerate(prepared) if ready.skipped is None])

    settings = ModelSettings(str(bert_dir), args.debug, args.cased, args.max_sequence_length, args.batch_size,
                             word_level, args.word_level_mode, args.single_segment, args.map, args.verbose)
    shards = list(cut_shards(examples, prepared, args.shard_size))
    analysis_settings = {"options": options, "distance_examples": args.distance_examples if kind == "general" else None}
    store = PartialStore(outdir, run_fingerprint(data_file, settings, analysis_settings, args.shard_size), len(shards))
    run_shards(args, settings, analysis, shards, store, kind)
    model = {"directory": str(bert_dir.resolve()), "debug": args.debug,
             "config": dataclasses.asdict(debug_config(config) if args.debug else config)}
    recorded = {"engine": args.engine, "shard_size": args.shard_size, "extraction": dataclasses.asdict(settings),
                "analysis": analysis_settings}
    record = provenance.run_record(recorded, model=model, inputs={"data_file": data_file})
    analysis.write(merge_partials(analysis, store), outdir, args.map, record)
    store.close()
    skipped = report_skipped(prepared, args.max_sequence_length)
    print(f"wrote the {kind} analysis of {len(examples) - skipped} examples to {outdir}", file=sys.stderr)


if __name__ == "__main__":
    cli.run(main)
