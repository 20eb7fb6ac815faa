"""Dice / IoU: hand-computed values, empty rules, per-class maps, agreement with scikit-learn."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn.metrics import f1_score, jaccard_score

from medinterp_widgets.metrics import dice, dice_per_class, iou, iou_per_class


def test_hand_computed_dice_and_iou():
    pred = np.array([[1, 1, 0], [0, 0, 0]])
    truth = np.array([[1, 0, 0], [1, 0, 0]])
    assert dice(pred, truth) == pytest.approx(2 * 1 / 4)
    assert iou(pred, truth) == pytest.approx(1 / 3)


def test_empty_rules():
    empty = np.zeros((4, 4), bool)
    full = np.ones((4, 4), bool)
    assert dice(empty, empty) == 1.0 and iou(empty, empty) == 1.0
    assert np.isnan(dice(empty, empty, empty=np.nan))
    assert dice(empty, full) == 0.0 and iou(full, empty) == 0.0


def test_torch_input_and_no_mutation():
    pred = torch.tensor([[True, False], [True, True]])
    truth = torch.tensor([[1, 0], [0, 1]])
    before = truth.clone()
    assert dice(pred, truth) == pytest.approx(0.8)
    assert torch.equal(truth, before)


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="pred: expected a binary mask"):
        dice(np.array([0, 2]), np.array([0, 1]))
    with pytest.raises(ValueError, match="shape"):
        iou(np.zeros(3), np.zeros(4))


def test_per_class_matches_binary_and_ignores_background():
    pred = np.array([[0, 1, 2], [2, 2, 0]])
    truth = np.array([[0, 1, 1], [2, 2, 2]])
    scores = dice_per_class(pred, truth, 4)
    assert np.isnan(scores[0])
    assert scores[1] == pytest.approx(dice(pred == 1, truth == 1))
    assert scores[2] == pytest.approx(2 * 2 / 6)
    assert scores[3] == 1.0  # absent from both
    assert dice_per_class(pred, truth, 3, ignore_background=False)[0] == pytest.approx(2 / 3)
    assert iou_per_class(pred, truth, 3)[2] == pytest.approx(2 / 4)
    with pytest.raises(ValueError, match="pred_labels: expected labels in \\[0, 2\\)"):
        dice_per_class(pred, truth, 2)


masks = arrays(np.bool_, st.integers(1, 30))


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_properties(data):
    pred = data.draw(masks)
    truth = data.draw(arrays(np.bool_, pred.shape))
    d, j = dice(pred, truth), iou(pred, truth)
    assert d == pytest.approx(dice(truth, pred))
    assert 0.0 <= j <= d <= 1.0
    assert d == pytest.approx(2 * j / (1 + j))
    if pred.any() or truth.any():
        assert d == pytest.approx(f1_score(truth, pred, zero_division=1.0))
        assert j == pytest.approx(jaccard_score(truth, pred, zero_division=1.0))
