"""`medinterp bench heatmap-loss --grouped K`: K small models trained one at a time vs as one GroupedVGG.

Both sides do the same work: K models (the heatmap-loss study's VGG), each one training step on its own
batch, with the conventional loss ("ce": the thesis's MSE term alone) and with the thesis's HiResCAM
heatmap loss (double backward). "alone" = K separate models and torch.optim.Adam steps in a row;
"grouped" = one GroupedVGG step (grouped convolutions, StackedAdam). Timed round-robin (alone, grouped,
alone, ...) so load changes on a shared machine hit both; reported: median ms per model-step and the
speed-up = median over rounds of (alone time / grouped time) in the same round.
"""

from __future__ import annotations

import statistics
import time


def _steps(k: int, batch: int, size: int, width: int, loss_name: str, device, seed: int):
    """(one round of K separate steps, one grouped step) as closures on fresh models."""
    import torch

    from medinterp_widgets.models.grouped import GroupedVGG
    from medinterp_widgets.models.vgg import VGGClassifier
    from medinterp_widgets.training.grouped import StackedAdam
    from medinterp_widgets.training.heatmap_loss import HeatmapLoss

    loss = HeatmapLoss(weight=0.0, classification="mse") if loss_name == "ce" else HeatmapLoss.thesis("hirescam")
    kwargs = dict(in_channels=1, n_classes=4, width=width, cfg=[1, "M", 2, "M", 4, "M", 4], head="fc", hidden=32,
                  fc_pool=2, dropout=0.0)
    generator = torch.Generator().manual_seed(seed)
    x = torch.rand(batch, k, size, size, generator=generator).to(device)
    y = torch.randint(0, 4, (batch, k), generator=generator).to(device)
    mask = torch.zeros(batch, k, size, size, device=device)
    mask[..., size // 4: 3 * size // 4, size // 4: 3 * size // 4] = 1
    torch.manual_seed(seed)
    models = [VGGClassifier(**kwargs).to(device) for _ in range(k)]
    optimizers = [torch.optim.Adam(m.parameters(), lr=1e-3) for m in models]
    group = GroupedVGG([VGGClassifier(**kwargs) for _ in range(k)]).to(device)
    group_optimizer = StackedAdam(group.parameters(), [1e-3] * k)

    def total(model, xs, ys, masks):
        return loss.classification_loss(model(xs), ys).sum() if loss.weight == 0 else loss(model, xs, ys, masks).total

    def alone() -> None:
        for i, (model, optimizer) in enumerate(zip(models, optimizers)):
            optimizer.zero_grad(set_to_none=True)
            total(model, x[:, i:i + 1], y[:, i], mask[:, i]).backward()
            optimizer.step()

    def grouped() -> None:
        group_optimizer.zero_grad(set_to_none=True)
        total(group, x, y, mask).backward()
        group_optimizer.step()

    return alone, grouped


def measure_grouped(k: int = 4, batch: int = 32, size: int = 64, width: int = 8, repeats: int = 5, warmup: int = 1,
                    device: str = "auto", seed: int = 0) -> dict:
    """Median ms per model-step alone / grouped and the grouped speed-up, for "ce" and "hirescam"."""
    import torch

    from medinterp_widgets.devices import resolve_device

    if min(k, batch, size, width, repeats) < 1 or warmup < 0:
        raise ValueError("bench heatmap-loss --grouped: K, --batch, --size, --width, --repeats must be >= 1")
    torch_device = resolve_device(device)
    sync = torch.cuda.synchronize if torch_device.type == "cuda" else (lambda: None)
    out = {"benchmark": "heatmap-loss grouped training", "device": str(torch_device), "models": k, "batch": batch,
           "size": size, "width": width, "repeats": repeats, "torch_threads": torch.get_num_threads(), "losses": {}}
    for loss_name in ("ce", "hirescam"):
        steps = dict(zip(("alone", "grouped"), _steps(k, batch, size, width, loss_name, torch_device, seed)))
        times = {name: [] for name in steps}
        for index in range(warmup + repeats):
            for name, step in steps.items():
                sync()
                start = time.perf_counter()
                step()
                sync()
                if index >= warmup:
                    times[name].append(time.perf_counter() - start)
        out["losses"][loss_name] = {
            "alone_ms_per_model_step": statistics.median(times["alone"]) * 1e3 / k,
            "grouped_ms_per_model_step": statistics.median(times["grouped"]) * 1e3 / k,
            "speedup": statistics.median(a / g for a, g in zip(times["alone"], times["grouped"]))}
    return out


def format_grouped(result: dict) -> str:
    lines = [f"grouped training bench on {result['device']}: {result['models']} models, batch {result['batch']}, "
             f"{result['size']}x{result['size']}, width {result['width']}, {result['torch_threads']} thread(s)"]
    for name, values in result["losses"].items():
        lines.append(f"  {name:<9} alone {values['alone_ms_per_model_step']:8.2f} ms/model-step   grouped "
                     f"{values['grouped_ms_per_model_step']:8.2f}   speed-up {values['speedup']:5.2f}x")
    return "\n".join(lines)
