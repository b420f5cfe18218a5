"""Text in, statistics out: the analyses run on the maps as they are extracted, shard by shard, and no map is
written (docs/scale.md).

The examples are cut into shards of consecutive examples (one extraction chunk each, so the maps are bit for bit
those of `extract_attention.py`). A `ShardAnalyzer` loads the model once and turns a shard into the partial states
of the analysis's accumulators; `PartialStore` keeps each finished shard's partial on disk, so a killed run resumes
from its last finished shard; `merge_partials` folds them in shard order, which gives the single-pass result
whichever engine ran the shards (this process, or Ray workers: analysis/ray_engine.py).
"""

import dataclasses
import hashlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol

import numpy as np
from tqdm import tqdm

import cli
import utils
from analysis.engines import maps
from bert.extraction import PreparedExample, build_extractor
from bert.tokenization import FullTokenizer

PARTIALS_DIR = "partials"
PARTIAL_PATTERN = "part-{:05d}.pkl"
PARTIALS_MANIFEST = "manifest.json"


class CorpusAnalysis(Protocol):
    """What the streaming engines drive (general_report.GeneralAnalysis, syntax_report.SyntaxAnalysis,
    coref_report.CorefAnalysis): `check(example, attention_maps)`, when not None, runs on each example first. It may
    also have `feeds(name, index)`, whether accumulator `name` is to see example `index` (all see all without it)."""

    name: str
    check: Callable[[dict, np.ndarray], None] | None

    def accumulators(self) -> dict[str, maps.Accumulator]: ...

    def write(self, accumulators: dict[str, maps.Accumulator], outdir: str | Path, map_kind: str, run: dict) -> dict:
        ...


@dataclasses.dataclass(frozen=True)
class ModelSettings:
    """How a worker builds the extraction the driver checked: the model and the options of extract_attention.py."""

    bert_dir: str
    debug: bool = False
    cased: bool = False
    max_sequence_length: int = 128
    batch_size: int = 16
    word_level: bool = False
    word_level_mode: str = "mean"
    single_segment: bool = False
    map_kind: str = "attn"
    verbose: bool = False


@dataclasses.dataclass
class Shard:
    """Consecutive examples of the input: `number` in shard order, `start` the index of its first example."""

    number: int
    start: int
    examples: list[dict]
    prepared: list[PreparedExample]


def cut_shards(examples: list[dict], prepared: list[PreparedExample], shard_size: int) -> Iterator[Shard]:
    """The examples in shards of `shard_size` (the last one shorter)."""
    for number, start in enumerate(range(0, len(examples), shard_size)):
        stop = start + shard_size
        yield Shard(number, start, examples[start:stop], prepared[start:stop])


class ShardAnalyzer:
    """Loads the model once; each call turns a shard into the partial states of the analysis's accumulators
    ({accumulator name: state}), the examples' maps made and consumed in memory."""

    def __init__(self, settings: ModelSettings, analysis: CorpusAnalysis, data_file: str | Path) -> None:
        cli.import_keras(settings.verbose)
        bert_dir = Path(settings.bert_dir)
        tokenizer = FullTokenizer(bert_dir / "vocab.txt", do_lower_case=not settings.cased)
        self.extractor = build_extractor(bert_dir, tokenizer, debug=settings.debug, map_kind=settings.map_kind,
                                         word_level=settings.word_level, single_segment=settings.single_segment,
                                         tokens_per_batch=settings.batch_size * settings.max_sequence_length)
        self.settings, self.analysis, self.data_file = settings, analysis, data_file

    def __call__(self, shard: Shard) -> dict[str, dict]:
        """The partial states of the shard's examples; an example the analysis refuses is an InputError naming the
        data file, the example's index and the field."""
        accumulators = self.analysis.accumulators()
        check = self.analysis.check
        feeds = getattr(self.analysis, "feeds", None)
        outputs = self.extractor.output_chunks(shard.examples, shard.prepared, 0, len(shard.examples),
                                               self.settings.word_level_mode, tqdm(disable=True))
        for position, example in enumerate(next(outputs, [])):
            if "attns" not in example:
                continue
            index = shard.start + position
            try:
                if check is not None:
                    check(example, example["attns"])
                for name, accumulator in accumulators.items():
                    if feeds is None or feeds(name, index):
                        accumulator.add(index, example, example["attns"])
            except maps.ExampleError as error:
                raise utils.example_error(self.data_file, index, error.field, error.problem) from None
        return {name: accumulator.state() for name, accumulator in accumulators.items()}


