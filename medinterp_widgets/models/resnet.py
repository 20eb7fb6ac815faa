"""SmallResNet: a narrow 2-D ResNet classifier for small data sets (the covid-interp explained model).

    stem: 3x3 conv, stride 2 -> BN -> ReLU [-> 3x3 max pool, stride 2]    (B, w0, H/2 or H/4, ...)
    stage k (k = 0..3): ``blocks`` basic residual blocks, the first of stages 1..3 with stride 2
    head ("avg"): global average pool -> dropout -> linear                  (B, n_classes)
    lung_gate (top-k only): the last stage's features are multiplied by ``lung_field`` of the input
        (``LungFieldGate``, module ``gate``: the default Grad-CAM layer then), so the evidence can only
        come from the lung fields; gated-out cells never enter the top k.
    head ("topk", two classes): dropout -> 1x1 conv to a COVID-evidence map m (B, 1, h, w); the image
        score s is the mean of the k largest cells of m (k = ceil(topk_fraction * h * w)) and the logits
        are (-s / 2, s / 2), so P(class 1) = sigmoid(s): an image is positive when some of its regions
        are (multiple-instance pooling), and m is the class-1 evidence map.

A basic block is relu(BN(conv(relu(BN(conv(x))))) + skip(x)), skip = identity or 1x1 conv + BN when the
shape changes. At 128 x 128 inputs the four stages give 64, 32, 16 and 8 pixel maps; with ``stem_pool``
(a max pool after the stem, as in ResNet-18) a 256 x 256 input costs about what 128 x 128 costs without.
``cam_layer_name``
names the last stage (``stages.3``); ``embed(x)`` is the pooled feature vector (``feature_dim`` long),
used by self-supervised pretraining and feature + SVM baselines.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .blocks import check_input


class BasicBlock(nn.Module):
    """Two 3x3 conv + BN layers with a residual connection (out-of-place ReLUs, hook friendly)."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False), nn.BatchNorm2d(out_channels), nn.ReLU(),
            nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False), nn.BatchNorm2d(out_channels),
        )
        self.skip: nn.Module = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.skip = nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, stride, bias=False),
                                      nn.BatchNorm2d(out_channels))
        self.act = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.body(x) + self.skip(x))


def lung_field(image: torch.Tensor, size: tuple[int, int], fraction: float = 0.25) -> torch.Tensor:
    """(B, 1, H, W) lung-window CT (any per-image scaling) -> (B, 1, h, w) 0/1 cells of a size-(h, w) grid
    where at least ``fraction`` of the pixels are darker than the image mean after a 5 x 5 mean filter:
    the aerated lung fields; the mediastinum, bone and chest wall are brighter and fall out."""
    smooth = F.avg_pool2d(image, 5, stride=1, padding=2, count_include_pad=False)
    dark = (smooth < image.mean(dim=(2, 3), keepdim=True)).to(image.dtype)
    return (F.adaptive_avg_pool2d(dark, size) >= fraction).to(image.dtype)


class LungFieldGate(nn.Module):
    """features (B, C, h, w) x lung field of the input image (``lung_cells``): only the lung fields' features
    reach the head. Hooking this module (its output) gives Grad-CAM maps that are 0 outside the lung fields,
    as the model's evidence is."""

    def __init__(self, fraction: float = 0.25):
        super().__init__()
        self.fraction = fraction

    def forward(self, features: torch.Tensor, image: torch.Tensor, min_cells: int = 1) -> torch.Tensor:
        return features * lung_cells(image, features.shape[-2:], self.fraction, min_cells)


def lung_cells(image: torch.Tensor, size, fraction: float, min_cells: int) -> torch.Tensor:
    """``lung_field`` without gradients, all ones for an image with fewer than ``min_cells`` lung cells."""
    with torch.no_grad():
        gate = lung_field(image, size, fraction)  # (B, 1, h, w)
        gate[gate.flatten(1).sum(dim=1) < min_cells] = 1.0
    return gate


