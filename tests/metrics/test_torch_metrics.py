"""Batched torch Dice / IoU: equal to the numpy metrics on 0/1 inputs, soft and differentiable."""

import numpy as np
import pytest
import torch

from medinterp_widgets.metrics import dice, dice_per_class, dice_per_class_torch, dice_torch, iou, iou_torch


def _batch():
    gen = torch.Generator().manual_seed(1)
    pred = (torch.rand(4, 8, 8, generator=gen) > 0.5).float()
    truth = (torch.rand(4, 8, 8, generator=gen) > 0.5).float()
    pred[3] = 0
    truth[3] = 0  # an empty/empty sample
    return pred, truth


def test_binary_inputs_equal_numpy_metrics():
    pred, truth = _batch()
    d, j = dice_torch(pred, truth), iou_torch(pred, truth)
    assert d.shape == (4,) and j.shape == (4,)
    for i in range(4):
        assert d[i].item() == pytest.approx(dice(pred[i], truth[i]))
        assert j[i].item() == pytest.approx(iou(pred[i], truth[i]))
    assert dice_torch(pred, truth, empty=0.0)[3].item() == 0.0


def test_dims_argument_reduces_everything():
    pred, truth = _batch()
    whole = dice_torch(pred, truth, dims=(0, 1, 2))
    assert whole.shape == () and whole.item() == pytest.approx(dice(pred, truth))


def test_soft_dice_is_differentiable_even_when_empty():
    probs = torch.zeros(2, 4, 4, requires_grad=True)
    truth = torch.zeros(2, 4, 4)
    truth[0, :2] = 1
    (1 - dice_torch(probs, truth)).sum().backward()
    assert torch.isfinite(probs.grad).all()


def test_per_class_torch_matches_numpy():
    labels = torch.tensor([[[0, 1, 2], [2, 2, 0]]])
    pred_labels = torch.tensor([[[0, 1, 1], [2, 2, 2]]])
    probs = torch.nn.functional.one_hot(pred_labels, 3).movedim(-1, 1).float()  # (1, 3, 2, 3)
    scores = dice_per_class_torch(probs, labels)
    assert scores.shape == (1, 3)
    expected = dice_per_class(pred_labels[0], labels[0], 3, ignore_background=False)
    np.testing.assert_allclose(scores[0].numpy(), expected, rtol=1e-6)
    with pytest.raises(ValueError, match="labels"):
        dice_per_class_torch(probs, labels + 5)
