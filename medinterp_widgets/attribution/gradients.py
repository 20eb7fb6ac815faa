"""Input-gradient attribution: saliency ``|dY/dx|`` reduced over channels.

``input_gradients`` is shared with guided backprop / deconvnet (which only change the ReLU rule).
Channel reduction: ``absolute=True`` -> ``max_c |g_c|``; ``absolute=False`` -> the signed value
of the channel with the largest magnitude (for one channel: the gradient itself).
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from .base.cam import prepare_input
from .base.result import RawAttribution
from .methods import MethodInfo
from .state import attribution_session
from .targets import Target

__all__ = ["input_gradients", "reduce_channels", "Saliency"]


def input_gradients(model: nn.Module, x: Tensor, target: Target, create_graph: bool = False):
    """Return (dY/dx (B, C, *S), scores (B,), output); gradients only w.r.t. a copy of x."""
    with attribution_session(model):
        x_in = prepare_input(x)
        output = model(x_in)
        scores = target.bind(output).score(output)  # (B,)
        (gradients,) = torch.autograd.grad(scores.sum(), x_in, create_graph=create_graph)
    return gradients, scores, output


def reduce_channels(values: Tensor, absolute: bool) -> Tensor:
    """(B, C, *S) -> (B, *S): max |v| over channels, or the signed value having that magnitude."""
    if absolute:
        return values.abs().amax(1)
    strongest = values.abs().argmax(1, keepdim=True)  # (B, 1, *S)
    return values.gather(1, strongest).squeeze(1)  # (B, *S)


class Saliency:
    """Simonyan et al.: ``max_c |dY/dx_c|``; ``absolute=False`` keeps the sign."""

    info: ClassVar[MethodInfo]
    info = MethodInfo("saliency", "saliency: |gradient of the score w.r.t. the input|", uses_layer=False,
                      differentiable=True, cost="backward", needs_hooks=False, needs_gradients=True)

    def __init__(self, absolute: bool = True):
        self.absolute = absolute

    def __call__(self, model: nn.Module, x: Tensor, target: Target, *, layer: Any = None,
                 create_graph: bool = False, relu: bool = True) -> RawAttribution:
        gradients, scores, output = input_gradients(model, x, target, create_graph)
        saliency = reduce_channels(gradients, self.absolute)
        if not create_graph:
            saliency = saliency.detach()
        return RawAttribution(saliency, scores.detach(), output.detach())
