"""`medinterp reproduce NAME [--quick|--full] [--data DIR] [--out DIR] [--device D]`."""

from __future__ import annotations

import argparse
import importlib
from pathlib import Path

_NAMES = ("lv-gap-cam", "rodent-gbp", "heatmap-loss", "covid-interp")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", choices=_NAMES, help="the paper to reproduce")
    preset = parser.add_mutually_exclusive_group()
    preset.add_argument("--quick", dest="preset", action="store_const", const="quick",
                        help="minutes on 2 CPU cores (default)")
    preset.add_argument("--full", dest="preset", action="store_const", const="full", help="paper scale, for a GPU")
    parser.set_defaults(preset="quick")
    parser.add_argument("--data", default=None, help="real-data root (default: $MEDINTERP_DATA; else synthetic)")
    parser.add_argument("--out", default=None, help="output folder (default: reports/NAME-PRESET)")
    parser.add_argument("--device", default=None, help="cpu, cuda, cuda:1 ... (default: automatic)")
    parser.add_argument("--seed", type=int, default=None)


def run(args: argparse.Namespace) -> int:
    from medinterp_widgets.pipelines import PIPELINES
    from medinterp_widgets.resources import data_root

    module = importlib.import_module(PIPELINES[args.name])
    overrides = {"data_root": data_root(args.data), "device": args.device}
    if args.seed is not None:
        overrides["seed"] = args.seed
    config = module.Config.preset(args.preset, **overrides)
    report = module.run(config)
    out = Path(args.out or Path("reports") / f"{args.name}-{args.preset}")
    page = report.write(out)
    for c in report.comparisons:
        paper = "" if c.paper is None else f"   (paper: {c.paper:.4g}{c.unit})"
        ours = "n/a" if c.ours is None else f"{c.ours:.4g}{c.unit}"
        print(f"{c.name:40s} {ours}{paper}")
    print(f"report: {page}")
    return 0
