"""Keep the model exactly as found during an attribution call.

The call runs in the model's current mode (train or eval: no flag is switched). BatchNorm /
InstanceNorm layers in training mode would update their running statistics during the forward,
so for the duration of the call each such buffer is swapped for a clone and the original tensor
object is put back in ``finally``: values, identity and version counter stay untouched, and the
autograd graph (for ``create_graph=True``) only ever refers to the clones. Dropout in training
mode stays active, so maps are then stochastic: put the model in eval mode for repeatable maps.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import torch
from torch import nn
from torch.nn.modules.batchnorm import _NormBase

__all__ = ["attribution_session", "shielded_running_stats"]

_STAT_BUFFERS = ("running_mean", "running_var", "num_batches_tracked")


@contextmanager
def shielded_running_stats(model: nn.Module) -> Iterator[None]:
    """Let training-mode norm layers update clones of their running stats; restore originals."""
    swapped = []
    for module in model.modules():
        if isinstance(module, _NormBase) and module.training and module.track_running_stats:
            for name in _STAT_BUFFERS:
                buffer = module._buffers.get(name)
                if buffer is not None:
                    swapped.append((module, name, buffer))
                    module._buffers[name] = buffer.clone()
    try:
        yield
    finally:
        for module, name, buffer in swapped:
            module._buffers[name] = buffer


@contextmanager
def attribution_session(model: nn.Module) -> Iterator[None]:
    """Gradients on (even under ``torch.no_grad``) and running statistics shielded."""
    with torch.enable_grad(), shielded_running_stats(model):
        yield
