"""`medinterp bench heatmap-loss`: cost of a heatmap-loss training step relative to plain cross-entropy.

One training step = forward + loss + backward + optimizer step, same small VGG-like model, batch
and device, measured in the same run. The variants are timed round-robin (one step of each per
repeat) so load changes on a shared machine hit them alike. Reported per variant after ``--warmup``
untimed rounds: the median step time over ``--repeats`` rounds, and the ratio to cross-entropy as
the median over rounds of (variant time / CE time in the same round), a paired estimate that is
robust to slow load drift.
Target: <= 1.15x for the CAM variants (HiResCAM, Grad-CAM at the last conv layer).

``--grouped K`` instead times K models trained one at a time against the same K models as one grouped
network (``bench.grouped_training``) and prints the speed-up.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

CAM_TARGET_RATIO = 1.15
VARIANTS = ("ce", "hirescam", "gradcam", "saliency")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", default="auto", help="cpu, cuda, mps or auto (default)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--batch", type=int, default=None, help="batch size (default 16; 32 with --grouped)")
    parser.add_argument("--size", type=int, default=None, help="image side in pixels (default 128; 64 with --grouped)")
    parser.add_argument("--width", type=int, default=8, help="channels of the first conv stage (default 8)")
    parser.add_argument("--repeats", type=int, default=10, help="timed steps per variant (default 10)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps per variant (default 3)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's own)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--grouped", type=int, default=None, metavar="K",
                        help="time K models alone vs as one grouped network (the heatmap-loss study's models; "
                             "--size default 64, --batch 32)")


def _sync(device) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _step_function(variant: str, model, optimizer, x, y, mask):
    """A closure doing one full training step for ``variant``."""
    import torch.nn.functional as F

    from medinterp_widgets.training.heatmap_loss import HeatmapLoss

    loss = None if variant == "ce" else HeatmapLoss(method=variant, weight=1.0)

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        total = F.cross_entropy(model(x), y) if loss is None else loss(model, x, y, mask).total
        total.backward()
        optimizer.step()

    return step


def measure(batch: int = 16, size: int = 128, width: int = 8, repeats: int = 10, warmup: int = 3,
            device: str = "auto", seed: int = 0) -> dict:
    """Median step time (ms) and ratio to cross-entropy for each variant; returns a JSON-ready dict."""
    import torch

    from medinterp_widgets.devices import resolve_device
    from medinterp_widgets.models import VGGClassifier

    if min(batch, size, width, repeats) < 1 or warmup < 0:
        raise ValueError("bench heatmap-loss: --batch, --size, --width, --repeats must be >= 1, --warmup >= 0")
    torch_device = resolve_device(device)
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, 1, size, size, generator=generator).to(torch_device)
    y = torch.randint(0, 4, (batch,), generator=generator).to(torch_device)
    mask = torch.zeros(batch, size, size, device=torch_device)
    mask[:, size // 4: 3 * size // 4, size // 4: 3 * size // 4] = 1
    steps = {}
    for variant in VARIANTS:
        torch.manual_seed(seed)
        model = VGGClassifier(in_channels=1, n_classes=4, width=width, cfg=[1, 1, "M", 2, 2, "M", 4, 4, "M", 8, 8])
        model = model.to(torch_device).train()
        optimizer = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
        steps[variant] = _step_function(variant, model, optimizer, x, y, mask)
    times = {variant: [] for variant in VARIANTS}
    for index in range(warmup + repeats):
        for variant in VARIANTS:
            _sync(torch_device)
            start = time.perf_counter()
            steps[variant]()
            _sync(torch_device)
            if index >= warmup:
                times[variant].append(time.perf_counter() - start)
    medians = {variant: statistics.median(values) * 1e3 for variant, values in times.items()}
    ratios = {variant: statistics.median(t / c for t, c in zip(times[variant], times["ce"])) for variant in VARIANTS}
    return {
        "benchmark": "heatmap-loss",
        "device": str(torch_device),
        "batch": batch, "size": size, "width": width, "repeats": repeats, "warmup": warmup,
        "torch_threads": torch.get_num_threads(),
        "median_ms": medians,
        "ratio_to_ce": ratios,
        "cam_target_ratio": CAM_TARGET_RATIO,
        "cam_within_target": all(ratios[v] <= CAM_TARGET_RATIO for v in ("hirescam", "gradcam")),
    }


def _format(result: dict) -> str:
    lines = [f"heatmap-loss bench on {result['device']}: batch {result['batch']}, {result['size']}x"
             f"{result['size']}, width {result['width']}, median of {result['repeats']} steps"]
    for variant in VARIANTS:
        lines.append(f"  {variant:<9} {result['median_ms'][variant]:9.2f} ms   {result['ratio_to_ce'][variant]:5.2f}x")
    verdict = "within" if result["cam_within_target"] else "ABOVE"
    lines.append(f"CAM variants {verdict} the {result['cam_target_ratio']:.2f}x target")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)

    def default(value, fallback):
        return fallback if value is None else value

    if args.grouped is not None:
        from medinterp_widgets.bench.grouped_training import format_grouped, measure_grouped

        result = measure_grouped(args.grouped, batch=default(args.batch, 32), size=default(args.size, 64),
                                 width=args.width, repeats=args.repeats, warmup=args.warmup, device=args.device,
                                 seed=args.seed)
        print(json.dumps(result, indent=2) if args.json else format_grouped(result))
        return 0
    result = measure(batch=default(args.batch, 16), size=default(args.size, 128), width=args.width,
                     repeats=args.repeats,
                     warmup=args.warmup, device=args.device, seed=args.seed)
    print(json.dumps(result, indent=2) if args.json else _format(result))
    return 0
