"""`medinterp bench NAME`: benchmarks that print ratios against a baseline measured in the same run.

Each benchmark is a module ``medinterp_widgets.bench.<name>`` (dashes become underscores) with
``add_arguments(parser)`` and ``run(args) -> int``; one that does not exist yet answers
"not available yet". The modules import heavy libraries inside ``run`` so ``--help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys

BENCHMARKS = {
    "attribution": "time each attribution method against a plain forward pass and Captum",
    "heatmap-loss": "cost of the heatmap loss against a plain training step",
    "viewer": "viewer update latency",
    "monitor": "training-monitor overhead",
    "presets": "seconds per training step of each full preset, and its estimated training time",
    "faithfulness": "each faithfulness metric against the forwards it needs and Quantus, same run",
    "own-models": "bring your own model: workbench time to the first map for a checkpoint, TorchScript, ONNX, "
                  "MONAI 3-D",
}


def module_name(name: str) -> str:
    return f"medinterp_widgets.bench.{name.replace('-', '_')}"


def _available(name: str) -> bool:
    return importlib.util.find_spec(module_name(name)) is not None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="benchmark", metavar="NAME", required=True)
    for name, help_text in BENCHMARKS.items():
        available = _available(name)
        child = sub.add_parser(name, help=help_text if available else f"{help_text} (not available yet)",
                               description=help_text)
        if available:
            importlib.import_module(module_name(name)).add_arguments(child)
        else:
            child.add_argument("rest", nargs=argparse.REMAINDER)


def run(args: argparse.Namespace) -> int:
    if not _available(args.benchmark):
        print(f"medinterp bench {args.benchmark}: not available yet in this version", file=sys.stderr)
        return 2
    return int(importlib.import_module(module_name(args.benchmark)).run(args) or 0)
