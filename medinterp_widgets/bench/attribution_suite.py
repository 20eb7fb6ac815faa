"""The work behind `medinterp bench attribution`: models, Captum equivalents, timing, table."""

from __future__ import annotations

import argparse
import functools
import warnings
from dataclasses import dataclass
from typing import Any, Callable

import torch
from torch import nn
from tqdm.auto import tqdm

from medinterp_widgets.attribution import METHODS, attribute, describe, method_options
from medinterp_widgets.attribution.perturbation import variants_per_forward
from medinterp_widgets.bench.timing import ratio, time_call, time_round_robin
from medinterp_widgets.devices import resolve_device
from medinterp_widgets.models import UNet, VGGClassifier

TARGET_CLASS = 1


@dataclass
class Case:
    name: str
    model: nn.Module
    x: torch.Tensor  # (B, 1, *spatial)
    layer: str


class ClassScores(nn.Module):
    """Captum needs (B, K) outputs: sum a segmentation net's logits over space, as ClassTarget does."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        output = self.model(x)
        return output.flatten(2).sum(-1) if output.dim() > 2 else output  # (B, K)


LAST_DECODER_BLOCK = "decoder.2"  # the U-Nets' last decoder stage (depth 3), before the 1x1 classifier


def build_case(name: str, args: argparse.Namespace, device: torch.device) -> Case:
    """A small model in eval mode and a fixed random batch on ``device``.

    ``unet2d`` / ``unet3d`` hook the model's declared CAM layer (the bottleneck: a CAM there must
    backpropagate through the whole decoder); ``unet2d-last`` / ``unet3d-last`` the same nets at
    their last decoder block, where only the 1x1 classifier lies between the layer and the score.
    """
    base_name, _, variant = name.partition("-")
    generator = torch.Generator().manual_seed(0)
    torch_state = torch.random.get_rng_state()
    torch.manual_seed(0)  # model init; the global RNG is restored below
    try:
        if base_name == "vgg2d":
            model = VGGClassifier(in_channels=1, n_classes=4, width=args.width, cfg="vgg11")
            shape = (args.batch, 1, args.size, args.size)
        elif base_name == "unet2d":
            model = UNet(in_channels=1, n_classes=4, base_channels=args.width, depth=3, dims=2)
            shape = (args.batch, 1, args.size, args.size)
        else:
            model = UNet(in_channels=1, n_classes=4, base_channels=max(1, args.width // 2), depth=3, dims=3)
            shape = (args.batch_3d, 1, args.size_3d, args.size_3d, args.size_3d)
    finally:
        torch.random.set_rng_state(torch_state)
    x = torch.randn(shape, generator=generator).to(device)
    layer = LAST_DECODER_BLOCK if variant == "last" else model.cam_layer_name
    return Case(name, model.to(device).eval(), x, layer)


def perturbation_chunk(case: Case) -> int:
    """Perturbed copies of the batch per forward: the engine's automatic choice, given to Captum too."""
    return variants_per_forward(None, case.x.shape[0], case.x.device, case.x.shape[2:].numel())


def method_kwargs(method: str, case: Case, occlusion_steps: int) -> dict[str, Any]:
    """The method's default options (``MethodInfo.default_options``) with ``occlusion_steps`` perturbation
    cells per axis (occlusion: window = stride = side / steps) and, for perturbation methods, the chunk."""
    options = method_options(method, tuple(case.x.shape[2:]), cells=occlusion_steps)
    return options | {"batch_size": perturbation_chunk(case)} if describe(method).slow else options


def captum_call(method: str, case: Case, occlusion_steps: int) -> tuple[str, Callable[[], torch.Tensor]] | None:
    """(Captum class name, a call returning (B, *spatial) maps) for the methods Captum shares."""
    from captum import attr

    wrapped, x = ClassScores(case.model), case.x
    layer = case.model.get_submodule(case.layer)
    mode = "bilinear" if x.dim() == 4 else "trilinear"
    occlusion = method_kwargs("occlusion", case, occlusion_steps)
    window, stride = (1, *occlusion["window"]), (1, *occlusion["stride"])  # Captum's spans the channel dim too
    first_channel = lambda maps: maps[:, 0]  # noqa: E731  (B, 1, *S) -> (B, *S)
    calls = {
        "gradcam": ("LayerGradCam", lambda: first_channel(attr.LayerAttribution.interpolate(
            attr.LayerGradCam(wrapped, layer).attribute(x, target=TARGET_CLASS, relu_attributions=True),
            tuple(x.shape[2:]), interpolate_mode=mode))),
        "saliency": ("Saliency", lambda: first_channel(attr.Saliency(wrapped).attribute(x, target=TARGET_CLASS))),
        "guided_backprop": ("GuidedBackprop", lambda: first_channel(
            attr.GuidedBackprop(wrapped).attribute(x, target=TARGET_CLASS))),
        "deconvnet": ("Deconvolution", lambda: first_channel(
            attr.Deconvolution(wrapped).attribute(x, target=TARGET_CLASS))),
        "guided_gradcam": ("GuidedGradCam", lambda: first_channel(attr.GuidedGradCam(wrapped, layer).attribute(
            x, target=TARGET_CLASS, interpolate_mode=mode))),
        "occlusion": ("Occlusion", lambda: first_channel(attr.Occlusion(wrapped).attribute(
            x, sliding_window_shapes=window, strides=stride,
            target=TARGET_CLASS, baselines=0.0, perturbations_per_eval=perturbation_chunk(case)))),
    }
    return calls.get(method)


