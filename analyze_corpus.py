r"""Text in, statistics out: extract the maps and run an analysis on them in one pass, writing no map (docs/scale.md).

    python analyze_corpus.py --data-file data/sample/unlabeled.txt --outdir out/demo/corpus
    python analyze_corpus.py --data-file out/demo/depparse/dev.json --engine ray --workers 2

The data is raw text (one sentence a line, blank lines between documents, cut into segments as by
preprocess_unlabeled.py) or the examples JSON of any preprocessing script. --analysis picks the analysis; without
it, what the examples hold picks it: dependency trees (preprocess_depparse.py) the syntax analysis, coreference
windows (preprocess_coref.py) the coreference analysis, anything else the general analysis with its head distances.
A flag of another analysis than the one that runs is refused. OUTDIR gets the same files as the file-based chain
(general.json and head_distances.pkl, syntax.json or coref.json, with figures, Markdown and report.html) and
partials/, the partial statistics of every finished shard: rerunning an interrupted command resumes after them.
`--engine ray` runs the shards on Ray Data workers: a local cluster it starts, or the one at --address.
"""

import argparse

import cli
from analysis.options import (
    AnalysisOptions,
    CorefOptions,
    CorpusOptions,
    GeneralOptions,
    ModelOptions,
    SyntaxOptions,
)

SYNTAX_OPTIONS = ("min_count", "universal_relations", "figure_relations")  # those that apply without train data
GENERAL_ONLY = tuple(field for field in GeneralOptions.__dataclass_fields__ if field != "no_html")
APPLIES_TO = {  # flags of one analysis (or two): where they apply
    **{name: ("general",) for name in (*GENERAL_ONLY, "distance_examples")},
    **{name: ("syntax",) for name in SYNTAX_OPTIONS},
    "word_level_mode": ("syntax", "coref"),
}
NOT_GIVEN = object()  # the parsed value of an analysis's flag left out


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line, in groups: data and model, engine, extraction, and each analysis's options."""
    parser = cli.ArgumentParser(__doc__)
    cli.add_flag(parser, "data-file", required=True,
                 help="raw text (one sentence a line) or an examples JSON of a preprocessing script")
    cli.add_flag(parser, "outdir", "out-dir", help="output directory (default: <data file without extension>_analysis "
                 "beside it)")
    cli.add_options(parser, CorpusOptions, only=("analysis",))
    cli.add_flag(parser, "no-html", action="store_true", help="do not write report.html")
    cli.add_verbose(parser)
    cli.add_options(parser.add_argument_group("model"), ModelOptions, helps={
        "max_sequence_length": "longer examples are skipped and counted; raw text is cut to segments of this length"})
    cli.add_options(parser.add_argument_group("engine"), CorpusOptions,
                    only=("engine", "address", "workers", "cpus_per_worker", "num_gpus_per_worker", "shard_size"))
    cli.add_options(parser.add_argument_group("extraction"), CorpusOptions,
                    only=("num_docs", "segment_seed", "single_segment", "map", "aggregate"))
    general = parser.add_argument_group("general analysis")
    cli.add_options(general, CorpusOptions, only=("distance_examples",))
    cli.add_options(general, GeneralOptions, only=GENERAL_ONLY)
    syntax = parser.add_argument_group("syntax and coreference analyses")
    cli.add_options(syntax, CorpusOptions, only=("word_level_mode",))
    cli.add_options(syntax, SyntaxOptions, only=SYNTAX_OPTIONS)
    return parser.parse_args(argv, argparse.Namespace(**dict.fromkeys(APPLIES_TO, NOT_GIVEN)))


def given_flags(args: argparse.Namespace) -> set[str]:
    """The analysis flags given on the command line; the others get their defaults back."""
    defaults = {**CorpusOptions.__dataclass_fields__, **GeneralOptions.__dataclass_fields__,
                **SyntaxOptions.__dataclass_fields__}
    given = {name for name in APPLIES_TO if getattr(args, name) is not NOT_GIVEN}
    for name in APPLIES_TO.keys() - given:
        setattr(args, name, defaults[name].default)
    return given


def check_applicable(given: set[str], analysis: str) -> None:
    """A flag of another analysis than the one that runs is an InputError."""
    for name in sorted(given):
        if analysis not in APPLIES_TO[name]:
            raise cli.InputError(f"--{name.replace('_', '-')} does not apply to the {analysis} analysis (it is for "
                                 f"the {' and '.join(APPLIES_TO[name])} analysis)")


def main(argv: list[str] | None = None) -> None:
    """Parse the command line and run the pipeline (analysis/engines/corpus.py)."""
    args = parse_args(argv)
    given = given_flags(args)
    model, corpus = cli.options_from(args, ModelOptions), cli.options_from(args, CorpusOptions)
    analyses = AnalysisOptions(
        general=cli.options_from(args, GeneralOptions),
        syntax=cli.options_from(args, SyntaxOptions, only=(*SYNTAX_OPTIONS, "no_html")),
        coref=CorefOptions(no_html=args.no_html))
    if corpus.analysis is not None:
        check_applicable(given, corpus.analysis)
    cli.headless_figures()
    from analysis.engines import corpus as corpus_pipeline

    analysis, outdir, n_analysed = corpus_pipeline.run(args.data_file, args.outdir, model, corpus, analyses,
                                                       args.verbose, lambda kind: check_applicable(given, kind))
    cli.wrote(f"the {analysis.name} analysis of {n_analysed} examples to {outdir}")


if __name__ == "__main__":
    cli.run(main)