class SmallResNet(nn.Module):
    """(B, C, H, W) -> logits (B, n_classes); four stages of ``widths`` channels."""

    cam_layer_name = "stages.3"

    def __init__(self, in_channels: int = 1, n_classes: int = 2,
                 widths: tuple[int, ...] | list[int] = (16, 32, 64, 128),
                 blocks: int = 1, dropout: float = 0.2, stem_pool: bool = False, pooling: str = "avg",
                 topk_fraction: float = 0.1, lung_gate: bool = False):
        super().__init__()
        if pooling not in ("avg", "topk") or (pooling == "topk" and (n_classes != 2 or not 0 < topk_fraction <= 1)) or (
                lung_gate and pooling != "topk"):
            raise ValueError(f"SmallResNet: pooling 'avg', or 'topk' with 2 classes and 0 < topk_fraction <= 1 (the "
                             f"only one with lung_gate); got {pooling!r}, {n_classes} classes, {topk_fraction}, "
                             f"lung_gate={lung_gate}")
        if len(widths) != 4 or min(widths) < 1 or blocks < 1:
            raise ValueError(f"SmallResNet: widths needs four positive values and blocks >= 1, "
                             f"got {widths!r}, {blocks}")
        self.init_kwargs = dict(in_channels=in_channels, n_classes=n_classes, widths=[int(w) for w in widths],
                                blocks=blocks, dropout=dropout, stem_pool=bool(stem_pool), pooling=pooling,
                                topk_fraction=float(topk_fraction), lung_gate=bool(lung_gate))
        self.pooling, self.topk_fraction = pooling, float(topk_fraction)
        self.in_channels = in_channels
        stem = [nn.Conv2d(in_channels, widths[0], 3, 2, 1, bias=False), nn.BatchNorm2d(widths[0]), nn.ReLU()]
        self.stem = nn.Sequential(*stem, *([nn.MaxPool2d(3, 2, 1)] if stem_pool else []))
        stages, previous = [], widths[0]
        for index, width in enumerate(widths):
            layers = [BasicBlock(previous if b == 0 else width, width, 2 if (index > 0 and b == 0) else 1)
                      for b in range(blocks)]
            stages.append(nn.Sequential(*layers))
            previous = width
        self.stages = nn.Sequential(*stages)
        self.pool = nn.AdaptiveAvgPool2d(1)
        if pooling == "avg":
            self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(previous, n_classes))
        else:
            self.head = nn.Sequential(nn.Dropout(dropout), nn.Conv2d(previous, 1, 1))
        self.gate = LungFieldGate() if lung_gate else None
        self.cam_layer_name = "gate" if lung_gate else type(self).cam_layer_name
        self.feature_dim = previous

    @property
    def cam_layer(self) -> nn.Module:
        """The last stage (default Grad-CAM layer: stride 16, 8 x 8 at 128 x 128 input)."""
        return self.get_submodule(self.cam_layer_name)

    def feature_map(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) -> (B, feature_dim, h, w): the last stage's output."""
        check_input(x, self.in_channels, 2, "SmallResNet")
        return self.stages(self.stem(x))

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) -> (B, feature_dim) average-pooled features of the last stage."""
        return torch.flatten(self.pool(self.feature_map(x)), 1)

    def evidence(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Top-k head: (evidence map (B, h * w) of class 1, 0/1 cells that may enter the top k (B, h * w))."""
        features = self.feature_map(x)  # (B, C, h, w)
        size = features.shape[-2:]
        allowed = torch.ones(features.shape[0], size[0] * size[1], dtype=torch.bool, device=features.device)
        if self.gate is not None:
            k = self.topk_count(size)
            features = self.gate(features, x, k)
            allowed = lung_cells(x, size, self.gate.fraction, k).flatten(1) > 0
        return self.head(features).flatten(1), allowed

    def topk_count(self, size) -> int:
        return max(1, math.ceil(self.topk_fraction * size[0] * size[1]))

    def pool_evidence(self, evidence: torch.Tensor, allowed: torch.Tensor) -> torch.Tensor:
        """(B, h * w) evidence and allowed cells -> logits (-s / 2, s / 2), s = mean of the top k allowed cells."""
        k = self.topk_count((1, evidence.shape[1]))
        evidence = evidence.masked_fill(~allowed, torch.finfo(evidence.dtype).min)
        score = evidence.topk(k, dim=1).values.mean(dim=1, keepdim=True)  # (B, 1)
        return torch.cat([-score / 2, score / 2], dim=1)  # (B, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.pooling == "avg":
            return self.head(self.embed(x))  # (B, n_classes)
        return self.pool_evidence(*self.evidence(x))
