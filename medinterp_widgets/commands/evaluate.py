"""`medinterp evaluate --checkpoint CKPT --data DIR --dataset KIND [--json] [--device]`.

Rebuilds the model stored in the checkpoint (class + constructor kwargs), runs it over DIR read in
the data set's own format and prints the metrics (JSON with ``--json``).
"""

from __future__ import annotations

import argparse
import json
import math
import sys

KINDS = ("sunnybrook", "acdc", "covid-ct", "covid-lesions", "mouse-brain")  # == training.evaluate.DATASET_KINDS


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--checkpoint", required=True, help="a .pt checkpoint written by the Trainer")
    parser.add_argument("--data", required=True, help="data folder in the data set's own layout")
    parser.add_argument("--dataset", required=True, choices=KINDS, help="how to read --data")
    parser.add_argument("--split", default="val", help="ACDC split: val (volumes, default) or train (slices)")
    parser.add_argument("--size", type=int, nargs=2, metavar=("H", "W"), default=None,
                        help="resize images (default: the size stored in the checkpoint, else native)")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--limit", type=int, default=None, help="evaluate only the first N images (quick checks)")
    parser.add_argument("--device", default=None, help="cpu, cuda, cuda:1 (default: best available)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def run(args: argparse.Namespace) -> int:
    from medinterp_widgets.data.errors import DataError
    from medinterp_widgets.training.evaluate import evaluate_checkpoint

    size = tuple(args.size) if args.size else None
    try:
        results = evaluate_checkpoint(args.checkpoint, args.data, args.dataset, device=args.device,
                                      split=args.split, size=size, batch_size=args.batch_size,
                                      limit=args.limit)
    except DataError as error:
        print(f"medinterp evaluate: error: {type(error).__name__}: {error}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps({k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in results.items()}))
    else:
        for key, value in results.items():
            print(f"{key:18s} {value:.4f}" if isinstance(value, float) else f"{key:18s} {value}")
    return 0
