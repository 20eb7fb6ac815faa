"""Adapters from the training loop to ``medinterp_widgets.metrics`` (stand-ins until it lands)."""

from __future__ import annotations

import math

import numpy as np
from sklearn.metrics import confusion_matrix, roc_auc_score

_NAMES = ("sensitivity", "specificity", "ppv", "npv")


def binary_or_macro_confusion(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> dict[str, float]:
    """sensitivity/specificity/ppv/npv: binary with class 1 positive, else macro one-vs-rest."""
    positives = [1] if num_classes == 2 else list(range(num_classes))
    per_class = [_one_vs_rest(y_true == c, y_pred == c) for c in positives]
    return {name: _nan_mean([scores[name] for scores in per_class]) for name in _NAMES}


def roc_auc(y_true: np.ndarray, y_score: np.ndarray, num_classes: int) -> float:
    """ROC AUC (binary: score of class 1; more classes: macro one-vs-rest); NaN with one class present."""
    if len(np.unique(y_true)) < 2:
        return math.nan
    if num_classes == 2:
        return float(roc_auc_score(y_true, y_score[:, 1]))
    present = np.unique(y_true)
    if len(present) < num_classes:
        return math.nan
    return float(roc_auc_score(y_true, y_score, multi_class="ovr", average="macro"))


def _one_vs_rest(truth: np.ndarray, prediction: np.ndarray) -> dict[str, float]:
    tn, fp, fn, tp = confusion_matrix(truth, prediction, labels=[False, True]).ravel()
    return {"sensitivity": _ratio(tp, tp + fn), "specificity": _ratio(tn, tn + fp),
            "ppv": _ratio(tp, tp + fp), "npv": _ratio(tn, tn + fn)}


def _nan_mean(values: list[float]) -> float:
    finite = [v for v in values if not math.isnan(v)]
    return sum(finite) / len(finite) if finite else math.nan


def _ratio(numerator: float, denominator: float) -> float:
    return float(numerator) / float(denominator) if denominator else math.nan
