"""Tiny models and samples for the viewer tests (16 x 16 images, a few channels)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

SIDE = 16


def tiny_segmenter(seed: int = 0) -> nn.Module:
    """GapFCN with 2-4 channels, one pooling, BatchNorm (so running statistics can be checked)."""
    from medinterp_widgets.models import GapFCN

    torch.manual_seed(seed)
    return GapFCN(base_channels=2, depth=1, convs_per_stage=1, max_channels=4).eval()


def tiny_classifier(seed: int = 0) -> nn.Module:
    """conv-BN-ReLU-conv-ReLU-GAP-linear, 3 classes."""
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                         nn.Conv2d(4, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Linear(4, 3)).eval()


def no_gap_classifier() -> nn.Module:
    """conv-ReLU-flatten-linear: CAM has no GAP head to use."""
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(2 * SIDE * SIDE, 2)).eval()


@pytest.fixture
def sample():
    """(1, 1, 16, 16) image with a bright square and its label mask (class 1)."""
    torch.manual_seed(3)
    x = torch.randn(1, 1, SIDE, SIDE) * 0.1
    x[..., 4:10, 5:11] += 1.0
    masks = np.zeros((SIDE, SIDE), np.int64)
    masks[4:10, 5:11] = 1
    return x, masks
