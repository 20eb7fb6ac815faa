"""SmallResNet: a narrow 2-D ResNet classifier for small data sets (the covid-interp explained model).

    stem: 3x3 conv, stride 2 -> BN -> ReLU [-> 3x3 max pool, stride 2]    (B, w0, H/2 or H/4, ...)
    stage k (k = 0..3): ``blocks`` basic residual blocks, the first of stages 1..3 with stride 2
    head ("avg"): global average pool -> dropout -> linear                  (B, n_classes)
    head ("topk", two classes): dropout -> 1x1 conv to a COVID-evidence map m (B, 1, h, w); the image
        score s is the mean of the k largest cells of m (k = ceil(topk_fraction * h * w)) and the logits
        are (-s / 2, s / 2), so P(class 1) = sigmoid(s): an image is positive when some of its regions
        are (multiple-instance pooling), and m is the class-1 evidence map.

A basic block is relu(BN(conv(relu(BN(conv(x))))) + skip(x)), skip = identity or 1x1 conv + BN when the
shape changes. At 128 x 128 inputs the four stages give 64, 32, 16 and 8 pixel maps; with ``stem_pool``
(a max pool after the stem, as in ResNet-18) a 256 x 256 input costs about what 128 x 128 costs without. ``cam_layer_name``
names the last stage (``stages.3``); ``embed(x)`` is the pooled feature vector (``feature_dim`` long),
used by self-supervised pretraining and feature + SVM baselines.
"""

from __future__ import annotations

import math

import torch
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
        self.skip = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.skip = nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, stride, bias=False),
                                      nn.BatchNorm2d(out_channels))
        self.act = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.body(x) + self.skip(x))


class SmallResNet(nn.Module):
    """(B, C, H, W) -> logits (B, n_classes); four stages of ``widths`` channels."""

    cam_layer_name = "stages.3"

    def __init__(self, in_channels: int = 1, n_classes: int = 2,
                 widths: tuple[int, ...] | list[int] = (16, 32, 64, 128),
                 blocks: int = 1, dropout: float = 0.2, stem_pool: bool = False, pooling: str = "avg",
                 topk_fraction: float = 0.1):
        super().__init__()
        if pooling not in ("avg", "topk") or (pooling == "topk" and (n_classes != 2 or not 0 < topk_fraction <= 1)):
            raise ValueError(f"SmallResNet: pooling 'avg', or 'topk' with 2 classes and 0 < topk_fraction <= 1; got "
                             f"{pooling!r}, {n_classes} classes, {topk_fraction}")
        if len(widths) != 4 or min(widths) < 1 or blocks < 1:
            raise ValueError(f"SmallResNet: widths needs four positive values and blocks >= 1, "
                             f"got {widths!r}, {blocks}")
        self.init_kwargs = dict(in_channels=in_channels, n_classes=n_classes, widths=[int(w) for w in widths],
                                blocks=blocks, dropout=dropout, stem_pool=bool(stem_pool), pooling=pooling,
                                topk_fraction=float(topk_fraction))
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

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.pooling == "avg":
            return self.head(self.embed(x))  # (B, n_classes)
        evidence = self.head(self.feature_map(x)).flatten(1)  # (B, h * w)
        k = max(1, math.ceil(self.topk_fraction * evidence.shape[1]))
        score = evidence.topk(k, dim=1).values.mean(dim=1, keepdim=True)  # (B, 1)
        return torch.cat([-score / 2, score / 2], dim=1)  # (B, 2)
