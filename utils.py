"""Safe, atomic file IO shared by every script: JSON, pickles, shard directories, and the input error.

Outputs are written to a temporary file beside the target and renamed into place, so a crash
never leaves a half-written file or destroys an older one. Pickles are read with a restricted
unpickler that admits only containers, strings, numbers and numpy arrays (docs/formats.md).
"""

import contextlib
import fcntl
import io
import json
import os
import pickle
import sys
import tempfile
from collections.abc import Iterable, Iterator, Sized
from pathlib import Path
from typing import Any

from tqdm import tqdm

SHARD_MANIFEST = "manifest.json"
LOCK_FILE = ".lock"
SHARD_PATTERN = "part-{:05d}.pkl"


class InputError(Exception):
    """Input the tool cannot use; scripts print it on one line and exit with status 2."""


class OptionError(InputError):
    """A library parameter out of its bounds or choices; `parameter` names it (a script names its flag instead)."""

    def __init__(self, parameter: str, problem: str) -> None:
        super().__init__(f"{parameter}: {problem}")
        self.parameter = parameter
        self.problem = problem


def out_of_bounds(value: Any, minimum: float | None, maximum: float | None) -> str | None:
    """"V is not in [low, high]" when `value` lies outside the bounds (None: no bound), else None."""
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        return f"{value} is not in [{'-inf' if minimum is None else minimum}, {'inf' if maximum is None else maximum}]"
    return None


def example_error(path: str | Path, index: int, field: str, problem: str) -> InputError:
    """An InputError naming the file, the example index and the field."""
    return InputError(f"{path}: example {index}: field '{field}': {problem}")


def file_error(path: str | Path, error: OSError) -> InputError:
    """An InputError naming a file and what the operating system said about it, in words."""
    reasons = {FileNotFoundError: "no such file", IsADirectoryError: "is a directory, not a file",
               NotADirectoryError: "a part of this path is a file, not a directory",
               FileExistsError: "a file is in the way of a directory", PermissionError: "permission denied"}
    reason = reasons.get(type(error)) or error.strerror or type(error).__name__
    return InputError(f"{str(path) or repr('')}: {reason}")


@contextlib.contextmanager
def opened_input(path: str | Path) -> Iterator[io.BufferedReader]:
    """An input file opened for reading bytes; a missing or unreadable path is an InputError."""
    try:
        stream = open(path, "rb")  # noqa: SIM115 - closed by the with below
    except OSError as error:
        raise file_error(path, error) from None
    with stream:
        yield stream


def check_input_file(path: str | Path) -> Path:
    """The path of an existing, readable file; InputError otherwise (an empty name included)."""
    if not str(path):
        raise InputError("an empty file name was given")
    with opened_input(path):
        return Path(path)


def read_bytes(path: str | Path) -> bytes:
    """The bytes of an input file; a missing or unreadable path is an InputError."""
    try:
        return Path(path).read_bytes()
    except OSError as error:
        raise file_error(path, error) from None


@contextlib.contextmanager
def progress_bar(iterable: Iterable | None = None, **settings: Any) -> Iterator[Any]:
    """A tqdm progress bar on stderr that erases itself when the work inside fails, so that the one-line error
    message that follows starts a clean line. Yields the bar, or with `iterable` the items, counted as they go."""
    settings.setdefault("total", len(iterable) if isinstance(iterable, Sized) else None)
    bar = tqdm(file=sys.stderr, **settings)
    try:
        yield bar if iterable is None else _counted(iterable, bar)
    except BaseException:
        bar.leave = False
        raise
    finally:
        bar.close()


def _counted(iterable: Iterable, bar: tqdm) -> Iterator[Any]:
    """The items of `iterable`, each counted on `bar` once the next is asked for (the bar never closes itself)."""
    for item in iterable:
        yield item
        bar.update()


# ---------------------------------------------------------------------------- atomic writes

TEMPORARY_SUFFIX = ".tmp"  # a temporary output is named `.NAME.<random>.tmp` beside NAME (hidden)


def check_output_file(path: str | Path) -> None:
    """InputError unless `path` can be written as a file: not a directory, its folder creatable and writable."""
    path = Path(path)
    if path.is_dir():
        raise InputError(f"{path}: is a directory; give a file name")
    check_output_dir(path.parent)


def check_output_dir(directory: str | Path) -> None:
    """InputError unless `directory` is, or can be made, a writable directory."""
    directory = Path(directory)
    existing = next(parent for parent in (directory, *directory.parents) if parent.exists())
    if not existing.is_dir():
        raise InputError(f"{existing}: is a file, not a directory")
    try:
        with tempfile.TemporaryFile(dir=existing):  # a real write, which a permission check alone would not tell
            pass
    except OSError as error:
        raise file_error(existing, error) from None


