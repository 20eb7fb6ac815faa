"""`medinterp bench attribution`: each attribution method's time against a plain forward and Captum.

Cases: a small VGG-like classifier and a small U-Net on 2-D batches (B, 1, size, size), and a 3-D
U-Net on (B3, 1, size3d, size3d, size3d); each U-Net hooked at its bottleneck (its declared CAM
layer) and, as ``*-last``, at its last decoder block. For every method: median ms over ``--repeats`` after
warm-up, the ratio to a no-grad forward of the same model and batch, and, where Captum has the same
method (LayerGradCam, Saliency, GuidedBackprop, Deconvolution, GuidedGradCam, Occlusion), Captum's
time, the ratio and the Pearson correlation of the two maps. The method, the forward and Captum are
timed interleaved (round robin), so load changes on a shared machine hit all three alike.
"""

from __future__ import annotations

import argparse

from medinterp_widgets.bench.options import add_common_arguments, emit

CASES = ("vgg2d", "unet2d", "unet2d-last", "unet3d", "unet3d-last")


def _csv(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common_arguments(parser, what="the models'")
    parser.add_argument("--batch-3d", type=int, default=4, help="3-D batch size (default 4)")
    parser.add_argument("--size-3d", type=int, default=32, help="3-D volume side (default 32)")
    parser.add_argument("--occlusion-steps", type=int, default=8,
                        help="occlusion windows per axis (window = stride = side / steps; default 8)")
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats; the median is reported")
    parser.add_argument("--perturbation-repeats", type=int, default=2,
                        help="timed repeats for occlusion and scorecam, which run tens of forwards per image "
                             "(default 2; their first, untimed call is the warm-up)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed calls before timing")
    parser.add_argument("--cases", type=_csv, default=list(CASES), help=f"comma list of {', '.join(CASES)}")
    parser.add_argument("--methods", type=_csv, default=None, help="comma list (default: all methods)")
    parser.add_argument("--no-captum", action="store_true",
                        help="skip the Captum comparison (skipped anyway when captum is not installed)")


def run(args: argparse.Namespace) -> int:
    from medinterp_widgets.bench.attribution_suite import format_table, run_suite

    unknown = sorted(set(args.cases) - set(CASES))
    if unknown:
        raise ValueError(f"--cases: unknown {unknown}; expected some of {list(CASES)}")
    emit(run_suite(args), args, format_table)
    return 0
