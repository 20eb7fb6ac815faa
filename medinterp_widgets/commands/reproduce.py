"""`medinterp reproduce NAME [--quick|--paper|--full] [--data DIR] [--out DIR] [--device D] [--limit-steps N]`.

Training runs (checkpoints, metrics, sweep databases) are kept under ``OUT/runs/<start time>`` (a fresh
folder per call, so a re-run never resumes an old search or mixes a dry run's trials in); the report names the
final models' checkpoints and prints the ``medinterp evaluate`` command for each. ``--limit-steps N``
is a dry run of a preset (pipelines/dry_run.py): its models, sizes and data, N steps per training run.
"""

from __future__ import annotations

import argparse
import importlib
import time
from pathlib import Path

_NAMES = ("lv-gap-cam", "rodent-gbp", "heatmap-loss", "covid-interp")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", choices=_NAMES, help="the paper to reproduce")
    preset = parser.add_mutually_exclusive_group()
    preset.add_argument("--quick", dest="preset", action="store_const", const="quick",
                        help="minutes on 2 CPU cores (default)")
    preset.add_argument("--paper", dest="preset", action="store_const", const="paper",
                        help="<= 30 min on 2 CPU cores (45 for heatmap-loss): the preset for the issue's targets")
    preset.add_argument("--full", dest="preset", action="store_const", const="full", help="paper scale, for a GPU")
    parser.set_defaults(preset="quick")
    parser.add_argument("--data", default=None, help="real-data root (default: $MEDINTERP_DATA; else synthetic)")
    parser.add_argument("--out", default=None, help="output folder (default: reports/NAME-PRESET)")
    parser.add_argument("--device", default=None, help="cpu, cuda, cuda:1 ... (default: automatic)")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--limit-steps", type=int, default=None, metavar="N",
                        help="dry run: stop every training run after N steps, searches after 2 trials")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's own)")


def run(args: argparse.Namespace) -> int:
    import torch

    from medinterp_widgets.devices import resolve_device, tune_for_speed
    from medinterp_widgets.pipelines import PIPELINES
    from medinterp_widgets.resources import data_root

    if args.limit_steps is not None and args.limit_steps < 1:
        raise SystemExit(f"medinterp reproduce: --limit-steps must be >= 1, got {args.limit_steps}")
    if args.threads:
        torch.set_num_threads(args.threads)
    tune_for_speed(resolve_device(args.device))
    module = importlib.import_module(PIPELINES[args.name])
    out = Path(args.out or Path("reports") / f"{args.name}-{args.preset}").resolve()
    runs = out / "runs" / time.strftime("%Y%m%d-%H%M%S")
    overrides = {"data_root": data_root(args.data), "device": args.device, "out_dir": str(runs),
                 "limit_steps": args.limit_steps}
    if args.seed is not None:
        overrides["seed"] = args.seed
    config = module.Config.from_preset(args.preset, **overrides)
    report = module.run(config)
    page = report.write(out)
    for c in report.comparisons:
        paper = "" if c.paper is None else f"   (paper: {c.paper:.4g}{c.unit})"
        ours = "n/a" if c.ours is None else f"{c.ours:.4g}{c.unit}"
        print(f"{c.name:40s} {ours}{paper}")
    for command in report.evaluate_commands():
        print(f"evaluate: {command}")
    print(f"report: {page}")
    return 0