@contextlib.contextmanager
def atomic_output(path: str | Path, mode: str = "wb") -> Iterator[io.IOBase]:
    """Open a temporary file beside `path`; on success it replaces `path` atomically, keeping the mode an
    existing `path` had. A failure to write (a full disk, a read-only folder) is an InputError and leaves any
    older `path` as it was."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=TEMPORARY_SUFFIX)
    except OSError as error:
        raise file_error(path.parent if not isinstance(error, IsADirectoryError) else path, error) from None
    try:
        os.chmod(temporary, output_mode(path))
        encoding = None if "b" in mode else "utf-8"
        with os.fdopen(descriptor, mode, encoding=encoding) as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException as error:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        if isinstance(error, OSError):
            raise file_error(path, error) from None
        raise


def output_mode(path: Path) -> int:
    """The permission bits an output gets: those of the file it replaces, else the usual ones (0666 less umask;
    mkstemp would make it private)."""
    if path.is_file():
        return path.stat().st_mode & 0o7777
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def write_json(path: str | Path, value: Any) -> None:
    """Write `value` as indented UTF-8 JSON, atomically."""
    with atomic_output(path, "w") as stream:
        json.dump(value, stream, indent=1, ensure_ascii=False, allow_nan=False)
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
    """Parse a UTF-8 JSON file; a missing, non-UTF-8, malformed or too deeply nested file is an InputError."""
    try:
        return json.loads(read_bytes(path).decode("utf-8"))
    except RecursionError:
        raise InputError(f"{path}: JSON nested too deeply") from None
    except UnicodeDecodeError as error:
        raise InputError(f"{path}: not UTF-8 ({error.reason} at byte {error.start})") from None
    except json.JSONDecodeError as error:
        raise InputError(f"{path}: malformed JSON at line {error.lineno} column {error.colno}: {error.msg}") from None


_SAFE_GLOBALS = {
    (module, name)
    for module in ("builtins", "__builtin__")  # __builtin__: Python 2's name
    for name in ("dict", "list", "tuple", "set", "frozenset", "str", "bytes", "bytearray", "int", "float", "complex",
                 "bool")
} | {
    (module, name)
    for module in ("numpy.core.multiarray", "numpy._core.multiarray", "numpy.core.numeric", "numpy._core.numeric")
    for name in ("_reconstruct", "scalar", "_frombuffer")
} | {("numpy", "ndarray"), ("numpy", "dtype"), ("collections", "OrderedDict"), ("_codecs", "encode")}


class _RestrictedUnpickler(pickle.Unpickler):
    """Unpickler that refuses every global outside containers, numbers, strings and numpy arrays.

    Python 2 pickles (the original's released maps) load too: their `str` objects are read as latin-1, which
    numpy needs to rebuild arrays from their raw bytes, and their module names map to Python 3's.
    """

    def __init__(self, stream: io.BufferedIOBase) -> None:
        super().__init__(stream, encoding="latin1")

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _SAFE_GLOBALS:
            return super().find_class(module, name)
        if module == "numpy.dtypes" and name.endswith("DType"):
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refused to load {module}.{name}")


def read_pickle(path: str | Path) -> Any:
    """Load a pickle with the restricted unpickler; anything else is an InputError."""
    try:
        stream = open(path, "rb")  # noqa: SIM115 - closed below; opening errors are told apart from unpickling ones
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory without a {SHARD_MANIFEST}") from None
    except OSError as error:
        raise file_error(path, error) from None
    with stream:
        return unpickled(stream, path)


def unpickled(stream: io.IOBase, path: str | Path) -> Any:
    """The object a pickle stream holds, read with the restricted unpickler; any failure is an InputError naming
    `path`, where the stream came from."""
    try:
        return _RestrictedUnpickler(stream).load()
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
    for index, shard in enumerate(manifest["shards"]):
        name = shard.get("file") if isinstance(shard, dict) else None
        count = shard.get("n_examples") if isinstance(shard, dict) else None
        if not isinstance(name, str) or Path(name).name != name or not isinstance(count, int) or count < 0:
            raise InputError(f"{path}: shard {index}: expected {{\"file\": a file name in the directory, "
                             f"\"n_examples\": a count}}, got {shard!r}")
    return manifest


def shard_paths(directory: str | Path) -> list[Path]:
    """Paths of the shards of a complete shard directory, in order."""
    manifest = read_manifest(directory)
    if not manifest.get("complete", False):
        raise InputError(f"{directory}: incomplete shard directory (interrupted; rerun the same command to resume)")
    return [Path(directory) / shard["file"] for shard in manifest["shards"]]


def lock_directory(directory: Path, what: str, flag: str) -> io.IOBase:
    """Create `directory` and lock it for this process (`.lock`, held while the returned file stays open and
    released when the process ends); InputError when another run holds it (`what` and `flag` name it there)."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        lock = open(directory / LOCK_FILE, "a")  # noqa: SIM115 - held open for the writer's lifetime
    except OSError as error:
        raise file_error(directory, error) from None
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.close()
        raise InputError(f"{directory}: another run is writing this {what}; wait for it to end or choose another "
                         f"{flag}") from None
    return lock


def remove_partial_writes(directory: Path) -> None:
    """Delete the temporary files that writes killed midway left in `directory` (call while holding its lock)."""
    for partial in directory.glob(f".*{TEMPORARY_SUFFIX}"):
        partial.unlink()


class ShardWriter:
    """Writes a shard directory one shard at a time; the manifest lists only shards completely written.

    The writer holds a lock on the directory (`.lock`, released when it finishes or its process ends), so a
    second writer is refused rather than mixed in. Rerunning with the same `fingerprint` (a digest of the input
    and the options) resumes after the last listed shard, removing what an interrupted write left; a directory
    written with another fingerprint is refused.
    """

    def __init__(self, directory: str | Path, fingerprint: str, run: dict | None = None):
        self.directory = Path(directory)
        self._lock = lock_directory(self.directory, "shard directory", "--output-dir")
        remove_partial_writes(self.directory)
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
        self._lock.close()


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
