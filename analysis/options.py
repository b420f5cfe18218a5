"""The options of each analysis and their defaults, in one place: the scripts build their flags from these
dataclasses (cli.add_options), and the library and the notebooks take them as they are."""

from dataclasses import dataclass

from analysis.general import behaviour
from cli import option


@dataclass
class GeneralOptions:
    """What to show: Figure 1's example and heads, the heads named in Figure 6, behaviour thresholds, MDS seed.

    Heads are 1-based `layer-head` labels.
    """

    example_index: int | None = option(None, "example shown in Figure 1 (index in the file; default: the first "
                                       "with maps)", type=int, minimum=0)
    figure_heads: tuple[str, ...] = option((), "heads of Figure 1, LAYER-HEAD,... (default: the strongest "
                                           "next-token, previous-token, [SEP] and broad heads)")
    named_heads: str | None = option(None, "heads marked in Figure 6: LAYER-HEAD=NAME,..., or 'paper' for the "
                                     "paper's BERT-base heads (default: Figure 1's heads)")
    broad_entropy: float = option(behaviour.BROAD_ENTROPY, "mean entropy (nats) above which a head attends broadly")
    position_threshold: float = option(behaviour.POSITION_THRESHOLD,
                                       "average attention to next/previous token that labels a head")
    token_threshold: float = option(behaviour.TOKEN_THRESHOLD,
                                    "average attention to [CLS]/[SEP]/punctuation that labels a head")
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
class SyntaxOptions:
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
class ProbeSettings:
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
class CorefOptions:
    """How Table 2 is made: where the best head is chosen."""

    select_on: str = option("same", "choose the best head on the same data (the paper's protocol) or on the "
                            "selection data (--select-attn-data-file)", choices=["same", "train"])
    no_html: bool = option(False, "do not write report.html", recorded=False)
