"""Shared CAM math for any number of spatial dims (``b, c, *spatial = a.shape``).

A CAM method hooks one layer, runs the model once, and (if it needs them) takes
``dY/dA = autograd.grad(score.sum(), A)`` -- a backward through the head only (the layers after A),
never into the parameters' ``.grad``. Without ``create_graph`` the layers before A run under
``no_grad`` (the hook starts the graph at A), so a Grad-CAM costs about one plain forward plus a
backward through the head. Subclasses override ``channel_weights`` (B, C), giving
``map = sum_k w_k A_k``, or ``combine`` for an elementwise map. ``relu`` is applied afterwards.

With ``create_graph=True`` the map keeps its graph: differentiating it reaches the parameters
through A (one ordinary backward through the trunk) and through dY/dA (a double backward through
the head only).
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import torch
from torch import Tensor, nn

from ..hooks import LayerError, capture_activation, resolve_layer
from ..state import attribution_session
from ..targets import Target
from .result import RawAttribution

if TYPE_CHECKING:
    from ..methods import MethodInfo

__all__ = ["CamInputs", "CamMethod", "weighted_channel_sum", "prepare_input", "spatial_activation"]


@dataclass
class CamInputs:
    """What a CAM method sees: activation A (B, C, *S), dY/dA or None, the bound target, ..."""

    model: nn.Module
    x: Tensor
    layer_name: str
    activation: Tensor
    gradients: Tensor | None
    target: Target
    output: Tensor
    scores: Tensor

    def dy_da(self) -> Tensor:
        """dY/dA (B, C, *S), for the methods whose ``info.needs_gradients`` asked for it."""
        if self.gradients is None:
            raise RuntimeError("this CAM method needs dY/dA: set info.needs_gradients=True")
        return self.gradients
    watched: Any = None  # what ``CamMethod.watch`` recorded during the forward (CAM: its head candidates)


def weighted_channel_sum(weights: Tensor, activation: Tensor) -> Tensor:
    """map = sum_k w_k A_k: (B, C) x (B, C, *S) -> (B, *S)."""
    b, c, *spatial = activation.shape
    return (weights.view(b, c, *([1] * len(spatial))) * activation).sum(1)  # (B, *S)


def spatial_activation(activation: Tensor, layer_name: str) -> Tensor:
    """``activation`` when shaped (B, C, *S) with more than one voxel in S; `LayerError` otherwise (a Linear
    layer, or a global pooling whose 1x1 output would give a constant map)."""
    if activation.dim() < 3 or activation.shape[2:].numel() <= 1:
        raise LayerError(f"layer {layer_name!r}: output shape {tuple(activation.shape)} has no spatial dims; "
                         "CAM methods need a layer with output (B, C, H, W) or (B, C, D, H, W) before the global "
                         "pooling, e.g. a conv block")
    return activation


def prepare_input(x: Tensor) -> Tensor:
    """A tensor that requires grad without touching ``x`` (x itself when it already does)."""
    return x if x.requires_grad else x.detach().requires_grad_(True)


class CamMethod:
    """Base class: one forward with the layer hooked, optional dY/dA, then ``combine``.

    Subclasses set ``info`` (a ``methods.MethodInfo``); ``info.needs_gradients`` says whether dY/dA is taken.
    ``layer=None`` is the model's declared or probed default layer (``layers.default_layer``).
    """

    info: ClassVar[MethodInfo]

    def channel_weights(self, inputs: CamInputs) -> Tensor:
        """Channel weights (B, C)."""
        raise NotImplementedError

    def combine(self, inputs: CamInputs) -> tuple[Tensor, Tensor | None]:
        """Return (map (B, *S), weights (B, C) or None)."""
        weights = self.channel_weights(inputs)
        return weighted_channel_sum(weights, inputs.activation), weights

    def watch(self, model: nn.Module, layer_name: str, module: nn.Module) -> Any:
        """A context open during the forward whose value reaches ``combine`` as ``inputs.watched``."""
        return nullcontext()

    def __call__(
        self, model: nn.Module, x: Tensor, target: Target, *, layer: Any = None, create_graph: bool = False,
        relu: bool = True,
    ) -> RawAttribution:
        layer_name, module = resolve_layer(model, layer, x)
        from_layer = self.info.needs_gradients and not create_graph  # record the graph after A only
        with (attribution_session(model), capture_activation(layer_name, module, from_layer) as store,
              self.watch(model, layer_name, module) as watched):
            x_in = prepare_input(x) if create_graph else x.detach()
            with torch.set_grad_enabled(create_graph):  # the hook turns recording on at A if from_layer
                output = model(x_in)
            activation = spatial_activation(store.get(), layer_name)
            bound = target.bind(output)
            scores = bound.score(output)  # (B,)
            gradients = self._gradients(scores, activation, layer_name, create_graph)
            if not create_graph:
                activation = activation.detach()
            inputs = CamInputs(model, x, layer_name, activation, gradients, bound, output, scores, watched)
            cam, weights = self.combine(inputs)
        if relu:
            cam = torch.relu(cam)
        if not create_graph:
            cam, weights = cam.detach(), None if weights is None else weights.detach()
        return RawAttribution(cam, scores.detach(), output.detach(), layer_name, weights)

    def _gradients(self, scores: Tensor, activation: Tensor, layer_name: str, create_graph: bool):
        if not self.info.needs_gradients:
            return None
        if not activation.requires_grad:
            raise RuntimeError(f"layer {layer_name!r}: its output does not require grad")
        (gradients,) = torch.autograd.grad(scores.sum(), activation, create_graph=create_graph)
        return gradients  # (B, C, *S)
