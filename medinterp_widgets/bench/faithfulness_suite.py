"""The work behind `medinterp bench faithfulness`: the case, our calls, Quantus's calls, the timing."""

from __future__ import annotations

import argparse
import statistics
import time
import warnings
from typing import Any, Callable

import numpy as np
import torch

from medinterp_widgets.attribution import attribute
from medinterp_widgets.attribution import faithfulness as F
from medinterp_widgets.bench.attribution_suite import build_case
from medinterp_widgets.bench.timing import ratio, synchronise
from medinterp_widgets.devices import resolve_device

FORWARD_TARGET = 1.2  # deletion / insertion: at most this times the forwards they need (issue 16)
ROAD_SPEEDUP_TARGET = 5.0  # ROAD: at least this many times faster than Quantus


class Clock:
    """Seconds of process CPU time (``cpu``) or wall time (``wall``, device-synchronised)."""

    def __init__(self, kind: str, device: torch.device):
        self.kind, self.device = kind, device

    def __call__(self) -> float:
        synchronise(self.device)
        return time.process_time() if self.kind == "cpu" else time.perf_counter()

    def time(self, call: Callable[[], Any]) -> float:
        start = self()
        call()
        return self() - start


def _forwards(model, x, count: int) -> Callable[[], None]:
    def call():
        with torch.no_grad():
            for _ in range(count):
                model(x)
    return call


def _quantus_calls(args, model, x, maps, y, quantus) -> dict[str, tuple[str, Callable[[], Any]]]:
    """Quantus's equal metric per name: (class name, call)."""
    numpy_x, numpy_a, device = x.cpu().numpy(), maps[:, None].cpu().numpy(), str(x.device)
    features = int(np.prod(x.shape[2:]))
    base = F.baseline_image(x, args.baseline).cpu().numpy().reshape(len(x), -1)

    def replace(arr, indices, **kwargs):  # the same baseline image as ours
        out = arr.copy()
        rows = np.arange(len(arr))[:, None]
        out[rows, indices] = base[rows, indices]
        return out

    def explain(model, inputs, targets, **kwargs):
        return attribute(model, torch.as_tensor(inputs, device=x.device), method=args.method,
                         target=torch.as_tensor(targets, device=x.device))[:, None].detach().cpu().numpy()

    quiet = dict(disable_warnings=True, normalise=False)
    common = dict(model=model, x_batch=numpy_x, y_batch=y, a_batch=numpy_a, device=device)
    masks = _mask(x)[:, None].cpu().numpy()
    metrics = {
        "deletion": ("PixelFlipping", quantus.PixelFlipping(features_in_step=features // args.steps,
                                                            perturb_func=replace, **quiet)),
        "road": ("ROAD", quantus.ROAD(percentages=args.road_percentages, **quiet)),
        "max_sensitivity": ("MaxSensitivity", quantus.MaxSensitivity(nr_samples=args.samples, lower_bound=0.05,
                                                                     **quiet)),
        "pointing_game": ("PointingGame", quantus.PointingGame(**quiet)),
        "relevance_mass": ("RelevanceMassAccuracy", quantus.RelevanceMassAccuracy(**quiet)),
    }
    extra = {"max_sensitivity": dict(explain_func=explain), "pointing_game": dict(s_batch=masks),
             "relevance_mass": dict(s_batch=masks)}
    return {name: (label, lambda metric=metric, name=name: metric(**common, **extra.get(name, {})))
            for name, (label, metric) in metrics.items()}


