"""Epoch metrics: hand-checked Dice per class, binary and multi-class rates."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from medinterp_widgets.training.epoch_metrics import EpochMetrics, classification_scores


def _logits_for(labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    return torch.nn.functional.one_hot(labels, num_classes).movedim(-1, 1).float()  # (B, C, *S)


def test_segmentation_dice_is_mean_over_images():
    truth = torch.zeros(2, 4, 4, dtype=torch.long)
    truth[:, :2, :2] = 1  # 4 pixels of class 1 in each image
    pred = truth.clone()
    pred[1, :2, :2] = 0
    pred[1, 0, 0] = 1  # image 2: 1 of 4 found -> Dice 2*1/(1+4) = 0.4
    meter = EpochMetrics("segmentation", 2)
    meter.update(_logits_for(pred, 2), truth, loss=0.5)
    result = meter.compute()
    assert result["dice_1"] == pytest.approx((1.0 + 0.4) / 2)
    assert result["dice_mean"] == result["dice_1"]
    assert result["accuracy"] == pytest.approx(29 / 32) and result["loss"] == pytest.approx(0.5)


def test_binary_rates_and_auc():
    y_true = np.array([1, 1, 0, 0])
    scores = np.array([[0.2, 0.8], [0.6, 0.4], [0.9, 0.1], [0.3, 0.7]])
    result = classification_scores(y_true, scores)
    assert result["sensitivity"] == 0.5 and result["specificity"] == 0.5
    assert result["ppv"] == 0.5 and result["npv"] == 0.5 and result["auc"] == pytest.approx(0.75)


def test_multiclass_macro_rates_and_missing_class_auc():
    y_true = np.array([0, 1, 2, 2])
    scores = np.eye(3)[[0, 1, 2, 1]]
    result = classification_scores(y_true, scores)
    assert result["accuracy"] == 0.75 and result["sensitivity"] == pytest.approx((1 + 1 + 0.5) / 3)
    assert not math.isnan(result["auc"])
    assert math.isnan(classification_scores(np.array([0, 1]), np.eye(3)[[0, 1]])["auc"])
