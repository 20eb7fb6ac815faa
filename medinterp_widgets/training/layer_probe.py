"""One forward + backward on a sample for per-layer statistics, leaving the model exactly as found.

``probe_layers(model, x)`` runs ``LayerMonitor`` (activation mean/std, gradient L2 norm, weight
mean/std per parameter-owning module) for the score ``Y = sum_b max_k output[b, k, ...]`` summed over
locations (the top logit of each sample / each pixel). The model runs in eval mode; its training flag,
every parameter's ``.grad`` and the norm layers' running statistics are restored in ``finally``.
"""

from __future__ import annotations

import torch
from torch import nn

from medinterp_widgets.models.modes import eval_mode
from medinterp_widgets.training.events import LayerStat
from medinterp_widgets.training.monitor import LayerMonitor


def top_logit_score(output: torch.Tensor) -> torch.Tensor:
    """Y = sum over samples (and locations) of the largest class logit: output (B, K, ...) -> ()."""
    return output.max(dim=1).values.sum()


def probe_layers(model: nn.Module, x: torch.Tensor) -> tuple[LayerStat, ...]:
    """Per-layer statistics of one forward + backward of ``top_logit_score(model(x))``."""
    monitor = LayerMonitor(model)
    saved_grads = [(p, p.grad) for p in model.parameters()]
    try:
        for parameter, _ in saved_grads:
            parameter.grad = None
        with eval_mode(model), torch.enable_grad():
            with monitor.capture():
                output = model(x)
            top_logit_score(output).backward()
        return monitor.summarise()
    finally:
        for parameter, grad in saved_grads:
            parameter.grad = grad
