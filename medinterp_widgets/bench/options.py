"""Command-line pieces the benches share; no heavy imports here, so `medinterp bench --help` stays fast."""

from __future__ import annotations

import json


def add_common_arguments(parser, *, what: str = "the models'") -> None:
    """--device, --json, --output and the 2-D case's --batch, --size, --width (shared by the benches)."""
    parser.add_argument("--device", default="auto", help="cpu | cuda | cuda:1 | auto (default)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON instead of a table")
    parser.add_argument("--output", help="also write the JSON results to this file")
    parser.add_argument("--batch", type=int, default=16, help="2-D batch size (default 16)")
    parser.add_argument("--size", type=int, default=128, help="2-D image side (default 128)")
    parser.add_argument("--width", type=int, default=16, help=f"channels of {what} first stage (default 16)")


def emit(results: dict, args, format_table) -> None:
    """Write the JSON results to ``args.output`` (if given) and print them as JSON or as a table."""
    text = json.dumps(results, indent=2)
    if getattr(args, "output", None):
        with open(args.output, "w") as handle:
            handle.write(text + "\n")
    print(text if args.json else format_table(results))
