"""Tiny models and data for the training tests (CPU, a few ms per step)."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset


class TinySegNet(nn.Module):
    """Two 3x3 convs -> per-pixel logits (B, num_classes, H, W)."""

    def __init__(self, in_channels: int = 1, num_classes: int = 2, width: int = 4):
        super().__init__()
        self.init_kwargs = {"in_channels": in_channels, "num_classes": num_classes, "width": width}
        self.body = nn.Sequential(nn.Conv2d(in_channels, width, 3, padding=1), nn.ReLU(),
                                  nn.Dropout2d(0.1), nn.Conv2d(width, num_classes, 3, padding=1))

    def forward(self, x):
        return self.body(x)


class TinyClassifier(nn.Module):
    def __init__(self, in_channels: int = 1, num_classes: int = 2):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(in_channels, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1))
        self.head = nn.Linear(4, num_classes)

    def forward(self, x):
        return self.head(self.features(x).flatten(1))


def blob_segmentation(n: int, size: int = 12, seed: int = 0) -> TensorDataset:
    """Images with a bright square; the label is the square (class 1) on background (class 0)."""
    generator = torch.Generator().manual_seed(seed)
    images = 0.1 * torch.randn(n, 1, size, size, generator=generator)
    labels = torch.zeros(n, size, size, dtype=torch.long)
    for i in range(n):
        r, c = torch.randint(0, size - 5, (2,), generator=generator).tolist()
        labels[i, r:r + 5, c:c + 5] = 1
        images[i, 0, r:r + 5, c:c + 5] += 1.0
    return TensorDataset(images, labels)


def bright_or_dark(n: int, size: int = 8, seed: int = 0) -> TensorDataset:
    generator = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % 2
    images = 0.3 * torch.randn(n, 1, size, size, generator=generator) + labels.view(-1, 1, 1, 1).float()
    return TensorDataset(images, labels)


@pytest.fixture
def seg_data():
    return blob_segmentation(16, seed=1), blob_segmentation(8, seed=2)


@pytest.fixture
def cls_data():
    return bright_or_dark(16, seed=1), bright_or_dark(8, seed=2)


@pytest.fixture
def make_seg_model():
    def make(seed: int = 0) -> TinySegNet:
        torch.manual_seed(seed)
        return TinySegNet()
    return make


@pytest.fixture
def make_classifier():
    def make(seed: int = 0) -> TinyClassifier:
        torch.manual_seed(seed)
        return TinyClassifier()
    return make
