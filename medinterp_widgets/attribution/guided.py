"""Guided backprop and deconvnet: gradients w.r.t. the input with a changed ReLU backward rule.

ReLU forward is ``max(x, 0)`` in both; the backward rule for an upstream gradient R is
- guided backprop (Springenberg et al.): ``R_in = (x > 0) * max(R, 0)``
- deconvnet (Zeiler & Fergus):          ``R_in = max(R, 0)``

``relu_backward_rule(rule)`` swaps the rule while the context is open, through a
``TorchFunctionMode`` that routes every ReLU call (``nn.ReLU`` modules, ``F.relu``, ``torch.relu``,
``Tensor.relu`` and their in-place forms) to a custom autograd Function; it is popped in
``finally``. In-place calls return a new tensor instead of writing into their input, which is what
``nn.ReLU(inplace=True)`` and ``x = F.relu(x, inplace=True)`` need; a bare ``x.relu_()`` whose
result is dropped is not covered. Other activations (LeakyReLU, GELU, ...) keep their gradient;
a warning is raised when the forward pass calls no ReLU at all.

Guided Grad-CAM: guided backprop (B, C, *S) times the upsampled Grad-CAM map (B, 1, *S), then
reduced over channels like saliency (signed by default).
"""

from __future__ import annotations

import warnings
from contextlib import contextmanager
from typing import Any, ClassVar, Iterator

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.autograd import Function
from torch.overrides import TorchFunctionMode

from .base.result import RawAttribution
from .cam_methods import GradCAM
from .gradients import input_gradients, reduce_channels
from .methods import MethodInfo
from .targets import Target
from .upsample import upsample_maps

__all__ = ["relu_backward_rule", "GuidedBackprop", "Deconvnet", "GuidedGradCAM"]


class _GuidedReLU(Function):
    @staticmethod
    def forward(ctx: Any, x: Tensor) -> Tensor:
        out = x.clamp(min=0)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Tensor:
        (out,) = ctx.saved_tensors
        return grad.clamp(min=0) * (out > 0)


class _DeconvReLU(Function):
    @staticmethod
    def forward(ctx: Any, x: Tensor) -> Tensor:
        return x.clamp(min=0)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Tensor:
        return grad.clamp(min=0)


_RULES = {"guided": _GuidedReLU, "deconvnet": _DeconvReLU}
_RELU_CALLS = {F.relu, F.relu_, torch.relu, torch.relu_, torch.Tensor.relu, torch.Tensor.relu_}


class _ReluRuleMode(TorchFunctionMode):
    """Routes ReLU calls to a custom backward rule; counts how many it saw."""

    def __init__(self, rule: type[Function]):
        super().__init__()
        self.rule = rule
        self.relu_calls = 0

    def __torch_function__(self, func: Any, types: Any, args: tuple = (), kwargs: dict | None = None) -> Any:
        if func in _RELU_CALLS:
            self.relu_calls += 1
            return self.rule.apply(args[0] if args else (kwargs or {})["input"])
        return func(*args, **(kwargs or {}))


@contextmanager
def relu_backward_rule(rule: str) -> Iterator[_ReluRuleMode]:
    """Swap the ReLU backward rule ("guided" or "deconvnet") inside the context only."""
    if rule not in _RULES:
        raise ValueError(f"relu_backward_rule: got {rule!r}, expected one of {sorted(_RULES)}")
    mode = _ReluRuleMode(_RULES[rule])
    with mode:
        yield mode
    if mode.relu_calls == 0:
        warnings.warn(
            f"{rule}: the model called no ReLU, so the map is the plain input gradient", RuntimeWarning, stacklevel=3
        )


class _RuleGradients:
    """Input gradients under a ReLU rule, reduced over channels (signed unless ``absolute``)."""

    rule = "guided"

    def __init__(self, absolute: bool = False):
        self.absolute = absolute

    def gradients(self, model: nn.Module, x: Tensor, target: Target) -> tuple[Tensor, Tensor, Tensor]:
        with relu_backward_rule(self.rule):
            return input_gradients(model, x, target)

    def __call__(self, model: nn.Module, x: Tensor, target: Target, *, layer: Any = None,
                 create_graph: bool = False, relu: bool = True) -> RawAttribution:
        gradients, scores, output = self.gradients(model, x, target)
        raw = reduce_channels(gradients, self.absolute).detach()
        return RawAttribution(raw, scores.detach(), output.detach())


class GuidedBackprop(_RuleGradients):
    rule = "guided"
    info: ClassVar[MethodInfo]
    info = MethodInfo("guided_backprop", "guided backprop: input gradient passing only positive signals back",
                      uses_layer=False, differentiable=False, cost="backward", needs_hooks=True, needs_gradients=True)


class Deconvnet(_RuleGradients):
    rule = "deconvnet"
    info: ClassVar[MethodInfo]
    info = MethodInfo("deconvnet", "deconvnet: input gradient with the ReLU rule of Zeiler & Fergus",
                      uses_layer=False, differentiable=False, cost="backward", needs_hooks=True, needs_gradients=True)


class GuidedGradCAM(_RuleGradients):
    """Guided backprop x Grad-CAM upsampled to the input (bilinear / trilinear)."""

    info: ClassVar[MethodInfo]
    info = MethodInfo("guided_gradcam", "guided Grad-CAM: guided backprop times the Grad-CAM map", uses_layer=True,
                      differentiable=False, cost="backward", needs_hooks=True, needs_gradients=True)

    def __call__(self, model: nn.Module, x: Tensor, target: Target, *, layer: Any = None,
                 create_graph: bool = False, relu: bool = True) -> RawAttribution:
        gradcam = GradCAM()(model, x, target, layer=layer, relu=relu)
        cam = upsample_maps(gradcam.raw, x.shape[2:]).unsqueeze(1)  # (B, 1, *S)
        guided, _, _ = self.gradients(model, x, target)  # (B, C, *S)
        raw = reduce_channels(guided * cam, self.absolute).detach()
        return RawAttribution(raw, gradcam.scores, gradcam.logits, gradcam.layer_name, gradcam.weights)
