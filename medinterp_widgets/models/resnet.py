"""SmallResNet: a narrow 2-D ResNet classifier for small data sets (the covid-interp explained model).

    stem: 3x3 conv, stride 2 -> BN -> ReLU                                (B, w0, H/2, W/2)
    stage k (k = 0..3): ``blocks`` basic residual blocks, the first of stages 1..3 with stride 2
    head: global average pool -> dropout -> linear                         (B, n_classes)

A basic block is relu(BN(conv(relu(BN(conv(x))))) + skip(x)), skip = identity or 1x1 conv + BN when the
shape changes. At 128 x 128 inputs the four stages give 64, 32, 16 and 8 pixel maps. ``cam_layer_name``
names the last stage (``stages.3``); ``embed(x)`` is the pooled feature vector (``feature_dim`` long),
used by self-supervised pretraining and feature + SVM baselines.
"""

from __future__ import annotations

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
                 blocks: int = 1, dropout: float = 0.2):
        super().__init__()
        if len(widths) != 4 or min(widths) < 1 or blocks < 1:
            raise ValueError(f"SmallResNet: widths needs four positive values and blocks >= 1, "
                             f"got {widths!r}, {blocks}")
        self.init_kwargs = dict(in_channels=in_channels, n_classes=n_classes, widths=[int(w) for w in widths],
                                blocks=blocks, dropout=dropout)
        self.in_channels = in_channels
        self.stem = nn.Sequential(nn.Conv2d(in_channels, widths[0], 3, 2, 1, bias=False), nn.BatchNorm2d(widths[0]),
                                  nn.ReLU())
        stages, previous = [], widths[0]
        for index, width in enumerate(widths):
            layers = [BasicBlock(previous if b == 0 else width, width, 2 if (index > 0 and b == 0) else 1)
                      for b in range(blocks)]
            stages.append(nn.Sequential(*layers))
            previous = width
        self.stages = nn.Sequential(*stages)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(previous, n_classes))
        self.feature_dim = previous

    @property
    def cam_layer(self) -> nn.Module:
        """The last stage (default Grad-CAM layer: stride 16, 8 x 8 at 128 x 128 input)."""
        return self.get_submodule(self.cam_layer_name)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) -> (B, feature_dim) pooled features of the last stage."""
        check_input(x, self.in_channels, 2, "SmallResNet")
        return torch.flatten(self.pool(self.stages(self.stem(x))), 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.embed(x))  # (B, n_classes)
