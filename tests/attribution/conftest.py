"""Tiny hand-built models for the attribution tests (2-D and 3-D), all computable on paper."""

from __future__ import annotations

import pytest
import torch
from torch import nn

# x has four values at spatial positions p0..p3 (row-major); 2-D shape (2, 2), 3-D shape (1, 2, 2).
X_VALUES = [1.0, -2.0, 3.0, -5.0]
SPATIAL = {2: (2, 2), 3: (1, 2, 2)}
CONV = {2: nn.Conv2d, 3: nn.Conv3d}


def golden_input(dims: int, values=X_VALUES) -> torch.Tensor:
    return torch.tensor(values).view(1, 1, *SPATIAL[dims])  # (1, 1, *S)


def as_spatial(dims: int, values) -> torch.Tensor:
    """Expected map (1, *S) from four row-major values."""
    return torch.tensor(values, dtype=torch.float32).view(1, *SPATIAL[dims])


def relu_net(dims: int, inplace: bool = False) -> nn.Sequential:
    """x -> 1x1 conv with channel weights [1, -1] (A0 = x, A1 = -x) -> ReLU -> flatten -> Linear(8, 2).

    Class 0 weights: A0 pixels [1, 0, 0, 2], A1 pixels [0, -1, 1, 3] (g0, g1 below).
    """
    conv = CONV[dims](1, 2, 1, bias=False)
    head = nn.Linear(8, 2, bias=False)
    with torch.no_grad():
        conv.weight.copy_(torch.tensor([1.0, -1.0]).view(2, 1, *([1] * dims)))
        rows = [[1, 0, 0, 2, 0, -1, 1, 3], [0, 1, 0, 0, 1, 0, 0, 0]]
        head.weight.copy_(torch.tensor(rows, dtype=torch.float32))
    return nn.Sequential(conv, nn.ReLU(inplace=inplace), nn.Flatten(), head).eval()


def gap_net(dims: int) -> nn.Sequential:
    """x -> 1x1 conv [1, 2] (A0 = x, A1 = 2x) -> GAP -> Linear W = [[1, -1], [0.5, 1]]."""
    conv = CONV[dims](1, 2, 1, bias=False)
    head = nn.Linear(2, 2, bias=False)
    with torch.no_grad():
        conv.weight.copy_(torch.tensor([1.0, 2.0]).view(2, 1, *([1] * dims)))
        head.weight.copy_(torch.tensor([[1.0, -1.0], [0.5, 1.0]]))
    pool = nn.AdaptiveAvgPool2d(1) if dims == 2 else nn.AdaptiveAvgPool3d(1)
    return nn.Sequential(conv, pool, nn.Flatten(), head).eval()


def random_classifier(dims: int = 2, channels: int = 2, classes: int = 3, seed: int = 0, inplace=False):
    """Small random conv net: conv-BN-ReLU-conv-ReLU-GAP-linear (eval mode)."""
    torch.manual_seed(seed)
    conv, norm = CONV[dims], (nn.BatchNorm2d if dims == 2 else nn.BatchNorm3d)
    pool = nn.AdaptiveAvgPool2d(1) if dims == 2 else nn.AdaptiveAvgPool3d(1)
    model = nn.Sequential(
        conv(channels, 4, 3, padding=1),
        norm(4),
        nn.ReLU(inplace=inplace),
        conv(4, 6, 3, stride=2, padding=1),
        nn.ReLU(inplace=inplace),
        pool,
        nn.Flatten(),
        nn.Linear(6, classes),
    )
    with torch.no_grad():  # non-trivial running statistics
        model[1].running_mean.uniform_(-0.2, 0.2)
        model[1].running_var.uniform_(0.5, 1.5)
    return model.eval()


def random_segmenter(dims: int = 2, classes: int = 2, seed: int = 0):
    """Conv-ReLU-conv-ReLU-1x1 conv to class logits (B, K, *S)."""
    torch.manual_seed(seed)
    conv = CONV[dims]
    return nn.Sequential(
        conv(1, 4, 3, padding=1), nn.ReLU(), conv(4, 4, 3, padding=1), nn.ReLU(), conv(4, classes, 1)
    ).eval()


@pytest.fixture
def image_batch():
    torch.manual_seed(1)
    return torch.randn(3, 2, 16, 16)
