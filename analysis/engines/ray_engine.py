"""The streaming analysis on Ray Data: shards in, partial states out, one model per worker actor.

The driver sends each shard as one row of a Ray dataset; `map_batches` runs `ShardWorker` actors (each loads the
model once, with fractional CPUs so that a small machine keeps a CPU for Ray's own tasks, or with GPUs) and returns
each shard's partial states. The driver keeps every partial as it arrives (analysis/streaming.py's PartialStore),
so the run resumes after a failure and merges in shard order at the end. Ray restarts an actor that dies and
retries its shard; the partial of a shard depends only on the shard, so the result is the same. Ray runs offline:
no dashboard, no usage statistics.
"""

import os
import pickle
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from analysis.engines.maps import CorpusAnalysis
from analysis.engines.streaming import ModelSettings, PartialStore, Shard, ShardAnalyzer
from utils import InputError

RAY_ENVIRONMENT = {"RAY_USAGE_STATS_ENABLED": "0", "RAY_DISABLE_IMPORT_WARNING": "1"}
FORWARDED_ENVIRONMENT = ("KERAS_BACKEND", "TF_CPP_MIN_LOG_LEVEL", "JAX_ENABLE_X64")


class ShardWorker:
    """A Ray Data actor: builds the ShardAnalyzer once, then turns each batch of shard rows into partial rows."""

    def __init__(self, settings: ModelSettings, analysis: CorpusAnalysis, data_file: str) -> None:
        self.analyzer = ShardAnalyzer(settings, analysis, data_file)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Rows {"number", "shard": pickled Shard} -> rows {"number", "partial": pickled states, "seconds"}."""
        partials, seconds = [], []
        for shard_bytes in batch["shard"]:
            start = time.perf_counter()
            partials.append(pickle.dumps(self.analyzer(pickle.loads(shard_bytes)), protocol=pickle.HIGHEST_PROTOCOL))
            seconds.append(time.perf_counter() - start)
        return {"number": batch["number"], "partial": np.array(partials, dtype=object), "seconds": np.array(seconds)}


@dataclass
class RaySettings:
    """Where and how wide to run: `address` of an existing cluster (None: start a local one), `workers` actors, each
    with `cpus_per_worker` CPUs (None: a share that leaves a CPU's worth for Ray's own tasks) and `gpus_per_worker`."""

    address: str | None = None
    workers: int = 2
    cpus_per_worker: float | None = None
    gpus_per_worker: float = 0.0
    verbose: bool = False


@dataclass
class RayTimings:
    """Where a Ray run's time went, in seconds: connecting or starting the cluster, the shards' compute in the
    workers (summed over workers), and the whole run of the dataset."""

    start_up: float = 0.0
    compute: float = 0.0
    total: float = 0.0


def check_reachable(address: str, timeout: float = 10.0) -> None:
    """InputError unless something listens at a `host:port` or `ray://host:port` address (`ray.init` would wait for
    minutes on a wrong one); other forms, such as `auto`, are left to Ray."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        return
    try:
        socket.create_connection((host, int(port)), timeout=timeout).close()
    except OSError as error:
        raise InputError(f"--address {address}: no Ray cluster could be reached ({error.strerror or error})") from None


def connect(settings: RaySettings) -> float:
    """Start a local cluster or connect to `settings.address`, offline and quiet; returns the seconds it took."""
    os.environ.update({name: value for name, value in RAY_ENVIRONMENT.items() if name not in os.environ})
    if not settings.verbose:
        os.environ.setdefault("RAY_DATA_LOG_LEVEL", "ERROR")  # read when ray.data is first imported
    import ray
    import ray.data

    start = time.perf_counter()
    if not ray.is_initialized():
        forwarded = {name: os.environ[name] for name in FORWARDED_ENVIRONMENT if name in os.environ}
        try:
            ray.init(address=settings.address, include_dashboard=False, log_to_driver=settings.verbose,
                     logging_level="INFO" if settings.verbose else "ERROR",
                     runtime_env={"env_vars": {**RAY_ENVIRONMENT, **forwarded}})
        except (ConnectionError, RuntimeError, ValueError) as error:
            first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise InputError(f"--address {settings.address}: no Ray cluster could be reached ({first_line})") from None
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = settings.verbose
    context.print_on_execution_start = settings.verbose
    return time.perf_counter() - start


def worker_cpus(settings: RaySettings) -> float:
    """CPUs per actor: as asked, else the cluster's CPUs shared by the workers plus one, at most 1 each (actors
    that take every CPU leave none for the tasks that feed them, and the run hangs)."""
    import ray

    if settings.cpus_per_worker is not None:
        return settings.cpus_per_worker
    return min(1.0, ray.cluster_resources().get("CPU", 1.0) / (settings.workers + 1))


def run_ray(model: ModelSettings, analysis: CorpusAnalysis, data_file: str, shards: list[Shard],
            store: PartialStore, settings: RaySettings, on_shard: Callable[[int], None]) -> RayTimings:
    """Analyse `shards` on Ray, keeping each partial in `store` as it arrives and calling `on_shard(examples)`."""
    import ray

    timings = RayTimings(start_up=connect(settings))
    if not shards:
        return timings
    start = time.perf_counter()
    rows = [{"number": shard.number, "shard": pickle.dumps(shard, protocol=pickle.HIGHEST_PROTOCOL)}
            for shard in shards]
    sizes = {shard.number: len(shard.examples) for shard in shards}
    dataset = ray.data.from_items(rows, override_num_blocks=len(rows)).map_batches(
        ShardWorker, fn_constructor_args=(model, analysis, str(data_file)), batch_size=1, batch_format="numpy",
        compute=ray.data.ActorPoolStrategy(size=min(settings.workers, len(shards))), num_cpus=worker_cpus(settings),
        num_gpus=settings.gpus_per_worker or None)
    try:
        for row in dataset.iter_rows():
            number = int(row["number"])
            store.write(number, pickle.loads(row["partial"]))
            timings.compute += float(row["seconds"])
            on_shard(sizes[number])
    except ray.exceptions.RayTaskError as error:
        if isinstance(error.cause, InputError):
            raise error.cause from None
        raise
    timings.total = time.perf_counter() - start
    return timings
