"""Safe, atomic file IO shared by every script: JSON, pickles, shard directories, and the input error.

Outputs are written to a temporary file beside the target and renamed into place, so a crash
never leaves a half-written file or destroys an older one. Pickles are read with a restricted
unpickler that admits only containers, strings, numbers and numpy arrays (docs/formats.md).
"""

import contextlib
import io
import json
import os
import pickle
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

SHARD_MANIFEST = "manifest.json"
SHARD_PATTERN = "part-{:05d}.pkl"


class InputError(Exception):
    """Input the tool cannot use; scripts print it on one line and exit with status 2."""


def example_error(path: str | Path, index: int, field: str, problem: str) -> InputError:
    """An InputError naming the file, the example index and the field."""
    return InputError(f"{path}: example {index}: field '{field}': {problem}")


# ---------------------------------------------------------------------------- atomic writes


@contextlib.contextmanager
def atomic_output(path: str | Path, mode: str = "wb") -> Iterator[io.IOBase]:
    """Open a temporary file beside `path`; on success it replaces `path` atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(temporary, 0o666 & ~umask)  # mkstemp makes files private (0600); outputs get the usual mode
    try:
        encoding = None if "b" in mode else "utf-8"
        with os.fdopen(descriptor, mode, encoding=encoding) as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def write_json(path: str | Path, value: Any) -> None:
    """Write `value` as indented UTF-8 JSON, atomically."""
    with atomic_output(path, "w") as stream:
        json.dump(value, stream, indent=1, ensure_ascii=False)
        stream.write("\n")


def write_text(path: str | Path, text: str) -> None:
    """Write a text file atomically."""
    with atomic_output(path, "w") as stream:
        stream.write(text)


def write_pickle(path: str | Path, value: Any) -> None:
    """Pickle `value` (highest protocol), atomically."""
    with atomic_output(path, "wb") as stream:
        pickle.dump(value, stream, protocol=pickle.HIGHEST_PROTOCOL)


# ---------------------------------------------------------------------------- reading


def read_json(path: str | Path) -> Any:
    """Parse a UTF-8 JSON file; a missing, non-UTF-8 or malformed file is an InputError."""
    try:
        with open(path, encoding="utf-8") as stream:
            return json.load(stream)
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except UnicodeDecodeError as error:
        raise InputError(f"{path}: not UTF-8 ({error.reason} at byte {error.start})") from None
    except json.JSONDecodeError as error:
        raise InputError(f"{path}: malformed JSON at line {error.lineno} column {error.colno}: {error.msg}") from None


_SAFE_GLOBALS = {
    ("builtins", name)
    for name in ("dict", "list", "tuple", "set", "frozenset", "str", "bytes", "bytearray", "int", "float", "complex",
                 "bool")
} | {
    (module, name)
    for module in ("numpy.core.multiarray", "numpy._core.multiarray", "numpy.core.numeric", "numpy._core.numeric")
    for name in ("_reconstruct", "scalar", "_frombuffer")
} | {("numpy", "ndarray"), ("numpy", "dtype"), ("collections", "OrderedDict"), ("_codecs", "encode")}


class _RestrictedUnpickler(pickle.Unpickler):
    """Unpickler that refuses every global outside containers, numbers, strings and numpy arrays."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _SAFE_GLOBALS:
            return super().find_class(module, name)
        if module == "numpy.dtypes" and name.endswith("DType"):
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refused to load {module}.{name}")


def read_pickle(path: str | Path) -> Any:
    """Load a pickle with the restricted unpickler; anything else is an InputError."""
    try:
        with open(path, "rb") as stream:
            return _RestrictedUnpickler(stream).load()
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory without a {SHARD_MANIFEST}") from None
    except Exception as error:  # noqa: BLE001 - any failure to unpickle means a corrupt or foreign file
        raise InputError(f"{path}: not a readable attention pickle ({type(error).__name__}: {error})") from None


def _read_example_list(path: Path) -> list:
    """Read one pickle that must hold a list of example dicts."""
    examples = read_pickle(path)
    if not isinstance(examples, list) or not all(isinstance(example, dict) for example in examples):
        raise InputError(f"{path}: not an attention pickle (expected a list of example objects)")
    return examples


def read_manifest(directory: str | Path) -> dict:
    """The manifest of a shard directory: `shards` (a list of `{"file", "n_examples"}`), `complete`, `fingerprint`."""
    path = Path(directory) / SHARD_MANIFEST
    manifest = read_json(path)
    if not isinstance(manifest, dict) or not isinstance(manifest.get("shards"), list):
        raise InputError(f"{path}: not a shard manifest (no 'shards' list)")
    return manifest


def shard_paths(directory: str | Path) -> list[Path]:
    """Paths of the shards of a complete shard directory, in order."""
    manifest = read_manifest(directory)
    if not manifest.get("complete", False):
        raise InputError(f"{directory}: incomplete shard directory (interrupted; rerun the same command to resume)")
    return [Path(directory) / shard["file"] for shard in manifest["shards"]]


class ShardWriter:
    """Writes a shard directory one shard at a time; the manifest lists only shards completely written.

    Rerunning with the same `fingerprint` (a digest of the input and the options) resumes after the last
    listed shard; a directory written with another fingerprint is refused rather than mixed.
    """

    def __init__(self, directory: str | Path, fingerprint: str, run: dict | None = None):
        self.directory = Path(directory)
        self.manifest = {"fingerprint": fingerprint, "complete": False, "shards": [], "run": run}
        if (self.directory / SHARD_MANIFEST).exists():
            existing = read_manifest(self.directory)
            if existing.get("fingerprint") != fingerprint:
                raise InputError(f"{self.directory}: holds the output of another input or other options; "
                                 "choose a new --output-dir or remove it")
            self.manifest = {**existing, "run": run}

    @property
    def n_examples_written(self) -> int:
        """How many examples the listed shards hold (where a resumed run starts)."""
        return sum(shard["n_examples"] for shard in self.manifest["shards"])

    def write_shard(self, examples: list[dict]) -> None:
        """Write the next shard, then list it in the manifest."""
        name = SHARD_PATTERN.format(len(self.manifest["shards"]))
        write_pickle(self.directory / name, examples)
        self.manifest["shards"].append({"file": name, "n_examples": len(examples)})
        write_json(self.directory / SHARD_MANIFEST, self.manifest)

    def finish(self) -> None:
        """Mark the directory complete, so that readers accept it."""
        self.manifest["complete"] = True
        write_json(self.directory / SHARD_MANIFEST, self.manifest)


def iter_examples(path: str | Path) -> Iterator[dict]:
    """Yield the examples of an attention pickle or a shard directory, one at a time, in order.

    A shard directory is read one shard at a time, so memory stays bounded by one shard.
    """
    path = Path(path)
    paths = shard_paths(path) if path.is_dir() else [path]
    for shard in paths:
        yield from _read_example_list(shard)


def read_examples(path: str | Path) -> list[dict]:
    """All examples of an attention pickle or shard directory, as one list."""
    return list(iter_examples(path))
