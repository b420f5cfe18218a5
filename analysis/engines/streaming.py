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
import io
import json
import pickle
import sys
from collections.abc import Iterator
from pathlib import Path

from tqdm import tqdm

import utils
from analysis.engines import maps
from analysis.engines.maps import CorpusAnalysis
from analysis.heads import HeadGrid
from bert.backend import import_keras
from bert.checkpoint import model_tokenizer, read_config
from bert.extraction import PreparedExample, build_extractor

PARTIALS_DIR = "partials"
PARTIAL_PATTERN = "part-{:05d}.pkl"
PARTIALS_MANIFEST = "manifest.json"


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
        import_keras(settings.verbose)
        bert_dir = Path(settings.bert_dir)
        tokenizer = model_tokenizer(bert_dir, read_config(bert_dir), settings.cased)
        self.extractor = build_extractor(bert_dir, tokenizer, debug=settings.debug, map_kind=settings.map_kind,
                                         word_level=settings.word_level, single_segment=settings.single_segment,
                                         tokens_per_batch=settings.batch_size * settings.max_sequence_length)
        self.settings, self.analysis, self.data_file = settings, analysis, data_file

    def __call__(self, shard: Shard) -> dict[str, dict]:
        """The partial states of the shard's examples; an example the analysis refuses is an InputError naming the
        data file, the example's index and the field. Long inputs (AttentionExtractor.streams) are read by blocks of
        query rows, so their maps never exist whole."""
        accumulators = self.analysis.accumulators()
        streamed = {position for position, ready in enumerate(shard.prepared) if self.extractor.streams(ready)}
        batched = [dataclasses.replace(ready, skipped="read by blocks") if position in streamed else ready
                   for position, ready in enumerate(shard.prepared)]
        outputs = self.extractor.output_chunks(shard.examples, batched, 0, len(shard.examples),
                                               self.settings.word_level_mode, tqdm(disable=True))
        for position, example in enumerate(next(outputs, [])):
            index = shard.start + position
            try:
                if position in streamed:
                    self.add_streamed(accumulators, index, example, shard.prepared[position])
                elif "attns" in example:
                    self.analysis.add(accumulators, index, example, example["attns"])
            except maps.ExampleError as error:
                raise utils.example_error(self.data_file, index, error.field, error.problem) from None
        return {name: accumulator.state() for name, accumulator in accumulators.items()}

    def add_streamed(self, accumulators: dict[str, maps.Accumulator], index: int, example: dict,
                     prepared: PreparedExample) -> None:
        """Read a long input block by block into the analysis's reader, then give it to the accumulators."""
        config = self.extractor.encoder.config
        grid = HeadGrid(config.num_hidden_layers, config.num_attention_heads)
        reader = self.analysis.streamed_reader(example, grid, prepared.pieces_per_word, self.settings.word_level_mode)
        self.extractor.stream_maps(prepared, reader.add)
        self.analysis.add_streamed(accumulators, index, example, reader)


class PartialStore:
    """OUTDIR/partials: one file of partial states per finished shard, written atomically, under a lock and the
    run's fingerprint, so that a killed run resumes where it stopped and another run is never mixed in. The
    manifest keeps each partial's SHA-256: a partial that no longer reads as written (a disk error) is found and its
    shard recomputed, with a note on stderr."""

    def __init__(self, outdir: str | Path, fingerprint: str, n_shards: int) -> None:
        self.directory = Path(outdir) / PARTIALS_DIR
        self._lock = utils.lock_directory(self.directory, "output directory", "--outdir")
        utils.remove_partial_writes(self.directory)
        self.manifest_path = self.directory / PARTIALS_MANIFEST
        self.manifest = {"fingerprint": fingerprint, "n_shards": n_shards, "sha256": {}}
        if self.manifest_path.exists():
            earlier = utils.read_json(self.manifest_path)
            if not isinstance(earlier, dict) or [earlier.get(key) for key in ("fingerprint", "n_shards")] != [
                    fingerprint, n_shards]:
                raise utils.InputError(f"{self.directory}: holds the partials of another input or other options; "
                                       "choose a new --outdir or remove it")
            self.manifest["sha256"] = dict(earlier.get("sha256") or {})
        utils.write_json(self.manifest_path, self.manifest)
        self.n_shards = n_shards

    def path(self, number: int) -> Path:
        """The file of shard `number`'s partial states."""
        return self.directory / PARTIAL_PATTERN.format(number)

    def intact_bytes(self, number: int) -> bytes | None:
        """Shard `number`'s partial as written (its bytes match the manifest's checksum), or None when it is missing
        or damaged."""
        expected, path = self.manifest["sha256"].get(str(number)), self.path(number)
        if expected is None or not path.is_file():
            return None
        data = path.read_bytes()
        return data if hashlib.sha256(data).hexdigest() == expected else None

    def finished(self) -> set[int]:
        """The shards whose partials are on disk, intact; a damaged one is noted on stderr (and recomputed)."""
        finished = set()
        for number in range(self.n_shards):
            if self.intact_bytes(number) is not None:
                finished.add(number)
            elif self.path(number).exists():
                print(f"{self.path(number)}: damaged (its checksum differs from the manifest's); recomputing shard "
                      f"{number}", file=sys.stderr)
        return finished

    def write(self, number: int, states: dict[str, dict]) -> None:
        """Keep shard `number`'s partial states and their checksum (the checksum first: a run killed in between
        leaves no partial, and a partial on disk always has its checksum)."""
        data = pickle.dumps(states, protocol=pickle.HIGHEST_PROTOCOL)
        self.manifest["sha256"][str(number)] = hashlib.sha256(data).hexdigest()
        utils.write_json(self.manifest_path, self.manifest)
        with utils.atomic_output(self.path(number), "wb") as stream:
            stream.write(data)

    def read(self, number: int) -> dict[str, dict]:
        """Shard `number`'s partial states (plain data, read with the restricted unpickler), checked intact."""
        data = self.intact_bytes(number)
        if data is None:
            raise utils.InputError(f"{self.path(number)}: damaged since this run wrote it (its checksum differs "
                                   "from the manifest's); run the command again to recompute it")
        return utils.unpickled(io.BytesIO(data), self.path(number))

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

