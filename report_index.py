"""Link every report page below a directory from one index page.

    python report_index.py --outdir out/demo

writes out/demo/index.html, linking each report.html below it (general, gradient importance, syntax, coreference,
then the others by path), as `make demo` does.
"""

import argparse

import cli


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line: the directory whose report pages to link."""
    parser = cli.ArgumentParser(__doc__)
    cli.add_flag(parser, "outdir", required=True, help="directory holding report pages; index.html is written there")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Write OUTDIR/index.html."""
    args = parse_args(argv)
    from analysis.report.page import index_page

    cli.wrote(str(index_page(args.outdir)))


if __name__ == "__main__":
    cli.run(main)