def correlation(first: torch.Tensor, second: torch.Tensor) -> float | None:
    """Pearson correlation of two batches of maps, flattened; None when either is constant."""
    stacked = torch.stack([first.detach().flatten().double(), second.detach().flatten().double()])
    if (stacked.std(dim=1) == 0).any():
        return None
    return float(torch.corrcoef(stacked)[0, 1])


def bench_method(method: str, case: Case, args: argparse.Namespace, use_captum: bool = True) -> dict[str, Any]:
    """Time one method, its Captum equivalent and a no-grad forward, interleaved (round robin).

    A method that does not fit the model (e.g. CAM without a GAP head) is recorded as an error.
    """
    row: dict[str, Any] = dict(ms=None, forward_ms=None, vs_forward=None, images_per_s=None, captum=None,
                               captum_ms=None, vs_captum=None, agreement=None, error=None)
    kwargs = method_kwargs(method, case, args.occlusion_steps)
    layer = case.layer if describe(method).uses_layer else None  # input-level methods take no layer
    ours = lambda: attribute(case.model, case.x, method=method, target=TARGET_CLASS,  # noqa: E731
                             layer=layer, **kwargs)
    try:
        maps = ours()  # a first, untimed call: fails early for methods that do not fit
    except Exception as error:
        row["error"] = f"{type(error).__name__}: {error}"
        return row
    calls = {"ours": ours, "forward": lambda: _forward(case)}
    found = captum_call(method, case, args.occlusion_steps) if use_captum else None
    if found is not None:
        row["captum"], captum = found
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # Captum's notes about requires_grad and hooks
                row["agreement"] = correlation(maps, captum())
            calls["captum"] = captum
        except Exception as error:
            row["error"] = f"captum {type(error).__name__}: {error}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        slow = describe(method).slow  # the untimed first call above is their warm-up
        timings = time_round_robin(calls, case.x.device, repeats=args.perturbation_repeats if slow else args.repeats,
                                   warmup=0 if slow else args.warmup)
    ms, forward_ms = timings["ours"].median_ms, timings["forward"].median_ms
    captum_ms = timings["captum"].median_ms if "captum" in timings else None
    row.update(ms=ms, forward_ms=forward_ms, vs_forward=ratio(ms, forward_ms), captum_ms=captum_ms,
               vs_captum=ratio(ms, captum_ms), images_per_s=case.x.shape[0] / (ms / 1000.0))
    return row


def _forward(case: Case) -> torch.Tensor:
    with torch.no_grad():
        return case.model(case.x)


def run_suite(args: argparse.Namespace) -> dict[str, Any]:
    """Every requested case x method; a JSON-ready dict (see format_table for the columns)."""
    device = resolve_device(args.device)
    methods = args.methods or list(METHODS)
    unknown = sorted(set(methods) - set(METHODS))
    if unknown:
        raise ValueError(f"--methods: unknown {unknown}; expected some of {sorted(METHODS)}")
    captum_version = None if args.no_captum else _captum_version()  # None: skipped or not installed
    results: dict[str, Any] = dict(benchmark="attribution", device=str(device), torch=torch.__version__,
                                   captum=captum_version, repeats=args.repeats,
                                   perturbation_repeats=args.perturbation_repeats, warmup=args.warmup,
                                   target_class=TARGET_CLASS, cases=[])
    progress = tqdm(total=len(args.cases) * len(methods), desc="attribution bench", unit="method", leave=False)
    for name in args.cases:
        case = build_case(name, args, device)
        forward = time_call(functools.partial(_forward, case), device, repeats=args.repeats, warmup=args.warmup)
        rows = {}
        for method in methods:
            progress.set_postfix_str(f"{name} {method}")
            rows[method] = bench_method(method, case, args, captum_version is not None)
            progress.update()
        results["cases"].append(dict(case=name, model=type(case.model).__name__, input_shape=list(case.x.shape),
                                     layer=case.layer, forward_ms=forward.median_ms, methods=rows))
    progress.close()
    return results


def _captum_version() -> str | None:
    try:
        import captum
    except ImportError:
        return None
    return captum.__version__


def _fmt(value: float | None, spec: str) -> str:
    """Format a number, or a right-aligned "-" of the same width when it is missing."""
    return format(value, spec) if value is not None else "-".rjust(int(spec.split(".")[0]))


def format_table(results: dict[str, Any]) -> str:
    """One line per case x method: ms, the forward's ms timed interleaved with it and the ratio,
    images/s, Captum ms, ours / Captum, correlation of our maps with Captum's."""
    lines = [f"attribution bench on {results['device']} (torch {results['torch']}, captum {results['captum']}), "
             f"median of {results['repeats']} after {results['warmup']} warm-up "
             f"(occlusion, scorecam: {results['perturbation_repeats']} after one)",
             f"{'case':12} {'method':16} {'ms':>9} {'fwd ms':>8} {'x fwd':>7} {'img/s':>8} {'captum ms':>10} "
             f"{'ours/cap':>9} {'corr':>6}"]
    for case in results["cases"]:
        lines.append(f"{case['case']:12} {'forward':16} {case['forward_ms']:9.2f}   "
                     f"input {tuple(case['input_shape'])}, layer {case['layer']}")
        for method, row in case["methods"].items():
            if row["ms"] is None:
                lines.append(f"{case['case']:12} {method:16} {'n/a':>9}   {row['error'][:70]}")
                continue
            lines.append(f"{case['case']:12} {method:16} {row['ms']:9.2f} {_fmt(row['forward_ms'], '8.2f')} "
                         f"{_fmt(row['vs_forward'], '7.2f')} {_fmt(row['images_per_s'], '8.1f')} "
                         f"{_fmt(row['captum_ms'], '10.2f')} {_fmt(row['vs_captum'], '9.2f')} "
                         f"{_fmt(row['agreement'], '6.3f')}")
    return "\n".join(lines)
