"""What every script's command line shares: flags in both spellings, options from a dataclass, quiet start-up,
and one-line errors.

Each flag accepts the dashed and the underscored spelling (`--min-count` and `--min_count`), as the original
scripts used underscores. An analysis keeps its options and their defaults in one dataclass whose fields carry
their help text (`option(default, "help")`); `add_options` turns it into flags, `options_from` back into the
dataclass.
"""

import argparse
import contextlib
import dataclasses
import os
import sys
from collections.abc import Callable, Collection, Iterator
from pathlib import Path
from typing import Any, NoReturn

from utils import InputError


def option(default: Any, help: str, **argparse_settings: Any) -> Any:
    """A dataclass field with its command-line help (and `choices`, `type`, `flag`... for argparse)."""
    return dataclasses.field(default=default, metadata={"help": help, **argparse_settings})


class ArgumentParser(argparse.ArgumentParser):
    """argparse's parser, with the script's docstring as help and one-line errors: a bad option is an InputError
    (one line, exit status 2) instead of a usage block."""

    def __init__(self, description: str) -> None:
        super().__init__(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)

    def error(self, message: str) -> NoReturn:
        """Refuse the command line in one line."""
        raise InputError(f"{self.prog}: {message} (see --help)")


def bounded(kind: type, minimum: float | None = None, maximum: float | None = None) -> Callable[[str], Any]:
    """An argparse type: `kind(value)` within [minimum, maximum] (a bound of None is no bound)."""

    def convert(text: str) -> Any:
        value = kind(text)
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            low = "-inf" if minimum is None else minimum
            high = "inf" if maximum is None else maximum
            raise argparse.ArgumentTypeError(f"{text} is not in [{low}, {high}]")
        return value

    convert.__name__ = kind.__name__  # argparse names the type in its message
    return convert


def comma_list(value: str) -> tuple[str, ...]:
    """An argparse type: "a,b" -> ("a", "b")."""
    return tuple(item.strip() for item in value.split(",") if item.strip())


def add_flag(parser: argparse.ArgumentParser | argparse._ActionsContainer, *names: str, **settings: Any) -> None:
    """Add `--name` for each name (the first gives the destination), in its dashed and underscored spellings."""
    flags = []
    for name in names:
        flags += dict.fromkeys([f"--{name.replace('_', '-')}", f"--{name.replace('-', '_')}"])
    parser.add_argument(*flags, dest=names[0].replace("-", "_"), **settings)


def add_model_flags(parser: argparse.ArgumentParser, bert_dir_help: str, length_help: str, debug_help: str,
                    min_length: int = 3) -> None:
    """The flags of every script that runs the model: --bert-dir, --max_sequence_length, --batch_size, --cased and
    --debug (the help of the first, second and last given)."""
    add_flag(parser, "bert-dir", help=bert_dir_help)
    add_flag(parser, "max_sequence_length", type=bounded(int, min_length), default=128,
             help=f"{length_help} (default: %(default)s)")
    add_flag(parser, "batch_size", type=bounded(int, 1), default=16,
             help="examples per batch at --max_sequence_length; shorter examples go in larger batches of the same "
                  "number of tokens (default: %(default)s)")
    add_flag(parser, "cased", action="store_true", help="do not lowercase (for cased models)")
    add_flag(parser, "debug", action="store_true", help=debug_help)


def analysis_parser(description: str, attn_help: str, outdir_name: str,
                    several: bool = False) -> argparse.ArgumentParser:
    """A parser with what every analysis script takes: `--attn-data-file` (a list of them when `several`) and
    `--outdir` (default: a folder named `outdir_name` beside the (first) attention data)."""
    parser = ArgumentParser(description)
    add_flag(parser, "attn-data-file", required=True, help=attn_help, nargs="+" if several else None)
    add_flag(parser, "outdir", "out-dir", help=f"output directory (default: '{outdir_name}' beside the attention data)")
    return parser


def default_outdir(args: argparse.Namespace, outdir_name: str) -> str:
    """`--outdir`, or the folder `outdir_name` beside the (first) attention data."""
    attn_data_file = args.attn_data_file[0] if isinstance(args.attn_data_file, list) else args.attn_data_file
    return args.outdir or str(Path(attn_data_file).resolve().parent / outdir_name)


def add_options(parser: argparse.ArgumentParser, options_class: type, prefix: str = "",
                only: Collection[str] | None = None) -> None:
    """One flag per field of the dataclass `options_class` (or per field named in `only`), its default and help
    taken from the field.

    A field's flag is `--<prefix><name>` unless its metadata names a `flag`; booleans are switches; a
    tuple default takes a comma-separated list; `minimum` and `maximum` bound a number.
    """
    for field in dataclasses.fields(options_class):
        if only is not None and field.name not in only:
            continue
        settings = dict(field.metadata)
        name = settings.pop("flag", prefix + field.name)
        minimum, maximum = settings.pop("minimum", None), settings.pop("maximum", None)
        settings.pop("recorded", None)
        default = field.default
        if isinstance(default, bool):
            settings["action"] = "store_true"
        elif isinstance(default, tuple):
            settings.setdefault("type", comma_list)
        elif default is not None:
            settings.setdefault("type", type(default))
        if minimum is not None or maximum is not None:
            settings["type"] = bounded(settings["type"], minimum, maximum)
        if default not in (None, False, ()):
            settings["help"] += " (default: %(default)s)"
        add_flag(parser, name, default=default, **settings)


def options_from(args: argparse.Namespace, options_class: type, prefix: str = "",
                 only: Collection[str] | None = None) -> Any:
    """The dataclass `options_class` filled from parsed arguments (the inverse of `add_options`; fields not in
    `only` keep their defaults)."""
    values = {}
    for field in dataclasses.fields(options_class):
        if only is not None and field.name not in only:
            continue
        name = field.metadata.get("flag", prefix + field.name)
        values[field.name] = getattr(args, name.replace("-", "_"))
    return options_class(**values)


def require_files(*paths: str | None) -> None:
    """InputError for the first given path that does not exist (None stands for an option left out)."""
    for path in paths:
        if path is not None and not Path(path).exists():
            raise InputError(f"{path}: no such file")


def headless_figures() -> None:
    """Draw figures without a display (matplotlib's Agg backend); call before pyplot is imported."""
    import matplotlib

    matplotlib.use("Agg")


def add_verbose(parser: argparse.ArgumentParser) -> None:
    """`--verbose`: let the backend print its start-up logs."""
    parser.add_argument("--verbose", action="store_true", help="show the Keras backend's start-up logs")


@contextlib.contextmanager
def _native_stderr_silenced() -> Iterator[None]:
    """Send what native code writes to file descriptor 2 to /dev/null for the duration (Python errors still show
    once it ends, since they propagate)."""
    sys.stderr.flush()
    saved = os.dup(2)
    with open(os.devnull, "w") as null:
        os.dup2(null.fileno(), 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def import_keras(verbose: bool = False) -> None:
    """Import Keras (and its backend) before anything else does, without the backend's screen of start-up logs
    (oneDNN, CUDA, CPU features), unless `verbose`."""
    if verbose:
        import keras  # noqa: F401
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # what TensorFlow logs later, once running
    with _native_stderr_silenced():
        import keras  # noqa: F401


def run(main: Callable[[], None]) -> None:
    """Run a script's main(); an InputError becomes a one-line message and exit status 2."""
    try:
        main()
    except InputError as error:
        message = " ".join(str(error).split())
        print(f"error: {message}", file=sys.stderr)
        sys.exit(2)

