"""Heatmap loss: classification + weight * share of the attribution map outside the allowed region.

    total = L_cls(logits, y) + weight * mean_b share_b
    share_b = 1 - sum(h_b * m_b) / (sum(h_b) + eps)     mode "outside_allowed"  (m = allowed mask)
    share_b = sum(h_b * m_b) / (sum(h_b) + eps)         mode "inside_forbidden" (m = forbidden mask)

h is the ReLU'd map of the true class y, upsampled to the input size, kept differentiable w.r.t.
the parameters (create_graph). L_cls is cross-entropy ("ce") or the thesis's mean squared error
between softmax(logits) and one-hot(y) ("mse"). In "outside_allowed" mode a map of all zeros has
share 1 (nothing inside the allowed region), so switching the attribution off is never rewarded.

One forward only: the model runs once with the attribution layer hooked (the attribution engine's
``capture_activation``), that forward's logits feed both L_cls and the target score; dY/dA comes
from ``torch.autograd.grad(..., create_graph=True)`` and the CAM math is the engine's own method
class (``METHODS[method].combine``). For CAM methods the extra cost is a backward through the head
only (plus its double backward); saliency differentiates dY/dx, i.e. a double backward through the
whole network. The forward is an ordinary training forward (BatchNorm running stats update once).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from medinterp_widgets.attribution.base.cam import CamInputs, CamMethod
from medinterp_widgets.attribution.gradients import reduce_channels
from medinterp_widgets.attribution.hooks import capture_activation, resolve_layer
from medinterp_widgets.attribution.registry import HEATMAP_METHODS, METHODS
from medinterp_widgets.attribution.targets import ClassTarget
from medinterp_widgets.attribution.upsample import upsample_maps

__all__ = ["HEATMAP_METHODS", "HeatmapLoss", "HeatmapLossResult"]  # HEATMAP_METHODS: methods with info.trainable
_EPS = 1e-8


@dataclass
class HeatmapLossResult:
    """``total`` (scalar, differentiable); the rest detached: terms, per-sample share (B,), logits, maps."""

    total: torch.Tensor
    classification: torch.Tensor
    attribution: torch.Tensor
    share: torch.Tensor
    logits: torch.Tensor
    maps: torch.Tensor


class HeatmapLoss:
    """``HeatmapLoss(...)(model, x (B, C, H, W), y (B,), mask (B, [1,] H, W)) -> HeatmapLossResult``.

    layer: module or dotted name for CAM methods; None -> ``model.cam_layer_name`` if the model has
    one, else the attribution engine's probed default (``attribution.default_layer``, cached per model).
    ``amp_safe = False``: the Trainer keeps these runs in float32 (no float16 autocast / GradScaler), since
    the inner ``autograd.grad(create_graph=True)`` is not loss-scaled and dY/dA can underflow in float16.
    """

    amp_safe = False

    def __init__(self, method: str = "hirescam", weight: float = 1.0, classification: str = "ce",
                 layer: nn.Module | str | None = None, mode: str = "outside_allowed"):
        _check_choice("method", method, HEATMAP_METHODS)
        _check_choice("classification", classification, ("ce", "mse"))
        _check_choice("mode", mode, ("outside_allowed", "inside_forbidden"))
        if weight < 0:
            raise ValueError(f"HeatmapLoss weight: expected >= 0, got {weight!r}")
        self.method, self.weight, self.classification, self.layer, self.mode = (
            method, float(weight), classification, layer, mode)

    def __call__(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor, mask: torch.Tensor) -> HeatmapLossResult:
        target = ClassTarget(y)
        if self.method == "saliency":
            logits, maps = self._saliency_forward(model, x, target)
        else:
            logits, maps = self._cam_forward(model, x, target)
        share = self.share(maps, mask)  # (B,)
        classification = self.classification_loss(logits, y)
        attribution = share.mean()
        total = classification + self.weight * attribution
        return HeatmapLossResult(total, classification.detach(), attribution.detach(), share.detach(),
                                 logits.detach(), maps.detach())

    def classification_loss(self, logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Cross-entropy, or mean((softmax(logits) - one_hot(y))^2) over batch and classes."""
        if self.classification == "ce":
            return F.cross_entropy(logits, y)
        one_hot = F.one_hot(y.long(), logits.shape[1]).to(logits.dtype)  # (B, K)
        return F.mse_loss(logits.softmax(dim=1), one_hot)

    def share(self, maps: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Per-sample share of the map (B, *S) outside the allowed / inside the forbidden mask."""
        maps = maps.float()  # float32 sums also under autocast
        mask = _mask_like(mask, maps)
        spatial = tuple(range(1, maps.dim()))
        inside = (maps * mask).sum(spatial) / (maps.sum(spatial) + _EPS)  # (B,)
        return 1 - inside if self.mode == "outside_allowed" else inside

    def _cam_forward(self, model, x, target):
        runner = METHODS[self.method]()
        if not isinstance(runner, CamMethod):
            raise ValueError(f"HeatmapLoss method {self.method!r}: not a CAM method of the attribution engine")
        name, module = resolve_layer(model, self.layer if self.layer is not None else _default_layer(model), x)
        with capture_activation(name, module) as store:
            logits = model(x)  # (B, K): the training forward
        activation = store.get()  # A: (B, C, *S')
        scores = target.score(logits)  # (B,)
        (gradients,) = torch.autograd.grad(scores.sum(), activation, create_graph=True)  # (B, C, *S')
        inputs = CamInputs(model, x, name, activation, gradients, target, logits, scores)
        cam, _ = runner.combine(inputs)  # (B, *S')
        return logits, upsample_maps(torch.relu(cam), x.shape[2:])  # (B, *S)

    def _saliency_forward(self, model, x, target):
        x_in = x.detach().requires_grad_(True)
        logits = model(x_in)  # (B, K)
        (gradients,) = torch.autograd.grad(target.score(logits).sum(), x_in, create_graph=True)  # (B, C, *S)
        return logits, reduce_channels(gradients, absolute=True)  # (B, *S)


def _default_layer(model: nn.Module) -> str | None:
    """``model.cam_layer_name`` (also through a DataParallel / DDP ``.module`` wrapper), else None."""
    name = getattr(model, "cam_layer_name", None)
    inner = getattr(model, "module", None)
    if name is None and isinstance(inner, nn.Module) and getattr(inner, "cam_layer_name", None):
        return f"module.{inner.cam_layer_name}"
    return name


def _mask_like(mask: torch.Tensor, maps: torch.Tensor) -> torch.Tensor:
    """Mask (B, *S) or (B, 1, *S), bool or float in [0, 1] -> float (B, *S) on the maps' device."""
    mask = torch.as_tensor(mask, device=maps.device)
    if mask.dim() == maps.dim() + 1 and mask.shape[1] == 1:
        mask = mask.squeeze(1)
    if mask.shape != maps.shape:
        raise ValueError(f"HeatmapLoss mask: shape {tuple(mask.shape)}; expected {tuple(maps.shape)} "
                         f"or with a channel dim of 1 (the input's batch and spatial size)")
    return mask.to(maps.dtype)


def _check_choice(field: str, value, choices) -> None:
    if value not in choices:
        raise ValueError(f"HeatmapLoss {field}: expected one of {list(choices)}, got {value!r}")
