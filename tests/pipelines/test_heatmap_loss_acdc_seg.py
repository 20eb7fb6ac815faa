"""The ACDC arm's auxiliary segmentation head: taps, the per-model loss by hand, the heart from label codes,
and training with ``seg_weight=0`` equal to plain grouped training (golden test)."""

from __future__ import annotations

import math

import pytest
import torch

from medinterp_widgets.models import VGGClassifier
from medinterp_widgets.models.grouped import GroupedVGG
from medinterp_widgets.pipelines.heatmap_loss.acdc_train import (
    GroupedSegHead,
    heart_from_codes,
    seg_loss,
    seg_taps,
    train_group_seg,
)
from medinterp_widgets.training.grouped import ImageSet, Member, train_group
from medinterp_widgets.training.heatmap_loss import HeatmapLoss


def _make(seed: int) -> VGGClassifier:
    torch.manual_seed(seed)
    return VGGClassifier(in_channels=2, n_classes=2, width=2, cfg=[1, "M", 2, "M", 2], head="fc", hidden=4,
                         fc_pool=1, dropout=0.0)


def _data(n: int = 16, size: int = 8) -> ImageSet:
    g = torch.Generator().manual_seed(0)
    codes = torch.zeros(n, size, size, dtype=torch.uint8)
    codes[:, 2:6, 2:6] = 4 * 3 + 2  # ED cavity, ES myocardium
    codes[:3] = 0  # three slices without heart
    return ImageSet(torch.rand(n, 2, size, size, generator=g), torch.randint(0, 2, (n,), generator=g), codes)


def test_taps_are_the_relus_at_half_size_or_less():
    model = _make(0)  # features: conv bn relu(2) pool conv bn relu(6) pool conv bn relu(10)
    assert seg_taps(model, 8) == [(6, 4), (10, 4)]
    assert seg_taps(GroupedVGG([_make(0), _make(1)]), 8) == [(6, 4), (10, 4)]  # channels per model


def test_seg_loss_by_hand():
    codes = torch.tensor([[[[0.0, 13.0]]]])  # (B=1, K=1, 1, 2): background; ED 3 / ES 1
    flat = torch.zeros(1, 1, 8, 1, 2)
    assert seg_loss(flat, codes).item() == pytest.approx(math.log(4))  # uniform over 4 labels per frame
    sure = torch.full((1, 1, 8, 1, 2), -50.0)
    sure[0, 0, 0, 0, 0] = sure[0, 0, 4, 0, 0] = 50  # pixel 0: background in both frames
    sure[0, 0, 3, 0, 1] = sure[0, 0, 5, 0, 1] = 50  # pixel 1: ED label 3, ES label 1
    assert seg_loss(sure, codes).item() == pytest.approx(0.0, abs=1e-6)
    two = seg_loss(torch.zeros(2, 3, 8, 1, 2), codes.expand(2, 3, 1, 2))
    assert two.shape == (3,)  # one value per model


def test_heart_from_codes_allows_everything_without_heart():
    codes = torch.zeros(1, 2, 2, 2)
    codes[0, 0, 0, 0] = 5
    heart = heart_from_codes(codes)
    assert heart[0, 0].tolist() == [[1, 0], [0, 0]] and heart[0, 1].eq(1).all()


def test_head_output_shape_and_models_stay_separate():
    head = GroupedSegHead(2, [(0, 3)])
    a = torch.rand(1, 6, 2, 2)
    out = head([a], (4, 4))
    assert out.shape == (1, 2, 8, 4, 4)
    b = a.clone()
    b[:, 3:] += 1  # model 1's channels only
    torch.testing.assert_close(head([b], (4, 4))[:, 0], out[:, 0])


@pytest.mark.parametrize("loss", [HeatmapLoss(weight=0.0, classification="mse"), HeatmapLoss.thesis()])
def test_without_seg_weight_it_is_plain_grouped_training(loss):
    data = _data()
    heart = ImageSet(data.images, data.labels, heart_from_codes(data.masks[:, None].float())[:, 0])
    members = [Member(seed=1, lr=0.01), Member(seed=2, lr=0.02, subset=tuple(range(10)))]
    ours = train_group_seg(_make, members, data, loss=loss, epochs=2, batch_size=4, seg_weight=0.0)
    plain = train_group(_make, members, heart, None, loss=loss, epochs=2, batch_size=4)
    for a, b in zip(ours, plain):
        for name, tensor in b.state.items():
            torch.testing.assert_close(a.state[name], tensor, msg=name)


def test_seg_weight_changes_the_shared_features():
    data = _data()
    members = [Member(seed=1, lr=0.01)]
    loss = HeatmapLoss(weight=0.0, classification="mse")
    with_head = train_group_seg(_make, members, data, loss=loss, epochs=1, batch_size=4, seg_weight=1.0)
    without = train_group_seg(_make, members, data, loss=loss, epochs=1, batch_size=4, seg_weight=0.0)
    assert set(with_head[0].state) == set(_make(0).state_dict())  # the plain classifier is kept
    assert not torch.allclose(with_head[0].state["features.0.weight"], without[0].state["features.0.weight"])
