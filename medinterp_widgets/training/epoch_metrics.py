"""Accumulate one epoch's metrics batch by batch, for segmentation or classification (via metrics/).

Segmentation: pixel ``accuracy`` = correct pixels / all pixels; ``dice_<c>`` = mean over samples of
``metrics.dice_per_class`` (per image, both-empty counts as 1, as the papers report per-slice Dice);
``dice_mean`` = mean of the foreground classes' ``dice_<c>`` (c >= 1).
Classification: ``accuracy``, ``sensitivity``, ``specificity``, ``ppv``, ``npv`` from
``metrics.confusion_metrics`` (binary, class 1 positive) or the macro mean of
``metrics.one_vs_rest_metrics`` (more classes), and ``auc`` from ``metrics.roc_auc``.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from medinterp_widgets import metrics
from medinterp_widgets.training.distributed import DistributedContext

RATES = ("accuracy", "sensitivity", "specificity", "ppv", "npv")


class EpochMetrics:
    """Running loss + task metrics for one split of one epoch."""

    def __init__(self, task: str, num_classes: int):
        self.task = task
        self.num_classes = num_classes
        # sums: [loss * samples, samples, correct pixels, pixels, dice sum per class...]
        self.sums = torch.zeros(4 + num_classes, dtype=torch.float64)
        self.labels: list[np.ndarray] = []
        self.scores: list[np.ndarray] = []

    def update(self, logits: torch.Tensor, target: torch.Tensor, loss: float) -> dict[str, float]:
        """Add one batch; returns the batch's own quick metrics (accuracy)."""
        prediction = logits.detach().argmax(dim=1).cpu()  # (B, *spatial) or (B,)
        truth = target.detach().long().cpu()
        batch = int(truth.shape[0])
        correct, total = float((prediction == truth).sum()), float(truth.numel())
        self.sums[:4] += torch.tensor([float(loss) * batch, batch, correct, total], dtype=torch.float64)
        if self.task == "segmentation":
            for pred_map, truth_map in zip(prediction.numpy(), truth.numpy()):
                per_class = metrics.dice_per_class(pred_map, truth_map, self.num_classes, ignore_background=False)
                self.sums[4:] += torch.from_numpy(per_class)
        else:
            self.labels.append(truth.numpy())
            self.scores.append(torch.softmax(logits.detach().float(), dim=1).cpu().numpy())
        return {"accuracy": correct / total if total else math.nan}

    def sync(self, context: DistributedContext) -> None:
        """Combine every rank's sums and samples (no-op in a single process)."""
        if not context.enabled:
            return
        self.sums = context.all_reduce_sum(self.sums)
        if self.task == "classification":
            self.labels = context.all_gather_objects(self.labels)
            self.scores = context.all_gather_objects(self.scores)

    def compute(self) -> dict[str, float]:
        loss_sum, samples, correct, pixels = self.sums[:4].tolist()
        results = {"loss": loss_sum / samples if samples else math.nan,
                   "accuracy": correct / pixels if pixels else math.nan}
        if self.task == "segmentation":
            results.update(_dice_scores(self.sums[4:] / max(samples, 1)))
        elif self.labels:
            results.update(classification_scores(np.concatenate(self.labels), np.concatenate(self.scores)))
        return results


def _dice_scores(mean_dice: torch.Tensor) -> dict[str, float]:
    scores = {f"dice_{c}": float(value) for c, value in enumerate(mean_dice)}
    scores["dice_mean"] = float(mean_dice[1:].mean()) if mean_dice.numel() > 1 else math.nan
    return scores


def classification_scores(y_true: np.ndarray, y_score: np.ndarray) -> dict[str, float]:
    """Rates and AUC from labels (N,) and class probabilities (N, C); macro one-vs-rest when C > 2."""
    num_classes = y_score.shape[1]
    y_pred = y_score.argmax(axis=1)  # (N,)
    if num_classes == 2:
        rates = metrics.confusion_metrics(y_true, y_pred, positive=1)
        results = {name: float(rates[name]) for name in RATES}
        results["auc"] = metrics.roc_auc(y_true, y_score[:, 1])
        return results
    per_class = metrics.one_vs_rest_metrics(y_true, y_pred, labels=list(range(num_classes)))
    results = {name: _nan_mean([rates[name] for rates in per_class.values()]) for name in RATES[1:]}
    results["accuracy"] = float(np.mean(y_true == y_pred))
    all_present = np.unique(y_true).size == num_classes
    results["auc"] = metrics.roc_auc(y_true, y_score) if all_present else math.nan
    return results


def _nan_mean(values: list[float]) -> float:
    finite = [float(v) for v in values if not math.isnan(v)]
    return sum(finite) / len(finite) if finite else math.nan
