"""Heatmap loss: classification + weight * attribution outside the allowed region.

    total = L_cls(logits, y) + weight * mean_b P_b

Penalty P_b of sample b, with h_b the ReLU'd map of the true class y (upsampled to the input size,
differentiable w.r.t. the parameters) and m_b the mask:

    "mass"  (the thesis):  P_b = mean_pixels(h_b / max(h_b) * (1 - m_b))   heatmap mass outside the region
    "share" (normalised):  P_b = 1 - sum(h_b m_b) / (sum(h_b) + eps)      share outside the region

``mode="inside_forbidden"`` puts the mask on the forbidden side (m_b replaces 1 - m_b above, and the
share becomes sum(h m) / sum(h)). L_cls is the thesis's mean squared error between softmax(logits) and
one-hot(y) ("mse") or cross-entropy ("ce"), optionally class-weighted: L_cls = sum_b w_(y_b) l_b / sum_b w_(y_b).
The map explains ``target``: ``"class"`` (the thesis) the true class's logit z_y; ``"contrast"``
z_y - mean_{k != y} z_k (two classes: the log-odds of y). With "class" a network can meet the "mass"
penalty with all-zero maps: it separates the classes by lowering the other logit, with dz_y/dA . A <= 0
everywhere (seen on ACDC: 97-100 % of the maps empty). A right answer needs a positive log-odds, and for a
linear head on average-pooled features the HiResCAM map of the log-odds sums to it minus the bias, so the
"contrast" map of at least one class must carry positive mass (ACDC nested check: 42-50 % empty).
``HeatmapLoss.thesis()`` = MSE + mass, the thesis's
formulation; ``HeatmapLoss.normalized()`` = CE + share. With "share", a map of all zeros counts as all
outside (P = 1); with "mass" (each map scaled to a maximum of 1, as HiResCAM maps are shown) it
counts 0, as in the thesis.

One forward only: the model runs once with the attribution layer hooked (``capture_activation``),
that forward's logits feed both L_cls and the target score; dY/dA comes from
``torch.autograd.grad(..., create_graph=True)`` and the CAM math is the engine's own
(``METHODS[method].combine``), so differentiating the total is a double backward through the head.

Grouped models (``GroupedVGG``, K models as one network: x (B, K, H, W), y (B, K), mask (B, K, H, W),
logits (B, K, n)): each model gets its own terms; ``total = sum_k (L_cls,k + weight * mean_b P_bk)``
so every model's gradient is exactly the gradient of its own loss.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from medinterp_widgets.attribution.base.cam import CamInputs, CamMethod
from medinterp_widgets.attribution.gradients import reduce_channels
from medinterp_widgets.attribution.hooks import capture_activation, resolve_layer
from medinterp_widgets.attribution.registry import HEATMAP_METHODS, METHODS
from medinterp_widgets.attribution.targets import ClassTarget, ContrastTarget
from medinterp_widgets.attribution.upsample import upsample_maps
from medinterp_widgets.training.loss_protocol import Batch, LossResult, detached_parts

# HEATMAP_METHODS: the methods with info.trainable
__all__ = ["HEATMAP_METHODS", "MAP_TARGETS", "PENALTIES", "HeatmapLoss", "HeatmapLossResult"]
PENALTIES = ("share", "mass")
MAP_TARGETS = {"class": ClassTarget, "contrast": ContrastTarget}  # what the penalised map explains
_EPS = 1e-8


@dataclass
class HeatmapLossResult:
    """``total`` (scalar, differentiable); the rest detached: terms (scalars, or (K,) for K grouped
    models), per-sample penalty ``share`` (B,) / (B, K), logits, maps (B, *S) / (B, K, *S)."""

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
    inputs: Literal["model"] = "model"  # the Trainer's Loss protocol (loss_protocol.py)

    def __init__(self, method: str = "hirescam", weight: float = 1.0, classification: str = "ce",
                 layer: nn.Module | str | None = None, mode: str = "outside_allowed", penalty: str = "share",
                 class_weights=None, target: str = "class"):
        _check_choice("method", method, HEATMAP_METHODS)
        _check_choice("classification", classification, ("ce", "mse"))
        _check_choice("mode", mode, ("outside_allowed", "inside_forbidden"))
        _check_choice("penalty", penalty, PENALTIES)
        _check_choice("target", target, MAP_TARGETS)
        if weight < 0:
            raise ValueError(f"HeatmapLoss weight: expected >= 0, got {weight!r}")
        self.method, self.weight, self.classification, self.layer, self.mode, self.penalty = (
            method, float(weight), classification, layer, mode, penalty)
        self.target = target
        self.class_weights = None if class_weights is None else torch.as_tensor(class_weights, dtype=torch.float32)
        if self.class_weights is not None and (self.class_weights.dim() != 1 or (self.class_weights < 0).any()):
            raise ValueError(f"HeatmapLoss class_weights: expected one non-negative weight per class, "
                             f"got {class_weights!r}")

    @classmethod
    def thesis(cls, method: str = "hirescam", weight: float = 1.0, **kwargs) -> "HeatmapLoss":
        """The thesis's formulation: MSE(softmax, one-hot) + weight * heatmap mass outside the region
        (``classification="ce"`` swaps the first term, keeping the mass penalty)."""
        return cls(method, weight, **{"classification": "mse", "penalty": "mass", **kwargs})

    @classmethod
    def normalized(cls, method: str = "hirescam", weight: float = 1.0, **kwargs) -> "HeatmapLoss":
        """Cross-entropy + weight * share of the map outside the region."""
        return cls(method, weight, classification="ce", penalty="share", **kwargs)

    normalised = normalized  # the former spelling, kept as an alias

    def __call__(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor, mask: torch.Tensor,
                 sample_weight: torch.Tensor | None = None) -> HeatmapLossResult:
        """``sample_weight`` (B,): per-sample weights of the classification term (0: the sample enters only
        the map term); None weighs every sample alike."""
        k = getattr(model, "n_models", None)  # K grouped models, or None for a plain model
        if self.method == "saliency":
            logits, maps = self._saliency_forward(model, x, y, k)
        else:
            logits, maps = self._cam_forward(model, x, y, k)
        grouped = maps if k else maps.unsqueeze(1)  # (B, K, *S), K = 1 for a plain model
        share = self.share(grouped.flatten(0, 1), _grouped_mask(mask, grouped, k).flatten(0, 1))
        share = share.view(grouped.shape[:2])  # (B, K)
        classification = self.classification_loss(logits, y, sample_weight)  # scalar or (K,)
        attribution = share.mean(0) if k else share[:, 0].mean()
        total = (classification + self.weight * attribution).sum()
        return HeatmapLossResult(total, classification.detach(), attribution.detach(),
                                 (share if k else share[:, 0]).detach(), logits.detach(), maps.detach())

    def compute(self, model: nn.Module, batch: Batch) -> LossResult:
        """The `Loss` protocol: the call above on ``batch`` (its ``mask``), parts classification / attribution."""
        result = self(model, batch.x, batch.y, batch.mask)
        parts = detached_parts(classification=result.classification, attribution=result.attribution)
        return LossResult(result.total, parts, result.logits)

    def evaluation_form(self) -> _ClassificationTerm:
        """Validation scores the classification term: the map term needs ``autograd.grad``, which the
        Trainer's validation under ``no_grad`` does not run."""
        return _ClassificationTerm(self)

    def classification_loss(self, logits: torch.Tensor, y: torch.Tensor,
                            sample_weight: torch.Tensor | None = None) -> torch.Tensor:
        """Cross-entropy, or mean((softmax(logits) - one_hot(y))^2) over classes, averaged over the batch:
        sum_b w_b l_b / sum_b w_b with w_b = class_weights[y_b] * sample_weight_b (either factor 1 when not
        set); for grouped logits (B, K, n) and y (B, K) one value per model (K,)."""
        y = y.long()
        if self.classification == "ce":
            per_sample = F.cross_entropy(logits.flatten(0, -2), y.reshape(-1), reduction="none").view(y.shape)
        else:
            one_hot = F.one_hot(y, logits.shape[-1]).to(logits.dtype)  # (B, [K,] n)
            per_sample = ((logits.softmax(dim=-1) - one_hot) ** 2).mean(-1)  # (B, [K])
        if self.class_weights is None and sample_weight is None:
            return per_sample.mean(0)  # mean over the batch only: () or (K,)
        weights = torch.ones_like(per_sample)
        if self.class_weights is not None:
            weights = weights * self.class_weights.to(logits.device)[y]  # (B, [K])
        if sample_weight is not None:
            weights = weights * sample_weight.to(per_sample).reshape(-1, *[1] * (per_sample.dim() - 1))
        return (weights * per_sample).sum(0) / weights.sum(0).clamp_min(_EPS)

    def share(self, maps: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Per-sample penalty (B,) of maps (B, *S) against the mask (module docstring)."""
        maps = maps.float()  # float32 sums also under autocast
        mask = _mask_like(mask, maps)
        spatial = tuple(range(1, maps.dim()))
        penalised = 1 - mask if self.mode == "outside_allowed" else mask
        if self.penalty == "mass":
            peak = maps.amax(spatial, keepdim=True)  # (B, 1, ...)
            return (maps / (peak + _EPS) * penalised).mean(spatial)
        inside = (maps * mask).sum(spatial) / (maps.sum(spatial) + _EPS)  # (B,)
        return 1 - inside if self.mode == "outside_allowed" else inside

    def _cam_forward(self, model, x, y, k):
        runner = METHODS[self.method]()
        if not isinstance(runner, CamMethod):
            raise ValueError(f"HeatmapLoss method {self.method!r}: not a CAM method of the attribution engine")
        name, module = resolve_layer(model, self.layer if self.layer is not None else _default_layer(model), x)
        with capture_activation(name, module) as store:
            logits = model(x)  # (B, n) or (B, K, n): the training forward
        activation = store.get()  # A: (B, [K *] C, *S')
        flat_logits = logits.flatten(0, -2)  # (B [* K], n)
        target = MAP_TARGETS[self.target](y.reshape(-1))
        scores = target.score(flat_logits)  # (B [* K],)
        (gradients,) = torch.autograd.grad(scores.sum(), activation, create_graph=True)  # like A
        per_model = (lambda t: t.reshape(t.shape[0] * k, -1, *t.shape[2:])) if k else (lambda t: t)
        inputs = CamInputs(model, x, name, per_model(activation), per_model(gradients), target, flat_logits, scores)
        cam, _ = runner.combine(inputs)  # (B [* K], *S')
        maps = upsample_maps(torch.relu(cam), x.shape[2:])  # (B [* K], *S)
        return logits, maps.view(x.shape[0], k, *maps.shape[1:]) if k else maps

    def _saliency_forward(self, model, x, y, k):
        x_in = x.detach().requires_grad_(True)
        logits = model(x_in)  # (B, n) or (B, K, n)
        scores = MAP_TARGETS[self.target](y.reshape(-1)).score(logits.flatten(0, -2))
        (gradients,) = torch.autograd.grad(scores.sum(), x_in, create_graph=True)  # like x
        if k:  # (B, K * C, *S) -> per model (B * K, C, *S) -> (B, K, *S)
            per_model = gradients.reshape(x.shape[0] * k, -1, *x.shape[2:])
            return logits, reduce_channels(per_model, absolute=True).view(x.shape[0], k, *x.shape[2:])
        return logits, reduce_channels(gradients, absolute=True)  # (B, *S)


class _ClassificationTerm:
    """A heatmap loss's classification term as a logits loss (its evaluation form)."""

    inputs: Literal["logits"] = "logits"

    def __init__(self, loss: HeatmapLoss):
        self.loss = loss

    def compute(self, logits: torch.Tensor, target: torch.Tensor) -> LossResult:
        return LossResult(self.loss.classification_loss(logits, target).sum())


def _default_layer(model: nn.Module) -> str | None:
    """``model.cam_layer_name`` (also through a DataParallel / DDP ``.module`` wrapper), else None."""
    name = getattr(model, "cam_layer_name", None)
    inner = getattr(model, "module", None)
    if name is None and isinstance(inner, nn.Module) and getattr(inner, "cam_layer_name", None):
        return f"module.{inner.cam_layer_name}"
    return name


def _grouped_mask(mask: torch.Tensor, grouped: torch.Tensor, k: int | None) -> torch.Tensor:
    """The mask as (B, K, *S) like the grouped maps: a plain model's (B, *S) or (B, 1, *S) gets K = 1."""
    mask = torch.as_tensor(mask, device=grouped.device)
    if not k and mask.dim() == grouped.dim() - 1:
        mask = mask.unsqueeze(1)
    return _mask_like(mask, grouped)


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
