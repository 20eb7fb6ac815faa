"""Accumulate one epoch's metrics batch by batch, for segmentation or classification.

Segmentation keeps a C x C confusion matrix of pixel counts (rows = truth, columns = prediction):
    accuracy = trace(M) / sum(M);   Dice_c = 2 M[c,c] / (sum_j M[c,j] + sum_i M[i,c])
and reports ``dice_<c>`` per class plus ``dice_mean`` over the foreground classes (c >= 1).
Classification keeps per-sample labels, predictions and class scores and reports accuracy,
sensitivity, specificity, ppv, npv (binary: class 1 positive; more classes: macro one-vs-rest)
and AUC.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from medinterp_widgets.training.distributed import DistributedContext


class EpochMetrics:
    """Running loss + task metrics for one split of one epoch."""

    def __init__(self, task: str, num_classes: int):
        self.task = task
        self.num_classes = num_classes
        self.loss_sum = 0.0
        self.count = 0
        self.confusion = torch.zeros(num_classes, num_classes, dtype=torch.int64)
        self.labels: list[np.ndarray] = []
        self.scores: list[np.ndarray] = []

    def update(self, logits: torch.Tensor, target: torch.Tensor, loss: float) -> dict[str, float]:
        """Add one batch; returns the batch's own quick metrics (accuracy)."""
        batch = int(target.shape[0])
        self.loss_sum += float(loss) * batch
        self.count += batch
        prediction = logits.detach().argmax(dim=1)  # (B, *spatial) or (B,)
        truth = target.detach().long()
        batch_confusion = _confusion(truth, prediction, self.num_classes)
        self.confusion += batch_confusion
        if self.task == "classification":
            self.labels.append(truth.cpu().numpy())
            self.scores.append(torch.softmax(logits.detach().float(), dim=1).cpu().numpy())
        return {"accuracy": _accuracy(batch_confusion)}

    def sync(self, context: DistributedContext) -> None:
        """Combine the counts of every rank (no-op in a single process)."""
        if not context.enabled:
            return
        totals = torch.tensor([self.loss_sum, float(self.count)], dtype=torch.float64)
        self.loss_sum, count = context.all_reduce_sum(totals).tolist()
        self.count = int(count)
        self.confusion = context.all_reduce_sum(self.confusion)
        if self.task == "classification":
            self.labels = context.all_gather_objects(self.labels)
            self.scores = context.all_gather_objects(self.scores)

    def compute(self) -> dict[str, float]:
        metrics = {"loss": self.loss_sum / max(self.count, 1), "accuracy": _accuracy(self.confusion)}
        if self.task == "segmentation":
            metrics.update(segmentation_scores(self.confusion))
        else:
            metrics.update(classification_scores(self.labels, self.scores, self.num_classes))
        return metrics


def segmentation_scores(confusion: torch.Tensor) -> dict[str, float]:
    """Per-class Dice from a confusion matrix, plus the foreground mean (NaN for absent classes)."""
    m = confusion.double()
    overlap = 2 * torch.diagonal(m)
    sizes = m.sum(dim=1) + m.sum(dim=0)
    dice = torch.where(sizes > 0, overlap / sizes.clamp(min=1), torch.full_like(sizes, math.nan))
    scores = {f"dice_{c}": float(value) for c, value in enumerate(dice)}
    foreground = dice[1:][~torch.isnan(dice[1:])]
    scores["dice_mean"] = float(foreground.mean()) if foreground.numel() else math.nan
    return scores


def classification_scores(labels: list[np.ndarray], scores: list[np.ndarray], num_classes: int) -> dict[str, float]:
    """Accuracy-family metrics and AUC from per-sample labels and softmax scores."""
    from medinterp_widgets.training._metric_links import binary_or_macro_confusion, roc_auc

    if not labels:
        return {}
    y_true = np.concatenate(labels)
    y_score = np.concatenate(scores)  # (N, C)
    y_pred = y_score.argmax(axis=1)
    results = binary_or_macro_confusion(y_true, y_pred, num_classes)
    results["auc"] = roc_auc(y_true, y_score, num_classes)
    return results


def _confusion(truth: torch.Tensor, prediction: torch.Tensor, num_classes: int) -> torch.Tensor:
    index = truth.flatten().cpu() * num_classes + prediction.flatten().cpu()
    return torch.bincount(index, minlength=num_classes**2).reshape(num_classes, num_classes)


def _accuracy(confusion: torch.Tensor) -> float:
    total = int(confusion.sum())
    return float(torch.diagonal(confusion).sum()) / total if total else math.nan