def _mask(x: torch.Tensor) -> torch.Tensor:
    """A centred square covering a quarter of the image, for the localisation metrics."""
    mask = torch.zeros(x.shape[0], *x.shape[2:], device=x.device)
    side = x.shape[-1]
    mask[:, side // 4: 3 * side // 4, side // 4: 3 * side // 4] = 1
    return mask


def _our_calls(args, model, x, maps, target) -> dict[str, tuple[str, Callable[[], Any], Callable[[], Any] | None]]:
    """Ours per name: (settings, call, the forwards it needs alone or None)."""
    steps, percentages, samples = args.steps, args.road_percentages, args.samples
    curve = lambda mode: F.deletion_insertion(model, x, maps, target=target, steps=steps,  # noqa: E731
                                              baseline=args.baseline, modes=(mode,))
    attributions = lambda: [attribute(model, x, method=args.method, target=target)  # noqa: E731
                            for _ in range(samples)]
    forward_and = lambda other: lambda: (_forwards(model, x, 1)(), other())  # noqa: E731
    mask = _mask(x)
    return {
        "deletion": (f"{steps} steps, {args.baseline}", lambda: curve("deletion"), _forwards(model, x, steps + 1)),
        "insertion": (f"{steps} steps, {args.baseline}", lambda: curve("insertion"), _forwards(model, x, steps + 1)),
        "road": (f"MoRF at {len(percentages)} levels, noise 0.01",
                 lambda: F.road(model, x, maps, target=target, percentages=percentages, orders=("morf",)),
                 _forwards(model, x, len(percentages) + 1)),
        "max_sensitivity": (f"{samples} draws, r = 0.05",
                            lambda: F.max_sensitivity(model, x, maps, method=args.method, target=target,
                                                      radius=0.05, samples=samples),
                            forward_and(attributions)),
        "randomisation": ("all layers", lambda: F.randomisation(model, x, maps, method=args.method, target=target),
                          lambda: attribute(model, x, method=args.method, target=target)),
        "pointing_game": ("centred square mask", lambda: F.pointing_game(maps, mask), None),
        "relevance_mass": ("centred square mask", lambda: F.relevance_mass(maps, mask), None),
    }


def _quantus_module(args):
    if args.no_quantus:
        return None
    try:
        import quantus
    except ImportError:
        return None
    return quantus


def summarise(rows: dict[str, dict]) -> dict[str, bool | None]:
    """Each target of issue 16 as True / False (None when not measured)."""
    def ratio(metric, key):
        return rows.get(metric, {}).get(key)

    checks = {f"{m}_within_{FORWARD_TARGET}x_forwards": (None if ratio(m, "vs_forwards") is None
                                                         else ratio(m, "vs_forwards") <= FORWARD_TARGET)
              for m in ("deletion", "insertion")}
    road = ratio("road", "speedup_vs_quantus")
    checks[f"road_{ROAD_SPEEDUP_TARGET:g}x_faster_than_quantus"] = None if road is None else road >= ROAD_SPEEDUP_TARGET
    speedups = [row["speedup_vs_quantus"] for row in rows.values() if row.get("speedup_vs_quantus") is not None]
    checks["none_slower_than_quantus"] = None if not speedups else min(speedups) >= 1.0
    return checks


def run_suite(args: argparse.Namespace) -> dict[str, Any]:
    device = resolve_device(args.device)
    clock = Clock(args.clock or ("wall" if device.type == "cuda" else "cpu"), device)
    args.road_percentages = [float(p) for p in str(args.percentages).split(",")]
    case = build_case("vgg2d", argparse.Namespace(width=args.width, batch=args.batch, size=args.size), device)
    model, x = case.model, case.x
    with torch.no_grad():
        target = model(x).argmax(1)  # (B,) each sample's predicted class
    maps = attribute(model, x, method=args.method, target=target).detach()
    quantus = _quantus_module(args)
    theirs = _quantus_calls(args, model, x, maps, target.cpu().numpy(), quantus) if quantus else {}
    ours = _our_calls(args, model, x, maps, target)
    rows = {}
    for name in args.metrics:
        settings, call, forwards = ours[name]
        label, quantus_call = theirs.get(name, (None, None))
        timed = {"ours": call, "forwards": forwards, "quantus": quantus_call}
        times: dict[str, list[float]] = {key: [] for key, fn in timed.items() if fn is not None}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for _ in range(args.repeats):
                for key in times:
                    times[key].append(clock.time(timed[key]))
        seconds = {key: statistics.median(values) for key, values in times.items()}
        ours_s, forwards_s, quantus_s = seconds["ours"], seconds.get("forwards"), seconds.get("quantus")
        rows[name] = dict(ours_s=ours_s, forwards_s=forwards_s, quantus_s=quantus_s, quantus_metric=label,
                          vs_forwards=ratio(ours_s, forwards_s), speedup_vs_quantus=ratio(quantus_s, ours_s),
                          settings=settings, times=times)
    return dict(benchmark="faithfulness", device=str(device), clock=clock.kind, torch=torch.__version__,
                torch_threads=torch.get_num_threads(), quantus=getattr(quantus, "__version__", None),
                input_shape=list(x.shape), model=type(model).__name__, method=args.method, repeats=args.repeats,
                metrics=rows, targets=summarise(rows))
