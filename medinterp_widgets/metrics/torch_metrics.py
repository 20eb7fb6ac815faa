"""Batched, differentiable torch versions of the overlap metrics, for training losses and logging.

Inputs may be soft (probabilities in [0, 1]); with 0/1 inputs the values equal the numpy metrics in
``metrics.segmentation``. Same empty rule: a sample whose reduced denominator is 0 scores ``empty``.
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F


def _reduce_dims(tensor: torch.Tensor, dims: int | Sequence[int] | None) -> tuple[int, ...]:
    """Default reduction: every dim but the first (batch)."""
    if dims is None:
        return tuple(range(1, tensor.ndim))
    return (dims,) if isinstance(dims, int) else tuple(dims)


def _safe_ratio(numerator: torch.Tensor, denominator: torch.Tensor, empty: float) -> torch.Tensor:
    """numerator / denominator where denominator > 0, else ``empty``; finite gradients everywhere."""
    positive = denominator > 0
    ratio = numerator / torch.where(positive, denominator, torch.ones_like(denominator))
    return torch.where(positive, ratio, torch.full_like(ratio, empty))


def _check_pair(pred: torch.Tensor, truth: torch.Tensor) -> None:
    if pred.shape != truth.shape:
        raise ValueError(f"pred has shape {tuple(pred.shape)} but truth has shape {tuple(truth.shape)}; "
                         "expected equal shapes")


def dice_torch(pred: torch.Tensor, truth: torch.Tensor, dims: int | Sequence[int] | None = None, *,
               empty: float = 1.0) -> torch.Tensor:
    """Soft Dice 2 Σ p t / (Σ p + Σ t) summed over ``dims`` (default: all but batch dim 0).

    pred, truth: (B, *S) -> result (B,) with the default dims. Differentiable in pred.
    """
    _check_pair(pred, truth)
    truth = truth.to(pred.dtype)
    reduce = _reduce_dims(pred, dims)
    intersection = (pred * truth).sum(dim=reduce)  # (B,)
    denominator = pred.sum(dim=reduce) + truth.sum(dim=reduce)  # (B,)
    return _safe_ratio(2.0 * intersection, denominator, empty)


def iou_torch(pred: torch.Tensor, truth: torch.Tensor, dims: int | Sequence[int] | None = None, *,
              empty: float = 1.0) -> torch.Tensor:
    """Soft IoU Σ p t / (Σ p + Σ t - Σ p t) over ``dims`` (default: all but dim 0), like ``dice_torch``."""
    _check_pair(pred, truth)
    truth = truth.to(pred.dtype)
    reduce = _reduce_dims(pred, dims)
    intersection = (pred * truth).sum(dim=reduce)
    union = pred.sum(dim=reduce) + truth.sum(dim=reduce) - intersection
    return _safe_ratio(intersection, union, empty)


def dice_per_class_torch(probs: torch.Tensor, labels: torch.Tensor, *, empty: float = 1.0) -> torch.Tensor:
    """Per-sample, per-class soft Dice of class probabilities against an integer label map.

    probs: (B, C, *S) (e.g. softmax output), labels: (B, *S) int in [0, C) -> (B, C).
    """
    n_classes = probs.shape[1]
    if labels.shape != probs.shape[:1] + probs.shape[2:]:
        raise ValueError(f"labels has shape {tuple(labels.shape)}; expected {tuple(probs.shape[:1] + probs.shape[2:])} "
                         f"to match probs {tuple(probs.shape)} without its class dim")
    if labels.numel() and (labels.min() < 0 or labels.max() >= n_classes):
        raise ValueError(f"labels: expected values in [0, {n_classes}), found "
                         f"[{int(labels.min())}, {int(labels.max())}]")
    one_hot = F.one_hot(labels.long(), n_classes).movedim(-1, 1).to(probs.dtype)  # (B, C, *S)
    return dice_torch(probs, one_hot, dims=tuple(range(2, probs.ndim)), empty=empty)  # (B, C)
