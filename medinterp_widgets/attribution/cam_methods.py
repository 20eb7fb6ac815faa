"""CAM, Grad-CAM, HiResCAM and Grad-CAM++ on top of ``base.cam.CamMethod``.

Notation: A (B, C, *S) the hooked activation, g = dY/dA, Y the target score, c the target class.

- CAM (Zhou et al.; the LV paper's eq. 2): ``map = sum_k w_{c,k} A_k`` with w the weights of the
  classifier that follows global average pooling (a Linear or 1x1 conv, K x C). For a
  fully-convolutional segmentation net with a GAP context branch this is the same: the layer must
  feed GAP -> that 1x1 classifier, and c is the target's class. No gradients are taken. The head is
  checked on every call (``cam_head``: mean_S(CAM) + b must equal the logit), never guessed.
- Grad-CAM: ``w_k = mean_S g_k``; ``map = ReLU(sum_k w_k A_k)``.
- HiResCAM: ``map = ReLU(sum_k g_k * A_k)`` elementwise (no spatial averaging).
- Grad-CAM++ (closed form for S = exp(Y) and a piecewise-linear head, so that the higher
  derivatives are exp(Y) g^2 and exp(Y) g^3): ``alpha = g^2 / (2 g^2 + sum_S(A_k) g^3)``
  (alpha = 0 where the denominator is 0), ``w_k = sum_S alpha * ReLU(g)``. The positive per-sample
  factor exp(Y) is left out, as torch-cam and pytorch-grad-cam do.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from .base.cam import CamInputs, CamMethod
from .cam_head import watch_heads
from .methods import MethodInfo
from .normalise import divide_or_zero

__all__ = ["CAM", "GradCAM", "HiResCAM", "GradCAMPlusPlus"]


class CAM(CamMethod):
    """Class activation mapping from the GAP -> linear head weights (``head``: module or name, else found)."""

    info = MethodInfo("cam", "CAM: class activation map from the weights of a GAP -> linear head", uses_layer=True,
                      differentiable=True, cost="forward", needs_hooks=True, needs_gradients=False)

    def __init__(self, head: nn.Module | None = None):
        self.head = head

    def watch(self, model: nn.Module, layer_name: str, module: nn.Module) -> Any:
        return watch_heads(model, layer_name, module, self.head)

    def channel_weights(self, inputs: CamInputs) -> Tensor:
        classes = inputs.target.class_indices(inputs.output)  # (B,)
        _, matrix = inputs.watched.validated(inputs.activation, classes, inputs.scores)  # (K, C)
        return matrix[classes]  # (B, C)


class GradCAM(CamMethod):
    """w_k = mean over space of dY/dA_k."""

    info = MethodInfo("gradcam", "Grad-CAM: layer activations weighted by their mean gradient", uses_layer=True,
                      differentiable=True, cost="backward", needs_hooks=True, needs_gradients=True)

    def channel_weights(self, inputs: CamInputs) -> Tensor:
        return inputs.dy_da().flatten(2).mean(2)  # (B, C)


class HiResCAM(CamMethod):
    """map = sum_k dY/dA_k * A_k, elementwise."""

    info = MethodInfo("hirescam", "HiResCAM: layer activations times their gradient, elementwise", uses_layer=True,
                      differentiable=True, cost="backward", needs_hooks=True, needs_gradients=True)

    def combine(self, inputs: CamInputs):
        return (inputs.dy_da() * inputs.activation).sum(1), None  # (B, *S)


class GradCAMPlusPlus(CamMethod):
    """alpha = g^2 / (2 g^2 + sum_S(A) g^3); w_k = sum_S alpha ReLU(g).

    Computed as ``w_k = sum_S ReLU(g) / (2 + sum_S(A) g)`` (0 where that denominator is 0): for
    g != 0 the factor g^2 cancels, and where g = 0 both forms give 0. Same values, half the
    full-resolution passes over g.
    """

    info = MethodInfo("gradcam++", "Grad-CAM++: positive gradients weighted per location", uses_layer=True,
                      differentiable=True, cost="backward", needs_hooks=True, needs_gradients=True)

    def channel_weights(self, inputs: CamInputs) -> Tensor:
        g = inputs.dy_da()  # (B, C, *S)
        spatial_dims = tuple(range(2, g.dim()))
        activation_sum = inputs.activation.sum(spatial_dims, keepdim=True)  # (B, C, 1..)
        denominator = torch.addcmul(g.new_tensor(2.0), activation_sum, g)  # 2 + sum_S(A) g, (B, C, *S)
        return divide_or_zero(torch.relu(g), denominator).flatten(2).sum(2)  # (B, C)
