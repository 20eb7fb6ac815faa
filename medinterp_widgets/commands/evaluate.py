"""`medinterp evaluate --checkpoint CKPT --data DIR --dataset KIND [--json] [--device]`.

Rebuilds the model stored in the checkpoint (registered class + constructor kwargs), runs it over DIR
read in the data set's own format and prints the metrics (JSON with ``--json``). A checkpoint of a
class outside the project is refused unless ``--trust-model-module MODULE`` names its module.

``EVALUATORS`` names, per ``--dataset`` kind, the function that scores a checkpoint on such a folder:
the generic one in ``training.evaluate`` or a paper pipeline's own (which knows that paper's
preprocessing and metrics). Each is called as
``fn(checkpoint, root, kind, device=, split=, size=, batch_size=, limit=) -> dict``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys

GENERIC = "medinterp_widgets.training.evaluate:evaluate_checkpoint"
LV = "medinterp_widgets.pipelines.lv_gap_cam.scoring:evaluate_checkpoint"  # LV checkpoints; others -> GENERIC
EVALUATORS = {  # --dataset kind: "module:function" (imported only when used)
    "sunnybrook": LV,
    "acdc": LV,
    "covid-ct": "medinterp_widgets.pipelines.covid_interp.evaluate:evaluate_covid_ct",
    "covid-lesions": "medinterp_widgets.pipelines.covid_interp.evaluate:evaluate_covid_lesions",
    "mouse-brain": "medinterp_widgets.pipelines.rodent_gbp.evaluate:evaluate_checkpoint",
    "acdc-diagnosis": "medinterp_widgets.pipelines.heatmap_loss.acdc_arm:evaluate_acdc_diagnosis",
}
KINDS = tuple(EVALUATORS)


def evaluator(kind: str):
    """The scoring function of a ``--dataset`` kind (see the module docstring)."""
    import importlib

    if kind not in EVALUATORS:
        raise ValueError(f"--dataset: expected one of {', '.join(KINDS)}, got {kind!r}")
    module_name, _, name = EVALUATORS[kind].partition(":")
    return getattr(importlib.import_module(module_name), name)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--checkpoint", required=True, help="a .pt checkpoint written by the Trainer")
    parser.add_argument("--data", required=True, help="data folder in the data set's own layout")
    parser.add_argument("--dataset", required=True, choices=KINDS, help="how to read --data")
    parser.add_argument("--split", default=None,
                        help="split list to read (ACDC: NAME.list; default: the evaluator's own, e.g. ACDC "
                             "test.list, else val.list, else every file; acdc-diagnosis: <split>.list or every file)")
    parser.add_argument("--size", type=int, nargs=2, metavar=("H", "W"), default=None,
                        help="resize images (default: the size stored in the checkpoint, else native)")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--limit", type=int, default=None, help="evaluate only the first N images (quick checks)")
    parser.add_argument("--device", default=None, help="cpu, cuda, cuda:1 (default: best available)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--trust-model-module", action="append", default=[], metavar="MODULE",
                        help="import MODULE and allow checkpoints of the nn.Module classes it defines "
                             "(this runs MODULE's code; the project's own models need no trust)")


def trust_modules(names: list[str]) -> None:
    """Trust each module named by the user (``models.trust_model_module``); import errors name the flag."""
    from medinterp_widgets.models import trust_model_module

    for name in names:
        try:
            trust_model_module(name)
        except ImportError as error:
            raise ValueError(f"--trust-model-module {name}: cannot import it ({error})") from None


def run(args: argparse.Namespace) -> int:
    from medinterp_widgets.data.errors import DataError

    trust_modules(args.trust_model_module)
    size = tuple(args.size) if args.size else None
    chosen = {"split": args.split} if args.split is not None else {}  # else each evaluator's own default
    try:
        results = evaluator(args.dataset)(args.checkpoint, args.data, args.dataset, device=args.device,
                                          size=size, batch_size=args.batch_size, limit=args.limit, **chosen)
    except DataError as error:
        print(f"medinterp evaluate: error: {type(error).__name__}: {error}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps({k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in results.items()}))
    else:
        for key, value in results.items():
            print(f"{key:18s} {value:.4f}" if isinstance(value, float) else f"{key:18s} {value}")
    return 0
