"""Cheap per-layer summaries at a sampled step: activation mean/std (forward hooks that live for
that one step only), gradient L2 norm and weight mean/std per module.

    monitor = LayerMonitor(model)
    with monitor.capture():          # hooks registered here ...
        loss = loss_fn(model(x), y)  # ... record activations during this forward
    loss.backward()                  # hooks already removed
    stats = monitor.summarise()      # grads + weights + the recorded activations

Other steps pay nothing: no hook is registered outside ``capture()``.
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from typing import Iterator

import torch
from torch import nn

from medinterp_widgets.training.events import LayerStat


def monitored_modules(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """Modules that own parameters directly (conv, linear, norm layers), in registration order."""
    return [(name, module) for name, module in model.named_modules()
            if name and any(True for _ in module.parameters(recurse=False))]


class LayerMonitor:
    """Collects one sampled step's per-layer summaries; holds no hooks between samples."""

    def __init__(self, model: nn.Module):
        self.modules = monitored_modules(model)
        self._activations: dict[str, tuple[float, float]] = {}

    @contextmanager
    def capture(self) -> Iterator[None]:
        """Record activation mean/std of each monitored module during the enclosed forward pass."""
        self._activations = {}
        handles = [module.register_forward_hook(self._hook_for(name)) for name, module in self.modules]
        try:
            yield
        finally:
            for handle in handles:
                handle.remove()

    def summarise(self) -> tuple[LayerStat, ...]:
        """Per-module stats; call after ``backward()`` so gradients exist (NaN where they do not)."""
        stats = []
        for name, module in self.modules:
            params = [p.detach() for p in module.parameters(recurse=False)]
            grads = [p.grad.detach() for p in module.parameters(recurse=False) if p.grad is not None]
            weights = torch.cat([p.float().flatten() for p in params])  # (n_params,)
            grad_norm = math.sqrt(sum(float(g.float().pow(2).sum()) for g in grads)) if grads else math.nan
            act_mean, act_std = self._activations.get(name, (math.nan, math.nan))
            stats.append(LayerStat(name=name, grad_norm=grad_norm, weight_mean=float(weights.mean()),
                                   weight_std=_std(weights), activation_mean=act_mean, activation_std=act_std))
        return tuple(stats)

    def _hook_for(self, name: str):
        def hook(module: nn.Module, inputs, output) -> None:
            if isinstance(output, torch.Tensor):
                values = output.detach().float()
                self._activations[name] = (float(values.mean()), _std(values))
        return hook


def _std(values: torch.Tensor) -> float:
    return float(values.std()) if values.numel() > 1 else 0.0
