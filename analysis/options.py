"""The options of each analysis, their defaults and their bounds, in one place.

The scripts build their flags from these dataclasses (cli.add_options), and the library and the notebooks take
them as they are. Each dataclass checks its own values when made (bounds and choices, from the field's metadata),
so a notebook gets the same checks as a script; an error names the parameter (`OptionError`), and a script names
its flag instead.
"""

import dataclasses
from dataclasses import dataclass
from typing import Any

from analysis.general import behaviour
from bert.map_kinds import MAP_KINDS
from bpe_utils import WORD_LEVEL_MODES
from utils import OptionError, out_of_bounds


def option(default: Any, help: str, **settings: Any) -> Any:
    """A dataclass field with its help text and settings: `choices`, `minimum`, `maximum` (checked by the dataclass),
    `flag` (the flag's name when not the field's), `recorded=False` (left out of run records), argparse's `type`."""
    return dataclasses.field(default=default, metadata={"help": help, **settings})


def check_fields(options: Any) -> None:
    """OptionError for the first field of a dataclass whose value is outside its `choices`, `minimum` or `maximum`
    (None stands for an option left out and is not checked)."""
    for field in dataclasses.fields(options):
        value, settings = getattr(options, field.name), field.metadata
        if value is None:
            continue
        if "choices" in settings and value not in settings["choices"]:
            choices = ", ".join(map(str, settings["choices"]))
            raise OptionError(field.name, f"{value!r} is not one of {choices}")
        problem = out_of_bounds(value, settings.get("minimum"), settings.get("maximum"))
        if problem:
            raise OptionError(field.name, problem)


class CheckedOptions:
    """Base of every options dataclass: its values are checked when it is made (check_fields)."""

    def __post_init__(self) -> None:
        check_fields(self)


@dataclass
class GeneralOptions(CheckedOptions):
    """What to show: Figure 1's example and heads, the heads named in Figure 6, behaviour thresholds, MDS seed.

    Heads are 1-based `layer-head` labels.
    """

    example_index: int | None = option(None, "example shown in Figure 1 (index in the file; default: the first "
                                       "with maps)", type=int, minimum=0)
    figure_heads: tuple[str, ...] = option((), "heads of Figure 1, LAYER-HEAD,... (default: the strongest "
                                           "next-token, previous-token, separator ([SEP], </s>) and broad heads)")
    named_heads: str | None = option(None, "heads marked in Figure 6: LAYER-HEAD=NAME,..., or 'paper' for the "
                                     "paper's BERT-base heads (default: Figure 1's heads)")
    broad_entropy: float = option(behaviour.BROAD_ENTROPY, "mean entropy (nats) above which a head attends broadly")
    position_threshold: float = option(behaviour.POSITION_THRESHOLD,
                                       "average attention to next/previous token that labels a head")
    token_threshold: float = option(behaviour.TOKEN_THRESHOLD,
                                    "average attention to the classifier/separator token ([CLS]/[SEP], <s>/</s>) or "
                                    "punctuation that labels a head")
    seed: int = option(0, "random seed of the MDS embedding", minimum=0)
    paper: bool = option(False, "draw the paper's own Figures 1 and 6 (BERT-base maps only: example 581, heads 1-1, "
                         "3-1, 8-7, 11-6; the original's MDS and named heads; see analysis/paper.py)")
    no_html: bool = option(False, "do not write report.html", recorded=False)

    def thresholds(self) -> dict[str, float]:
        """The keyword arguments of behaviour.behaviour_labels."""
        return {
            "broad_entropy": self.broad_entropy,
            "position_threshold": self.position_threshold,
            "token_threshold": self.token_threshold,
        }


@dataclass
class SyntaxOptions(CheckedOptions):
    """How Table 1 and Figure 5 are made: where heads are chosen, which relations are shown and how labelled."""

    select_on: str = option("same", "choose each relation's head on the same data (the paper's protocol) or on "
                            "train", choices=["same", "train"])
    min_count: int = option(100, "relations with fewer words are left out of the table", minimum=0)
    universal_relations: bool = option(False, "merge relation subtypes into their universal part (nmod:poss -> nmod)")
    figure_relations: tuple[str, ...] = option((), "relations of Figure 5, comma-separated (default: the table's "
                                               "6 most frequent)")
    probes: bool = option(False, "train and evaluate the attention probes (Table 3)")
    paper: bool = option(False, "draw the paper's own Figure 5 (BERT-base maps of the original's dev file only: "
                         "its five panels on dev examples 42, 1286, 13, ...; see analysis/paper.py)")
    no_html: bool = option(False, "do not write report.html", recorded=False)


@dataclass
class ProbeSettings(CheckedOptions):
    """How the attention probes are trained (Table 3); flags `--probe-<name>`, the seed `--seed`.

    The `paper` regime trains as the original code did (analysis/probes.py) and uses only `seed` of the others.
    """

    regime: str = option("ours", "ours (mini-batches, held-out early stopping, bilinear words + distances "
                         "baseline) or paper (as the original code: one epoch of one-sentence steps, Adam at 0.002, "
                         "its distance-features baseline; the other --probe- settings do not apply)",
                         choices=["ours", "paper"])
    epochs: int = option(40, "most training epochs of each probe", minimum=1)
    patience: int = option(3, "epochs without held-out improvement before a probe stops", minimum=1)
    learning_rate: float = option(0.05, "initial Adam learning rate of the probes", minimum=1e-12)
    lr_decay: float = option(0.5, "learning-rate factor after an epoch without held-out improvement",
                             minimum=1e-12, maximum=1.0)
    min_delta: float = option(1e-3, "held-out loss improvement that counts as one", minimum=0.0)
    holdout_fraction: float = option(0.1, "share of train sentences held out to steer training",
                                     minimum=1e-12, maximum=0.99)
    max_pairs: int = option(16384, "most padded (word, candidate) pairs in a training batch", minimum=1)
    seed: int = option(0, "random seed of the probes (held-out split, batch order)", flag="seed", minimum=0)


