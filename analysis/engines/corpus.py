"""The pipeline of analyze_corpus.py: text in, statistics out, no map written (docs/scale.md).

Read the corpus (raw text cut into segments as preprocess_unlabeled.py does, or any preprocessing JSON), choose the
analysis (the one asked for, else the one the examples call for), check every example before any work, cut them
into shards, analyse the shards not finished yet (in this process or on Ray Data workers), merge their partials in
shard order and write the same outputs as the file-based chain.
"""

import dataclasses
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

import provenance
import utils
from analysis.coref.pipeline import CorefAnalysis
from analysis.engines.maps import CorpusAnalysis, ExampleError
from analysis.engines.streaming import (
    ModelSettings,
    PartialStore,
    Shard,
    ShardAnalyzer,
    cut_shards,
    merge_partials,
    run_fingerprint,
    run_local,
)
from analysis.general.pipeline import GeneralAnalysis
from analysis.heads import HeadGrid
from analysis.options import AnalysisOptions, CorpusOptions, ModelOptions
from analysis.syntax.pipeline import SyntaxAnalysis
from bert.checkpoint import debug_config
from bert.config import EncoderConfig
from bert.extraction import (
    PreparedExample,
    check_positions,
    long_inputs,
    open_model,
    prepare_example,
    report_skipped,
)
from bert.map_kinds import maps_per_layer, stored_map_kind
from bert.model_tokenizer import ModelTokenizer

ANALYSES: dict[str, type[CorpusAnalysis]] = {"general": GeneralAnalysis, "syntax": SyntaxAnalysis,
                                             "coref": CorefAnalysis}


def read_corpus(data_file: Path, tokenizer: ModelTokenizer, max_length: int, corpus: CorpusOptions) -> list[dict]:
    """The examples: the JSON list of a `.json` file, else the text's `[CLS] A [SEP] B [SEP]` segments (the
    tokenizer's classifier and separator tokens: `<s> A </s></s> B </s>` for RoBERTa)."""
    if data_file.suffix == ".json":
        examples = utils.read_json(data_file)
        if not isinstance(examples, list) or not examples:
            raise utils.InputError(f"{data_file}: expected a non-empty JSON list of examples")
        return examples
    from preprocessing.unlabeled import build_segments, read_documents

    with utils.progress_bar(read_documents(data_file), desc="documents", unit="doc") as progress:
        documents = ([tokenizer.tokenize(sentence) for sentence in document] for document in progress)
        segments, _ = build_segments(documents, max_length, corpus.num_docs or sys.maxsize, corpus.segment_seed,
                                      tokenizer.template)
    if not segments:
        raise utils.InputError(f"{data_file}: no segment could be made (no document with two or more tokens)")
    return [{"tokens": segment} for segment in segments]


def guess_analysis(examples: list[dict]) -> str:
    """`coref` when the first example is a coreference window, `syntax` when it has a dependency tree, else
    `general`."""
    first = examples[0] if isinstance(examples[0], dict) else {}
    if "mentions" in first:
        return "coref"
    return "syntax" if "heads" in first and "relns" in first else "general"


def model_grid(config: EncoderConfig, debug: bool, map_kind: str) -> HeadGrid:
    """The grid of the maps the run makes: the model's (or --debug's) layers x heads; one "head" a layer for rollout
    and context mixing."""
    config = debug_config(config) if debug else config
    return HeadGrid(config.num_hidden_layers, maps_per_layer(map_kind) or config.num_attention_heads)


def check_examples(examples: list, tokenizer: ModelTokenizer, analysis: CorpusAnalysis, data_file: Path,
                   max_length: int) -> list[PreparedExample]:
    """Every example prepared for the model (fields and tokens checked, over-long ones marked) and its own fields
    (trees, mentions) checked by the analysis on an empty stand-in of its word-level map, before the long pass."""
    prepared = []
    with utils.progress_bar(examples, desc="checking examples", unit=" ex") as progress:
        for index, example in enumerate(progress):
            ready = prepare_example(example, tokenizer, data_file, index, max_length, analysis.word_level)
            if analysis.check is not None and ready.skipped is None:
                size = len(ready.pieces_per_word) + 2
                try:
                    analysis.check(example, np.empty((0, 0, size, size), np.float32))
                except ExampleError as error:
                    raise utils.example_error(data_file, index, error.field, error.problem) from None
            prepared.append(ready)
    return prepared