class PartialStore:
    """OUTDIR/partials: one file of partial states per finished shard, written atomically, under a lock and the
    run's fingerprint, so that a killed run resumes where it stopped and another run is never mixed in."""

    def __init__(self, outdir: str | Path, fingerprint: str, n_shards: int) -> None:
        self.directory = Path(outdir) / PARTIALS_DIR
        self._lock = utils.lock_directory(self.directory, "output directory", "--outdir")
        utils.remove_partial_writes(self.directory)
        manifest_path = self.directory / PARTIALS_MANIFEST
        manifest = {"fingerprint": fingerprint, "n_shards": n_shards}
        if manifest_path.exists() and utils.read_json(manifest_path) != manifest:
            raise utils.InputError(f"{self.directory}: holds the partials of another input or other options; "
                                   "choose a new --outdir or remove it")
        utils.write_json(manifest_path, manifest)
        self.n_shards = n_shards

    def path(self, number: int) -> Path:
        """The file of shard `number`'s partial states."""
        return self.directory / PARTIAL_PATTERN.format(number)

    def finished(self) -> set[int]:
        """The shards whose partials are on disk."""
        return {number for number in range(self.n_shards) if self.path(number).exists()}

    def write(self, number: int, states: dict[str, dict]) -> None:
        """Keep shard `number`'s partial states."""
        utils.write_pickle(self.path(number), states)

    def read(self, number: int) -> dict[str, dict]:
        """Shard `number`'s partial states (plain data, read with the restricted unpickler)."""
        return utils.read_pickle(self.path(number))

    def close(self) -> None:
        """Release the lock."""
        self._lock.close()


def merge_partials(analysis: CorpusAnalysis, store: PartialStore) -> dict[str, maps.Accumulator]:
    """The analysis's accumulators over every shard: each shard's partials rebuilt and merged in shard order, one
    shard in memory at a time."""
    merged = analysis.accumulators()
    kinds = {name: type(accumulator) for name, accumulator in merged.items()}
    with utils.progress_bar(range(store.n_shards), desc="merging partials", unit=" shards") as numbers:
        for number in numbers:
            states = store.read(number)
            for name, accumulator in merged.items():
                accumulator.merge(kinds[name].from_state(states[name]))
    return merged


def run_fingerprint(data_file: Path, settings: ModelSettings, analysis_options: object, shard_size: int) -> str:
    """Digest of the input file, the model, the extraction settings, the analysis options and the shard size: what
    makes the partials on disk reusable."""
    digest = hashlib.sha256(utils.read_bytes(data_file))
    model_directory = str(Path(settings.bert_dir).resolve())
    recorded = {**dataclasses.asdict(settings), "bert_dir": model_directory, "verbose": None}
    description = json.dumps([recorded, analysis_options, shard_size], sort_keys=True, default=_as_json)
    digest.update(description.encode())
    return digest.hexdigest()


def _as_json(value: object) -> object:
    """What json.dumps writes for a value it has no rule for: a dataclass's fields, else its text."""
    return dataclasses.asdict(value) if dataclasses.is_dataclass(value) else str(value)


def run_local(analyzer: ShardAnalyzer, shards: list[Shard], store: PartialStore, progress: tqdm) -> None:
    """Analyse the shards not finished yet in this process, keeping each partial as it is done."""
    for shard in shards:
        store.write(shard.number, analyzer(shard))
        progress.update(len(shard.examples))

