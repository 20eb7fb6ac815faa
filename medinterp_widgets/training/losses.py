"""Losses: cross-entropy, multi-class soft Dice (rodent paper) and the heatmap loss (heatmap paper).

- ``cross_entropy``: ``torch.nn.functional.cross_entropy`` (classification and per-pixel).
- ``soft_dice_loss``: 1 - mean_c (2 sum(p_c g_c) + eps) / (sum p_c + sum g_c + eps), p = softmax
  over classes, sums over batch and space; eps in the numerator too, so a class absent from both
  prediction and truth counts as a perfect match. ``include_background=False`` drops class 0.
  ``per_image=True`` sums over space only and averages the per-image Dice over the batch, so a small
  structure weighs as much as a large one (batch Dice weighs each image by its class area).
  ``class_weights`` w: 1 - sum_c w_c D_c / sum_c w_c (a weighted mean of the per-class Dice).
- ``HeatmapLoss`` (in ``heatmap_loss.py``): classification term + weight * attribution outside the
  allowed region.

Each loss class implements the Trainer's `Loss` protocol (``loss_protocol.py``): ``inputs = "logits"``
and ``compute(logits, target) -> LossResult``; calling it still returns the plain scalar tensor.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from medinterp_widgets.training.loss_protocol import CrossEntropy, LossResult, detached_parts

cross_entropy = F.cross_entropy


def _one_hot_like(target: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    """Class indices (B, *S) or per-class maps (B, C, *S) -> float (B, C, *S) matching logits."""
    if target.dim() == logits.dim():
        if target.shape != logits.shape:
            raise ValueError(f"soft Dice target: shape {tuple(target.shape)}; expected {tuple(logits.shape)}")
        return target.to(logits.dtype)
    if target.dim() != logits.dim() - 1 or target.shape[1:] != logits.shape[2:] or target.shape[0] != logits.shape[0]:
        raise ValueError(f"soft Dice target: shape {tuple(target.shape)}; expected class indices of shape "
                         f"{(logits.shape[0], *logits.shape[2:])} or one-hot {tuple(logits.shape)}")
    one_hot = F.one_hot(target.long(), num_classes=logits.shape[1])  # (B, *S, C)
    return one_hot.movedim(-1, 1).to(logits.dtype)  # (B, C, *S)


def soft_dice_per_class(logits: torch.Tensor, target: torch.Tensor, eps: float = 1e-5,
                        per_image: bool = False) -> torch.Tensor:
    """Soft Dice of each class (C,): (2 sum(p g) + eps) / (sum p + sum g + eps), p = softmax(logits);
    sums over batch and space, or with ``per_image`` over space only, then the mean over the batch."""
    probabilities = logits.softmax(dim=1)  # (B, C, *S)
    truth = _one_hot_like(target, logits)  # (B, C, *S)
    dims = tuple(range(2, logits.dim())) if per_image else (0, *range(2, logits.dim()))
    intersection = (probabilities * truth).sum(dims)  # (C,) or (B, C)
    total = probabilities.sum(dims) + truth.sum(dims)
    dice = (2 * intersection + eps) / (total + eps)
    return dice.mean(dim=0) if per_image else dice


def soft_dice_loss(logits: torch.Tensor, target: torch.Tensor, include_background: bool = True,
                   eps: float = 1e-5, per_image: bool = False,
                   class_weights: Sequence[float] | None = None) -> torch.Tensor:
    """1 - mean over classes of the soft Dice; class 0 left out when include_background is False.
    ``class_weights`` (one per class of the logits): 1 - sum_c w_c D_c / sum_c w_c instead of the mean."""
    per_class = soft_dice_per_class(logits, target, eps, per_image)
    weights = _class_weights(class_weights, per_class)
    if not include_background:
        if per_class.numel() < 2:
            raise ValueError("soft Dice include_background=False: needs at least 2 classes")
        per_class, weights = per_class[1:], weights[1:]
        if not bool(weights.sum() > 0):
            raise ValueError(f"soft Dice class_weights: the foreground weights sum to 0, got {class_weights}")
    return 1 - (weights * per_class).sum() / weights.sum()


def _class_weights(class_weights: Sequence[float] | None, per_class: torch.Tensor) -> torch.Tensor:
    """Validated weights (C,) on the device of ``per_class``; all ones when None."""
    if class_weights is None:
        return torch.ones_like(per_class)
    weights = torch.as_tensor(class_weights, dtype=per_class.dtype, device=per_class.device)
    if weights.shape != per_class.shape or bool((weights < 0).any()) or not bool(weights.sum() > 0):
        raise ValueError(f"soft Dice class_weights: expected {per_class.numel()} non-negative values with a "
                         f"positive sum, got {list(class_weights)}")
    return weights


class SoftDiceLoss(nn.Module):
    """``soft_dice_loss`` as a module: ``SoftDiceLoss()(logits (B, C, *S), target (B, *S) or (B, C, *S))``."""

    inputs: Literal["logits"] = "logits"

    def __init__(self, include_background: bool = True, eps: float = 1e-5, per_image: bool = False,
                 class_weights: Sequence[float] | None = None):
        super().__init__()
        self.include_background, self.eps, self.per_image = include_background, eps, per_image
        self.class_weights = class_weights

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return soft_dice_loss(logits, target, self.include_background, self.eps, self.per_image, self.class_weights)

    def compute(self, logits: torch.Tensor, target: torch.Tensor) -> LossResult:
        return LossResult(self(logits, target))


class DiceCrossEntropyLoss(nn.Module):
    """cross_entropy + dice_weight * soft_dice_loss, a common segmentation combination."""

    inputs: Literal["logits"] = "logits"

    def __init__(self, dice_weight: float = 1.0, include_background: bool = True, per_image: bool = False,
                 class_weights: Sequence[float] | None = None):
        super().__init__()
        self.dice_weight = dice_weight
        self.dice = SoftDiceLoss(include_background, per_image=per_image, class_weights=class_weights)

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return self.compute(logits, target).total

    def compute(self, logits: torch.Tensor, target: torch.Tensor) -> LossResult:
        ce, dice = F.cross_entropy(logits, target.long()), self.dice(logits, target)
        return LossResult(ce + self.dice_weight * dice, detached_parts(ce=ce, dice=dice))


def build_loss(name: str, **kwargs) -> CrossEntropy | SoftDiceLoss | DiceCrossEntropyLoss:
    """'ce' -> CrossEntropy, 'dice' -> SoftDiceLoss, 'dice_ce' -> DiceCrossEntropyLoss."""
    losses: dict[str, type] = {"ce": CrossEntropy, "dice": SoftDiceLoss, "dice_ce": DiceCrossEntropyLoss}
    if name not in losses:
        raise ValueError(f"loss name: expected one of {sorted(losses)} (HeatmapLoss is built directly), got {name!r}")
    return losses[name](**kwargs)


def __getattr__(name: str):
    """``losses.HeatmapLoss`` / ``HeatmapLossResult`` live in ``heatmap_loss`` (needs the attribution engine)."""
    if name in ("HeatmapLoss", "HeatmapLossResult"):
        from . import heatmap_loss

        return getattr(heatmap_loss, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
