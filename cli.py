"""What every script's command line shares: flags in both spellings, options from a dataclass, `--version`, the
closing "wrote ..." line, and one-line errors.

Only the scripts import this module; the library (bert/, analysis/, preprocessing/) never does. Each flag accepts
the dashed and the underscored spelling (`--min-count` and `--min_count`), as the original scripts used
underscores, and its older names as aliases. An analysis keeps its options, defaults and bounds in one dataclass of
analysis/options.py whose fields carry their help text; `add_options` turns it into flags, `options_from` back into
the dataclass, naming the flag when the dataclass refuses a value.
"""

import argparse
import dataclasses
import sys
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any, NoReturn

import provenance
from utils import InputError, OptionError, out_of_bounds


class ArgumentParser(argparse.ArgumentParser):
    """argparse's parser, with the script's docstring as help, `--version`, and one-line errors: a bad option is an
    InputError (one line, exit status 2) instead of a usage block."""

    def __init__(self, description: str) -> None:
        super().__init__(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
        version = provenance.package_version(provenance.PROJECT)
        self.add_argument("--version", action="version", version=f"{provenance.PROJECT} {version}")

    def error(self, message: str) -> NoReturn:
        """Refuse the command line in one line."""
        raise InputError(f"{self.prog}: {message} (see --help)")


def bounded(kind: type, minimum: float | None = None, maximum: float | None = None) -> Callable[[str], Any]:
    """An argparse type: `kind(value)` within [minimum, maximum] (a bound of None is no bound)."""

    def convert(text: str) -> Any:
        value = kind(text)
        problem = out_of_bounds(value, minimum, maximum)
        if problem:
            raise argparse.ArgumentTypeError(problem)
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


def add_options(parser: argparse.ArgumentParser | argparse._ActionsContainer, options_class: type, prefix: str = "",
                only: Collection[str] | None = None, helps: dict[str, str] | None = None) -> None:
    """One flag per field of the dataclass `options_class` (or per field named in `only`), its default and help
    taken from the field (or from `helps`, by field name, where a script says it its own way).

    A field's flag is `--<prefix><name>` unless its metadata names a `flag`, and its `aliases` are older names;
    booleans are switches; a tuple default takes a comma-separated list; `minimum` and `maximum` bound a number.
    """
    for field in dataclasses.fields(options_class):
        if only is not None and field.name not in only:
            continue
        settings = dict(field.metadata)
        if helps and field.name in helps:
            settings["help"] = helps[field.name]
        name = settings.pop("flag", prefix + field.name)
        aliases = settings.pop("aliases", ())
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
        if default is not None and default is not False and default != ():
            settings["help"] += " (default: %(default)s)"
        add_flag(parser, name, *aliases, default=default, **settings)


def flag_name(options_class: type, parameter: str, prefix: str = "") -> str:
    """The flag of a dataclass field, as `add_options` names it (`--min-count`)."""
    field = next(field for field in dataclasses.fields(options_class) if field.name == parameter)
    return "--" + field.metadata.get("flag", prefix + field.name).replace("_", "-")


def options_from(args: argparse.Namespace, options_class: type, prefix: str = "",
                 only: Collection[str] | None = None) -> Any:
    """The dataclass `options_class` filled from parsed arguments (the inverse of `add_options`; fields not in
    `only` keep their defaults); a value the dataclass refuses is an InputError naming the flag."""
    values = {}
    for field in dataclasses.fields(options_class):
        if only is not None and field.name not in only:
            continue
        name = field.metadata.get("flag", prefix + field.name)
        values[field.name] = getattr(args, name.replace("-", "_"))
    try:
        return options_class(**values)
    except OptionError as error:
        raise InputError(f"{flag_name(options_class, error.parameter, prefix)}: {error.problem}") from None


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


def wrote(message: str) -> None:
    """A script's closing line, "wrote <message>", on stderr beside the progress bars."""
    print(f"wrote {message}", file=sys.stderr)


def run(main: Callable[[], None]) -> None:
    """Run a script's main(); an InputError becomes a one-line message and exit status 2 (a library parameter's
    error names the parameter's flag)."""
    try:
        main()
    except InputError as error:
        if isinstance(error, OptionError):
            error = InputError(f"--{error.parameter.replace('_', '-')}: {error.problem}")
        message = " ".join(str(error).split())
        print(f"error: {message}", file=sys.stderr)
        sys.exit(2)

