"""`medinterp bench monitor`: cost of layer monitoring relative to a plain training step.

Three training steps on the same GapFCN, batch and device, timed round-robin (``bench.timing``) so a
load change on a shared machine hits them alike: ``plain`` (forward, loss, backward, optimizer step),
``unsampled`` (a step of a run that monitors, on a step that is not sampled: must cost nothing) and
``sampled`` (forward hooks for that step + the per-layer summary after backward). The ratio at an
interval N is the amortised cost: (sampled + (N - 1) * unsampled) / (N * plain).
"""

from __future__ import annotations

import argparse
import json


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", default="auto", help="cpu, cuda, mps or auto (default)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--size", type=int, default=64, help="image side in pixels (default 64)")
    parser.add_argument("--every", type=int, default=50, help="monitoring interval N in steps (default 50)")
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)


def _step(model, optimizer, x, y, monitor=None):
    from contextlib import nullcontext

    import torch.nn.functional as F

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        with monitor.capture() if monitor is not None else nullcontext():
            loss = F.cross_entropy(model(x), y)
        loss.backward()
        if monitor is not None:
            monitor.summarise()
        optimizer.step()

    return step


def measure(batch: int = 4, size: int = 64, every: int = 50, repeats: int = 10, warmup: int = 2,
            device: str = "auto") -> dict:
    """Median step times (ms), the sampled step's ratio and the amortised ratio at ``every``."""
    import torch

    from medinterp_widgets.bench.timing import time_round_robin
    from medinterp_widgets.devices import resolve_device
    from medinterp_widgets.models import GapFCN
    from medinterp_widgets.training.monitor import LayerMonitor

    if min(batch, size, every, repeats) < 1 or warmup < 0:
        raise ValueError("bench monitor: --batch, --size, --every, --repeats must be >= 1, --warmup >= 0")
    torch_device = resolve_device(device)
    torch.manual_seed(0)
    x = torch.rand(batch, 1, size, size, device=torch_device)
    y = (x[:, 0] > 0.5).long()  # (B, H, W)
    steps = {}
    for name in ("plain", "unsampled", "sampled"):
        torch.manual_seed(0)
        model = GapFCN(in_channels=1, n_classes=2, base_channels=8, depth=3, convs_per_stage=2).to(torch_device)
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
        monitor = LayerMonitor(model) if name == "sampled" else None
        steps[name] = _step(model, optimizer, x, y, monitor)
    timings = time_round_robin(steps, torch_device, repeats=repeats, warmup=warmup)
    ms = {name: timing.median_ms for name, timing in timings.items()}
    amortised = (ms["sampled"] + (every - 1) * ms["unsampled"]) / (every * ms["plain"])
    return {"benchmark": "monitor", "device": str(torch_device), "batch": batch, "size": size, "every": every,
            "repeats": repeats, "median_ms": ms, "unsampled_ratio": ms["unsampled"] / ms["plain"],
            "sampled_ratio": ms["sampled"] / ms["plain"], "amortised_ratio": amortised}


def run(args: argparse.Namespace) -> int:
    result = measure(batch=args.batch, size=args.size, every=args.every, repeats=args.repeats,
                     warmup=args.warmup, device=args.device)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"monitor bench on {result['device']}: plain step {result['median_ms']['plain']:.1f} ms; "
              f"unsampled {result['unsampled_ratio']:.2f}x, sampled {result['sampled_ratio']:.2f}x, "
              f"every {result['every']} steps {result['amortised_ratio']:.3f}x")
    return 0
