"""The `medinterp` command.

    medinterp                      overview: data found, the demo the workbench opens
    medinterp data verify          check a local data copy against data_manifests/
    medinterp reproduce NAME       lv-gap-cam | rodent-gbp | heatmap-loss | covid-interp
    medinterp evaluate             run a checkpoint on a data folder, print metrics
    medinterp bench NAME           attribution | heatmap-loss | viewer | monitor
    medinterp app [NAME]           start Voila on localhost with an app

Each subcommand lives in `medinterp_widgets.commands.<module>` with `add_arguments(parser)` and
`run(args) -> int`; modules import heavy libraries inside `run` so `--help` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from medinterp_widgets.data.errors import DataError

SUBCOMMANDS = {
    # name: (module, one-line help)
    "data": ("data", "data sets: verify a local copy against the manifests"),
    "reproduce": ("reproduce", "reproduce a paper end to end and write a report"),
    "evaluate": ("evaluate", "evaluate a checkpoint on a data folder"),
    "bench": ("bench", "benchmarks that print ratios against a same-run baseline"),
    "app": ("app", "start a Voila app on localhost"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="medinterp", description=__doc__.split("\n\n")[0])
    parser.set_defaults(_module="overview")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module_name, help_text) in SUBCOMMANDS.items():
        module = importlib.import_module(f"medinterp_widgets.commands.{module_name}")
        child = sub.add_parser(name, help=help_text, description=help_text)
        child.set_defaults(_module=module_name)
        module.add_arguments(child)
    overview = importlib.import_module("medinterp_widgets.commands.overview")
    overview.add_arguments(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    module = importlib.import_module(f"medinterp_widgets.commands.{args._module}")
    try:
        return int(module.run(args) or 0)
    except KeyboardInterrupt:
        return 130
    except (DataError, FileNotFoundError, ValueError) as error:  # user input problems: one clear line, no traceback
        print(f"medinterp {args.command or ''}: error: {error}".replace("  ", " "), file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
