"""Confusion metrics, one-vs-rest, pixel accuracy and AUC against hand counts and scikit-learn."""

import math

import numpy as np
import pytest
import torch
from sklearn.metrics import confusion_matrix, f1_score, roc_auc_score

from medinterp_widgets.metrics import confusion_metrics, one_vs_rest_metrics, pixel_accuracy, roc_auc


def test_binary_hand_counts():
    y_true = [1, 1, 1, 0, 0, 0, 0, 1]
    y_pred = [1, 1, 0, 0, 0, 1, 0, 1]
    m = confusion_metrics(y_true, y_pred)
    assert (m["tp"], m["fp"], m["tn"], m["fn"], m["n"]) == (3, 1, 3, 1, 8)
    assert m["accuracy"] == pytest.approx(6 / 8)
    assert m["sensitivity"] == pytest.approx(3 / 4) and m["specificity"] == pytest.approx(3 / 4)
    assert m["ppv"] == pytest.approx(3 / 4) and m["npv"] == pytest.approx(3 / 4)
    tn, fp, fn, tp = confusion_matrix(y_true, y_pred).ravel()
    assert (tn, fp, fn, tp) == (m["tn"], m["fp"], m["fn"], m["tp"])
    assert m["f1"] == pytest.approx(f1_score(y_true, y_pred))


def test_zero_division_never_crashes():
    m = confusion_metrics([0, 0, 0], [0, 0, 0])
    assert m["accuracy"] == 1.0 and m["specificity"] == 1.0
    assert math.isnan(m["sensitivity"]) and math.isnan(m["ppv"])
    assert confusion_metrics([1, 1], [1, 1], zero_division=0.0)["specificity"] == 0.0
    assert math.isnan(confusion_metrics([], [])["accuracy"])


def test_string_labels_and_tensors():
    m = confusion_metrics(["covid", "normal", "covid"], ["covid", "covid", "covid"], positive="covid")
    assert (m["tp"], m["fp"]) == (2, 1)
    t = confusion_metrics(torch.tensor([[1, 0], [1, 1]]), torch.tensor([[1, 1], [0, 1]]))
    assert (t["tp"], t["fp"], t["fn"], t["tn"]) == (2, 1, 1, 0)


def test_more_than_two_classes_is_refused():
    with pytest.raises(ValueError, match="one_vs_rest_metrics"):
        confusion_metrics([0, 1, 2], [0, 1, 2])


def test_one_vs_rest_matches_binary_per_class():
    y_true = np.array([0, 1, 2, 2, 1, 0, 3, 3])
    y_pred = np.array([0, 2, 2, 2, 1, 1, 3, 0])
    result = one_vs_rest_metrics(y_true, y_pred)
    assert sorted(result) == [0, 1, 2, 3]
    for label, metrics in result.items():
        binary = confusion_metrics(y_true == label, y_pred == label, positive=True)
        assert metrics == pytest.approx(binary, nan_ok=True)
    assert one_vs_rest_metrics(y_true, y_pred, labels=[0, 1, 2, 3, 4])[4]["tp"] == 0


def test_pixel_accuracy():
    assert pixel_accuracy(np.array([[0, 1], [2, 2]]), np.array([[0, 1], [1, 2]])) == 0.75
    assert math.isnan(pixel_accuracy(np.zeros(0), np.zeros(0)))


def test_roc_auc_matches_sklearn_and_one_class_is_nan():
    y = [0, 0, 1, 1, 1]
    s = [0.1, 0.6, 0.4, 0.8, 0.9]
    assert roc_auc(y, s) == pytest.approx(roc_auc_score(y, s))
    assert math.isnan(roc_auc([1, 1, 1], [0.2, 0.3, 0.4]))
    probs = np.array([[0.8, 0.1, 0.1], [0.2, 0.7, 0.1], [0.1, 0.2, 0.7], [0.3, 0.4, 0.3]])
    assert roc_auc([0, 1, 2, 1], probs) == pytest.approx(1.0)
