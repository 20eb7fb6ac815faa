"""Classification metrics from labels (and scores): confusion counts, rates, pixel accuracy, AUC.

Zero-division rule: a rate whose denominator is 0 (e.g. sensitivity when there are no positives)
is ``zero_division`` (nan by default), never an exception.
"""

from __future__ import annotations

from typing import Any, Hashable

import numpy as np
from sklearn.metrics import confusion_matrix, roc_auc_score

from medinterp_widgets.metrics._arrays import check_same_shape, to_numpy


def _ratio(numerator: int, denominator: int, zero_division: float) -> float:
    return numerator / denominator if denominator else float(zero_division)


def _rates(tp: int, fp: int, tn: int, fn: int, zero_division: float) -> dict[str, float]:
    """accuracy, sensitivity TP/(TP+FN), specificity TN/(TN+FP), ppv TP/(TP+FP), npv TN/(TN+FN), f1."""
    n = tp + fp + tn + fn
    return {
        "accuracy": _ratio(tp + tn, n, zero_division),
        "sensitivity": _ratio(tp, tp + fn, zero_division),
        "specificity": _ratio(tn, tn + fp, zero_division),
        "ppv": _ratio(tp, tp + fp, zero_division),
        "npv": _ratio(tn, tn + fn, zero_division),
        "f1": _ratio(2 * tp, 2 * tp + fp + fn, zero_division),
        "tp": tp, "fp": fp, "tn": tn, "fn": fn, "n": n,
    }


def _flat_labels(y_true: Any, y_pred: Any) -> tuple[np.ndarray, np.ndarray]:
    truth = to_numpy(y_true, "y_true").ravel()
    pred = to_numpy(y_pred, "y_pred").ravel()
    check_same_shape(truth, pred, ("y_true", "y_pred"))
    return truth, pred


def confusion_metrics(y_true: Any, y_pred: Any, *, positive: Hashable = 1,
                      zero_division: float = float("nan")) -> dict[str, float]:
    """Binary confusion counts and rates: keys accuracy, sensitivity, specificity, ppv, npv, f1,
    tp, fp, tn, fn, n.

    Samples equal to ``positive`` are positives, all others negatives; more than two distinct labels
    raise ValueError (use ``one_vs_rest_metrics``). Masks work too (every pixel is a sample).
    """
    truth, pred = _flat_labels(y_true, y_pred)
    labels = np.union1d(truth, pred)
    if labels.size > 2:
        raise ValueError(f"y_true/y_pred: expected at most 2 classes for binary metrics, found "
                         f"{labels.size} ({labels[:5].tolist()}...); use one_vs_rest_metrics")
    if truth.size == 0:
        return _rates(0, 0, 0, 0, zero_division)
    matrix = confusion_matrix(truth == positive, pred == positive, labels=[False, True])
    (tn, fp), (fn, tp) = matrix.tolist()
    return _rates(tp, fp, tn, fn, zero_division)


def one_vs_rest_metrics(y_true: Any, y_pred: Any, *, labels: list | None = None,
                        zero_division: float = float("nan")) -> dict[Hashable, dict[str, float]]:
    """Per-class binary metrics (that class against all others) from one multi-class confusion matrix.

    ``labels`` fixes the classes and their order (default: sorted union of both inputs).
    """
    truth, pred = _flat_labels(y_true, y_pred)
    classes = list(np.union1d(truth, pred)) if labels is None else list(labels)
    if truth.size == 0:
        return {label: _rates(0, 0, 0, 0, zero_division) for label in classes}
    matrix = confusion_matrix(truth, pred, labels=classes)  # rows: truth, columns: prediction
    total = int(matrix.sum())
    result = {}
    for index, label in enumerate(classes):
        tp = int(matrix[index, index])
        fn = int(matrix[index].sum()) - tp
        fp = int(matrix[:, index].sum()) - tp
        key = label.item() if isinstance(label, np.generic) else label
        result[key] = _rates(tp, fp, total - tp - fn - fp, fn, zero_division)
    return result


def pixel_accuracy(pred_labels: Any, truth_labels: Any) -> float:
    """Fraction of equal entries, mean(pred == truth), over label maps of equal shape; nan if empty."""
    pred = to_numpy(pred_labels, "pred_labels")
    truth = to_numpy(truth_labels, "truth_labels")
    check_same_shape(pred, truth, ("pred_labels", "truth_labels"))
    return float(np.mean(pred == truth)) if pred.size else float("nan")


def roc_auc(y_true: Any, scores: Any, *, multi_class: str = "ovr") -> float:
    """Area under the ROC curve (scikit-learn ``roc_auc_score``); nan when y_true holds one class.

    Binary: ``scores`` shape (n,), the score of the positive (larger) label. Multi-class: shape
    (n, n_classes) of probabilities, averaged one-vs-rest (macro) by default.
    """
    truth = to_numpy(y_true, "y_true").ravel()
    score = to_numpy(scores, "scores")
    if score.ndim == 1 and score.shape[0] != truth.shape[0]:
        raise ValueError(f"scores has {score.shape[0]} entries but y_true has {truth.shape[0]}")
    if np.unique(truth).size < 2:
        return float("nan")
    return float(roc_auc_score(truth, score, multi_class=multi_class))


def midpoint_threshold(labels: Any, scores: Any, *, fallback: float = 0.5) -> float:
    """Binary decision threshold t = (mean score of label 1 + mean score of label 0) / 2: halfway between
    the two classes' mean scores; ``fallback`` when ``labels`` lacks a class."""
    truth = to_numpy(labels, "labels").ravel()
    score = to_numpy(scores, "scores").astype(float).ravel()
    check_same_shape(score, truth, ("scores", "labels"))
    if not ((truth == 0).any() and (truth == 1).any()):
        return float(fallback)
    return float((score[truth == 1].mean() + score[truth == 0].mean()) / 2)
