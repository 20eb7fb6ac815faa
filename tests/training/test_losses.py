"""Soft Dice: perfect -> 0, worst -> ~1, background exclusion, index vs one-hot targets."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from medinterp_widgets.training.losses import SoftDiceLoss, build_loss, soft_dice_loss, soft_dice_per_class


def _confident(labels: torch.Tensor, n_classes: int) -> torch.Tensor:
    return 50.0 * F.one_hot(labels, n_classes).movedim(-1, 1).float()  # (B, C, H, W)


def test_perfect_prediction_gives_zero_and_worst_gives_one():
    labels = torch.randint(0, 4, (2, 8, 8))
    assert soft_dice_loss(_confident(labels, 4), labels).item() == pytest.approx(0.0, abs=1e-4)
    wrong = (labels + 1) % 4
    assert soft_dice_loss(_confident(wrong, 4), labels).item() == pytest.approx(1.0, abs=1e-3)


def test_hand_value_two_classes():
    # p = softmax(0, 0) = 0.5 everywhere, 4 pixels, truth: 1 pixel class 1
    logits = torch.zeros(1, 2, 2, 2)
    labels = torch.tensor([[[0, 0], [0, 1]]])
    dice = soft_dice_per_class(logits, labels, eps=0.0)
    assert dice.tolist() == pytest.approx([2 * 1.5 / (2 + 3), 2 * 0.5 / (2 + 1)])
    loss = soft_dice_loss(logits, labels, include_background=False, eps=0.0)
    assert loss.item() == pytest.approx(1 - 1 / 3)


def test_class_weights_hand_value():
    # same p = 0.5 case: Dice (0.6, 1/3); weights (1, 3): 1 - (0.6 + 3 / 3) / 4 = 0.6
    logits = torch.zeros(1, 2, 2, 2)
    labels = torch.tensor([[[0, 0], [0, 1]]])
    assert soft_dice_loss(logits, labels, eps=0.0, class_weights=(1.0, 3.0)).item() == pytest.approx(0.6)
    assert soft_dice_loss(logits, labels, eps=0.0, class_weights=(0.0, 2.0)).item() == pytest.approx(1 - 1 / 3)
    unweighted = soft_dice_loss(logits, labels, eps=0.0)
    torch.testing.assert_close(soft_dice_loss(logits, labels, eps=0.0, class_weights=(2.0, 2.0)), unweighted)
    weighted_ce = build_loss("dice_ce", class_weights=(1.0, 3.0)).compute(logits, labels)
    assert weighted_ce.parts["dice"].item() == pytest.approx(0.6, abs=1e-5)  # eps 1e-5 here
    with pytest.raises(ValueError, match="class_weights"):
        soft_dice_loss(logits, labels, class_weights=(1.0, 1.0, 1.0))
    with pytest.raises(ValueError, match="class_weights"):
        soft_dice_loss(logits, labels, class_weights=(0.0, 0.0))


def test_one_hot_target_equals_index_target_and_gradients_flow():
    labels = torch.randint(0, 3, (2, 5, 6))
    logits = torch.randn(2, 3, 5, 6, requires_grad=True)
    one_hot = F.one_hot(labels, 3).movedim(-1, 1).float()
    by_index = SoftDiceLoss()(logits, labels)
    torch.testing.assert_close(by_index, SoftDiceLoss()(logits, one_hot))
    by_index.backward()
    assert logits.grad.abs().sum() > 0


def test_absent_class_counts_as_match_and_3d_works():
    labels = torch.zeros(1, 3, 4, 4, dtype=torch.long)  # only background present, 3-D
    assert soft_dice_loss(_confident(labels, 3), labels).item() == pytest.approx(0.0, abs=1e-4)


def test_bad_target_shape_and_names():
    with pytest.raises(ValueError, match="soft Dice target: shape"):
        soft_dice_loss(torch.zeros(1, 2, 4, 4), torch.zeros(1, 5, 5, dtype=torch.long))
    assert isinstance(build_loss("dice", include_background=False), SoftDiceLoss)
    with pytest.raises(ValueError, match="loss name"):
        build_loss("focal")


def test_per_image_dice_weighs_each_image_equally():
    # p = 0.5 everywhere; image 0: 1 LV pixel of 4, image 1: 3 LV pixels of 4
    logits = torch.zeros(2, 2, 2, 2)
    labels = torch.tensor([[[0, 0], [0, 1]], [[0, 1], [1, 1]]])
    per_image = soft_dice_per_class(logits, labels, eps=0.0, per_image=True)
    lv = [2 * 0.5 / (2 + 1), 2 * 1.5 / (2 + 3)]  # each image's LV Dice
    assert per_image[1].item() == pytest.approx(sum(lv) / 2)
    pooled = soft_dice_per_class(logits, labels, eps=0.0)
    assert pooled[1].item() == pytest.approx(2 * 2.0 / (4 + 4))  # batch Dice pools the pixels
    loss = build_loss("dice_ce", include_background=False, per_image=True)(logits, labels)
    expected = torch.nn.functional.cross_entropy(logits, labels) + 1 - sum(lv) / 2
    assert loss.item() == pytest.approx(expected.item(), abs=1e-5)  # eps = 1e-5 in the loss


def test_class_weights_without_background_need_a_foreground_weight():
    logits, target = torch.zeros(1, 2, 2, 2), torch.zeros(1, 2, 2, dtype=torch.long)
    with pytest.raises(ValueError, match="foreground weights sum to 0"):
        soft_dice_loss(logits, target, include_background=False, class_weights=[1.0, 0.0])
