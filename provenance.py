"""The "run" record that every output carries: how it was made (script, options, model, inputs, versions).

Analysis JSON outputs hold it under "run"; a shard directory's manifest under "run"; a pickle output (attention
maps, head distances) in a file beside it, `<name without .pkl>.run.json`. An analysis copies the records of its
inputs into its own, so `general.json` says which model made the maps it read.
"""

import dataclasses
import importlib.metadata
import os
import platform
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import utils

if TYPE_CHECKING:
    from bert.checkpoint import ModelSource
    from bert.config import EncoderConfig

PROJECT = "attention-analysis"
BACKEND_PACKAGES = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}


def package_version(name: str) -> str:
    """The installed version of a distribution, or "not installed"."""
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def versions() -> dict[str, str]:
    """Versions of the project, Python, NumPy, Keras and the Keras backend (read without importing them)."""
    backend = os.environ.get("KERAS_BACKEND", "tensorflow")
    return {
        PROJECT: package_version(PROJECT),
        "python": platform.python_version(),
        "numpy": package_version("numpy"),
        "keras": package_version("keras"),
        "keras_backend": backend,
        backend: package_version(BACKEND_PACKAGES.get(backend, backend)),
    }


def model_record(source: "ModelSource", config: "EncoderConfig", debug: bool) -> dict:
    """The model's record: where it came from (directory; Hub id, revision and commit), whether --debug replaced it,
    and the config of the model that ran (--debug's own when it did)."""
    from bert.checkpoint import debug_config

    return {**source.record(), "debug": debug, "config": dataclasses.asdict(debug_config(config) if debug else config)}


def sidecar_path(output: str | Path) -> Path:
    """Where the run record of a pickle output lives: `<name without .pkl>.run.json` beside it."""
    output = Path(output)
    return output.with_name(output.name.removesuffix(".pkl") + ".run.json")


def run_record(options: Any, model: dict | None = None, inputs: dict[str, str | None] | None = None) -> dict:
    """The record of this run: the script, its options (a dataclass or a dict), the model summary, and for each
    input path the record it carries (None when it carries none)."""
    record = {"script": Path(sys.argv[0]).name, "options": _plain(options)}
    if model is not None:
        record["model"] = model
    if inputs:
        record["inputs"] = {name: {"path": str(path), "run": input_record(path)}
                            for name, path in inputs.items() if path is not None}
    record["versions"] = versions()
    return record


def _plain(options: Any) -> Any:
    """Options as JSON values: dataclasses become dicts, also inside a dict, without the fields whose metadata
    says `recorded=False` (those that change no number, such as `no_html`)."""
    if dataclasses.is_dataclass(options):
        return {field.name: getattr(options, field.name) for field in dataclasses.fields(options)
                if field.metadata.get("recorded", True)}
    if isinstance(options, dict):
        return {name: _plain(value) for name, value in options.items()}
    return options


def input_record(path: str | Path) -> dict | None:
    """The run record an input carries: a shard directory's manifest entry, or a pickle's side file."""
    path = Path(path)
    if path.is_dir():
        return utils.read_manifest(path).get("run")
    side = sidecar_path(path)
    if path.suffix == ".pkl" and side.is_file():
        return utils.read_json(side)
    return None


def write_sidecar(output: str | Path, record: dict) -> None:
    """Write the run record of a pickle output beside it."""
    utils.write_json(sidecar_path(output), record)