def run_shards(settings: ModelSettings, analysis: CorpusAnalysis, shards: list[Shard], store: PartialStore,
               corpus: CorpusOptions, data_file: Path) -> None:
    """Analyse the shards whose partials are not in `store` yet, in this process or on Ray, with a progress bar."""
    finished = store.finished()
    pending = [shard for shard in shards if shard.number not in finished]
    done = sum(len(shard.examples) for shard in shards if shard.number in finished)
    with utils.progress_bar(total=done + sum(len(shard.examples) for shard in pending), initial=done, unit=" ex",
                            desc=f"{analysis.name} analysis") as progress:
        if corpus.engine == "local":
            if pending:
                run_local(ShardAnalyzer(settings, analysis, data_file), pending, store, progress)
            return
        from analysis.engines.ray_engine import RaySettings, run_ray

        ray_settings = RaySettings(corpus.address, corpus.workers, corpus.cpus_per_worker, corpus.num_gpus_per_worker,
                                   settings.verbose)
        timings = run_ray(settings, analysis, str(data_file), pending, store, ray_settings, progress.update)
    print(f"ray: cluster start-up {timings.start_up:.1f} s, shards {timings.total:.1f} s on {corpus.workers} workers, "
          f"of which compute {timings.compute:.1f} s summed over workers", file=sys.stderr)


def default_outdir(data_file: Path) -> Path:
    """`<data file without extension>_analysis` beside it."""
    return data_file.with_name(data_file.name.rsplit(".", 1)[0] + "_analysis")


def run(data_file: str | Path, outdir: str | Path | None, model: ModelOptions, corpus: CorpusOptions,
        analyses: AnalysisOptions, verbose: bool = False,
        check_analysis: Callable[[str], None] | None = None) -> tuple[CorpusAnalysis, Path, int]:
    """Read and check everything, analyse the shards not finished yet, merge the partials, write the outputs;
    returns the analysis that ran, the output directory and the number of examples analysed. `check_analysis` is
    called with the analysis's name once it is chosen, before any work (a script refuses flags of others there)."""
    if corpus.engine == "ray" and corpus.address:
        from analysis.engines.ray_engine import check_reachable

        check_reachable(corpus.address)
    data_file = utils.check_input_file(data_file)
    map_kind = stored_map_kind(corpus.map, corpus.aggregate)
    source, config, tokenizer = open_model(model.model, model.max_sequence_length, model.cased, model.revision)
    examples = read_corpus(data_file, tokenizer, model.max_sequence_length, corpus)
    kind = corpus.analysis or guess_analysis(examples)
    if check_analysis is not None:
        check_analysis(kind)
    outdir = Path(outdir) if outdir else default_outdir(data_file)
    utils.check_output_dir(outdir)
    analysis = ANALYSES[kind].for_corpus(analyses, corpus, model_grid(config, model.debug, map_kind), data_file)
    prepared = check_examples(examples, tokenizer, analysis, data_file, model.max_sequence_length)
    check_positions(prepared, config.positions, data_file)
    with_maps = [index for index, ready in enumerate(prepared) if ready.skipped is None]
    if not with_maps:
        raise utils.InputError(f"{data_file}: every example is longer than --max-sequence-length "
                               f"{model.max_sequence_length}, so none can be analysed")
    analysis.plan(with_maps, long_inputs(prepared, map_kind, data_file))

    settings = ModelSettings(str(source.directory), model.debug, model.cased, model.max_sequence_length,
                             model.batch_size, analysis.word_level, corpus.word_level_mode, corpus.single_segment,
                             map_kind, verbose)
    shards = list(cut_shards(examples, prepared, corpus.shard_size))
    store = PartialStore(outdir, run_fingerprint(data_file, settings, analysis.settings(), corpus.shard_size),
                         len(shards))
    run_shards(settings, analysis, shards, store, corpus, data_file)
    recorded = {"engine": corpus.engine, "shard_size": corpus.shard_size, "extraction": dataclasses.asdict(settings),
                "analysis": analysis.settings()}
    record = provenance.run_record(recorded, model=provenance.model_record(source, config, model.debug),
                                   inputs={"data_file": data_file})
    analysis.write(merge_partials(analysis, store), outdir, map_kind, record)
    store.close()
    skipped = report_skipped(prepared, model.max_sequence_length)
    return analysis, outdir, len(examples) - skipped
