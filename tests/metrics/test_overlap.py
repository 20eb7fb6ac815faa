"""Heatmap overlap and consistent degree: hand values, sign rule, constant maps, torch agreement."""

import math

import numpy as np
import pytest
import torch

from medinterp_widgets.metrics import (
    consistent_degree,
    heatmap_overlap,
    heatmap_overlap_torch,
    normalise_unit,
    normalize_unit,
)


def test_heatmap_overlap_hand_value_and_clipping():
    heat = np.array([[3.0, 1.0], [-5.0, 0.0]])
    mask = np.array([[1, 0], [1, 0]])
    assert heatmap_overlap(heat, mask) == pytest.approx(3 / 4)  # the -5 is clipped to 0
    assert math.isnan(heatmap_overlap(-np.ones((2, 2)), mask))
    assert math.isnan(heatmap_overlap(np.zeros((2, 2)), mask))


def test_heatmap_overlap_torch_batched_matches_numpy_and_is_differentiable():
    gen = torch.Generator().manual_seed(0)
    heat = torch.randn(3, 5, 6, generator=gen, requires_grad=True)
    mask = torch.rand(3, 5, 6, generator=gen) > 0.5
    values = heatmap_overlap_torch(heat, mask)
    assert values.shape == (3,)
    for i in range(3):
        assert values[i].item() == pytest.approx(heatmap_overlap(heat[i], mask[i]), rel=1e-5)
    (1 - values).sum().backward()
    assert torch.isfinite(heat.grad).all()
    shared = heatmap_overlap_torch(heat.detach(), mask[0])  # one mask broadcast over the batch
    assert shared.shape == (3,)
    assert heatmap_overlap_torch(-torch.ones(1, 2, 2), torch.ones(1, 2, 2)).item() == 0.0


def test_normalize_unit():
    assert normalise_unit is normalize_unit  # the former spelling stays
    np.testing.assert_allclose(normalize_unit(np.array([2.0, 4.0, 6.0])), [0, 0.5, 1])
    assert not normalize_unit(np.full(3, 7.0)).any()


def test_consistent_degree_hand_value():
    heat = np.array([[0.0, 0.2, 1.0], [0.8, 0.69, 0.0]])
    lesion = np.array([[0, 0, 1], [1, 1, 1]])
    assert consistent_degree(heat, lesion) == pytest.approx(2 / 4)  # 1.0 and 0.8 are >= 0.7
    assert consistent_degree(heat, lesion, threshold=0.6) == pytest.approx(3 / 4)


def test_consistent_degree_edge_cases():
    lesion = np.array([[1, 0], [0, 0]])
    assert math.isnan(consistent_degree(np.ones((2, 2)), np.zeros((2, 2))))
    assert consistent_degree(np.full((2, 2), 5.0), lesion) == 0.0
    with pytest.raises(ValueError, match="threshold"):
        consistent_degree(np.ones((2, 2)), lesion, threshold=1.5)
    with pytest.raises(ValueError, match="lesion: expected a binary mask"):
        consistent_degree(np.ones((2, 2)), np.full((2, 2), 255))