@dataclass
class CorefOptions(CheckedOptions):
    """How Table 2 is made: where the best head is chosen."""

    select_on: str = option("same", "choose the best head on the same data (the paper's protocol) or on the "
                            "selection data (--select-attn-data-file)", choices=["same", "train"])
    no_html: bool = option(False, "do not write report.html", recorded=False)


@dataclass
class AnalysisOptions:
    """Every analysis's options, for analyze_corpus.py, which runs the one its data asks for."""

    general: GeneralOptions = dataclasses.field(default_factory=GeneralOptions)
    syntax: SyntaxOptions = dataclasses.field(default_factory=SyntaxOptions)
    coref: CorefOptions = dataclasses.field(default_factory=CorefOptions)


@dataclass
class ModelOptions(CheckedOptions):
    """Which model runs, and how examples are batched: the options of every script that runs a model (the
    preprocessing scripts use the first four, to tokenize)."""

    model: str | None = option(None, "the model: a directory (Google or Hugging Face; BERT, RoBERTa, XLM-R, ELECTRA, "
                               "DistilBERT, ALBERT) or a Hugging Face Hub id, e.g. FacebookAI/roberta-base "
                               "(default: the embedded MiniLM)",
                               aliases=("bert-dir",))
    revision: str | None = option(None, "with a Hub id: the branch, tag or commit to use (default: main)")
    cased: bool = option(False, "do not lowercase (for models with only a vocab.txt; the original's --cased)")
    max_sequence_length: int = option(128, "longest example in tokens; longer ones are kept, marked 'skipped'",
                                      minimum=3)
    batch_size: int = option(16, "examples per batch at --max-sequence-length; shorter examples go in larger "
                             "batches of the same number of tokens", minimum=1)
    debug: bool = option(False, "use a tiny randomly initialised model (3 layers, hidden 144, fixed seed)")

    @property
    def tokens_per_batch(self) -> int:
        """Tokens in a batch: `batch_size` examples of `max_sequence_length` tokens."""
        return self.batch_size * self.max_sequence_length


@dataclass
class GradientOptions(CheckedOptions):
    """How the gradient importance of Figure 3 is measured."""

    seed: int = option(0, "seed of the masking (and of --debug's random model)", minimum=0)
    no_html: bool = option(False, "do not write report.html", recorded=False)


TOKENIZER_OPTIONS = ("model", "revision", "cased", "max_sequence_length")  # what the preprocessing scripts take
ANALYSES = ("general", "syntax", "coref")
ENGINES = ("local", "ray")


@dataclass
class CorpusOptions(CheckedOptions):
    """How analyze_corpus.py runs: which analysis, where the shards run, how the raw text is cut and mapped."""

    analysis: str | None = option(None, "the analysis to run (default: syntax for dependency trees, coref for "
                                  "coreference windows, general for anything else)", choices=ANALYSES)
    engine: str = option("local", "run the shards in this process or on Ray Data workers", choices=ENGINES)
    address: str | None = option(None, "with --engine ray: the Ray cluster to use, e.g. ray://head:10001 or auto "
                                 "(default: start a local one)")
    workers: int = option(2, "with --engine ray: worker actors, each loading the model once", minimum=1)
    cpus_per_worker: float | None = option(None, "with --engine ray: CPUs each actor reserves (default: the "
                                           "cluster's CPUs over workers + 1, at most 1)", type=float, minimum=0.01)
    num_gpus_per_worker: float = option(0.0, "with --engine ray: GPUs each actor reserves", minimum=0.0)
    shard_size: int = option(256, "examples per shard: one extraction chunk, one partial on disk", minimum=1,
                             aliases=("chunk-size",))
    num_docs: int | None = option(None, "raw text: the number of segments to make (default: all the text gives)",
                                  type=int, minimum=1)
    segment_seed: int = option(0, "raw text: random seed of the A/B splits, as preprocess_unlabeled.py's --seed",
                               minimum=0)
    single_segment: bool = option(False, "all token type ids 0, as the original code did")
    map: str = option("attn", "attention weights, norm-based maps, attention rollout, or context mixing: attention "
                      "with residual and LayerNorm, ALTI, value zeroing (docs/definitions.md)", choices=MAP_KINDS)
    aggregate: bool = option(False, "with a context-mixing --map: its product across layers")
    word_level_mode: str = option("mean", "syntax and coreference: attention from a split word",
                                  choices=WORD_LEVEL_MODES)
    distance_examples: int = option(1000, "general analysis: the head distances (Figure 6) over the first N "
                                    "examples with maps, as the paper's 1,000 segments; 0 for none. They cost about "
                                    "one MiniLM forward pass per example on a CPU", minimum=0)
