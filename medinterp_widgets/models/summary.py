"""Model size summaries: parameter count, size in MB and a per-layer table.

size_mb = (number of parameters * 4 bytes, i.e. float32) / 2**20.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from .modes import eval_mode

FLOAT32_BYTES = 4


def parameter_count(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of scalar parameters (all, or only those with requires_grad)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def size_mb(model: nn.Module) -> float:
    """Parameter storage in MiB as float32: parameter_count * 4 / 2**20."""
    return parameter_count(model) * FLOAT32_BYTES / 2**20


@dataclass(frozen=True)
class LayerRow:
    """One call of a leaf module in a forward pass: dotted name, class name, output shape, own parameters,
    and the mean / standard deviation of that call's output (NaN when it is not a float tensor)."""

    name: str
    type: str
    output_shape: tuple[int, ...]
    params: int
    activation_mean: float = math.nan
    activation_std: float = math.nan


def _output_shape(output) -> tuple[int, ...]:
    if isinstance(output, torch.Tensor):
        return tuple(output.shape)
    if isinstance(output, (tuple, list)) and output and isinstance(output[0], torch.Tensor):
        return tuple(output[0].shape)  # e.g. MaxPool with return_indices: (values, indices)
    return ()


def _mean_std(output) -> tuple[float, float]:
    tensor = output[0] if isinstance(output, (tuple, list)) and output else output
    if not isinstance(tensor, torch.Tensor) or not tensor.is_floating_point() or tensor.numel() == 0:
        return math.nan, math.nan
    values = tensor.detach().float()
    return float(values.mean()), float(values.std()) if values.numel() > 1 else 0.0


def layer_table(model: nn.Module, x: torch.Tensor) -> list[LayerRow]:
    """Run ``model(x)`` once (eval mode, no grad) and list every call of a leaf module in call order (a module
    used several times, like GapFCN's shared pooling, gives one row per call).

    Forward hooks are removed and the model's training flag is restored in ``finally``.
    """
    rows: list[LayerRow] = []
    handles = []

    def make_hook(name: str):
        def hook(module, _inputs, output):
            own = sum(p.numel() for p in module.parameters(recurse=False))
            rows.append(LayerRow(name, type(module).__name__, _output_shape(output), own, *_mean_std(output)))

        return hook

    try:
        for name, module in model.named_modules():
            if name and not any(True for _ in module.children()):
                handles.append(module.register_forward_hook(make_hook(name)))
        with eval_mode(model), torch.no_grad():
            model(x)
    finally:
        for handle in handles:
            handle.remove()
    return rows


def format_layer_table(rows: list[LayerRow]) -> str:
    """Plain-text table of ``layer_table`` rows with a total line."""
    header = f"{'layer':<32} {'type':<18} {'output shape':<24} {'params':>10}"
    lines = [header, "-" * len(header)]
    for row in rows:
        shape = "x".join(str(s) for s in row.output_shape)
        lines.append(f"{row.name:<32} {row.type:<18} {shape:<24} {row.params:>10,}")
    lines.append(f"{'total':<76} {sum(r.params for r in rows):>10,}")
    return "\n".join(lines)
