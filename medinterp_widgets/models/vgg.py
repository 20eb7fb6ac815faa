"""VGGClassifier: VGG-style conv stacks + a small head, for the heatmap-loss paper.

``cfg`` lists channel multipliers of ``width`` with "M" for 2x2 max-pooling ("vgg16", "vgg11",
"tiny"), or a custom list. Head "gap": GAP -> dropout -> linear; head "fc": adaptive-avg-pool to
``fc_pool`` x ``fc_pool`` -> flatten -> FC(hidden) -> ReLU -> dropout -> linear.
Default Grad-CAM layer ``cam_layer``: the ReLU after the last conv (module name ``cam_layer_name``).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from .blocks import check_input

CONFIGS: dict[str, list] = {
    "vgg16": [1, 1, "M", 2, 2, "M", 4, 4, 4, "M", 8, 8, 8, "M", 8, 8, 8, "M"],
    "vgg11": [1, "M", 2, "M", 4, 4, "M", 8, 8, "M", 8, 8, "M"],
    "tiny": [1, "M", 2, "M", 4],
}


def build_features(in_channels: int, width: int, cfg: list, batch_norm: bool) -> nn.Sequential:
    """Conv(3x3) [+BN] + ReLU for each multiplier m (m * width channels), MaxPool2d(2) for each 'M'."""
    modules: list[nn.Module] = []
    channels = in_channels
    for item in cfg:
        if item == "M":
            modules.append(nn.MaxPool2d(2))
            continue
        out = int(item) * width
        modules.append(nn.Conv2d(channels, out, kernel_size=3, padding=1, bias=not batch_norm))
        if batch_norm:
            modules.append(nn.BatchNorm2d(out))
        modules.append(nn.ReLU())
        channels = out
    return nn.Sequential(*modules)


class VGGClassifier(nn.Module):
    """VGG-like image classifier (B, C, H, W) -> logits (B, n_classes)."""

    def __init__(self, in_channels: int = 1, n_classes: int = 4, width: int = 64, cfg: str | list = "vgg16",
                 batch_norm: bool = True, head: str = "gap", hidden: int = 256, fc_pool: int = 4,
                 dropout: float = 0.5):
        super().__init__()
        if isinstance(cfg, str) and cfg not in CONFIGS:
            raise ValueError(f"VGGClassifier cfg: expected one of {sorted(CONFIGS)} or a list, got {cfg!r}")
        if head not in ("gap", "fc"):
            raise ValueError(f"VGGClassifier head: expected 'gap' or 'fc', got {head!r}")
        self.init_kwargs: dict[str, Any] = dict(in_channels=in_channels, n_classes=n_classes, width=width, cfg=cfg,
                                                batch_norm=batch_norm, head=head, hidden=hidden, fc_pool=fc_pool,
                                                dropout=dropout)
        self.in_channels = in_channels
        layers = CONFIGS[cfg] if isinstance(cfg, str) else list(cfg)
        self.features = build_features(in_channels, width, layers, batch_norm)
        channels = int([m for m in layers if m != "M"][-1]) * width
        relus = [name for name, m in self.features.named_children() if isinstance(m, nn.ReLU)]
        self.cam_layer_name = f"features.{relus[-1]}"
        if head == "gap":
            self.pool = nn.AdaptiveAvgPool2d(1)
            self.classifier = nn.Sequential(nn.Flatten(), nn.Dropout(dropout), nn.Linear(channels, n_classes))
        else:
            self.pool = nn.AdaptiveAvgPool2d(fc_pool)
            self.classifier = nn.Sequential(
                nn.Flatten(), nn.Linear(channels * fc_pool**2, hidden), nn.ReLU(), nn.Dropout(dropout),
                nn.Linear(hidden, n_classes))

    @property
    def cam_layer(self) -> nn.Module:
        """The ReLU after the last conv layer (default Grad-CAM / HiResCAM layer)."""
        return self.get_submodule(self.cam_layer_name)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(x, self.in_channels, 2, "VGGClassifier")
        x = self.features(x)  # (B, K, H / 2^n_pools, W / 2^n_pools)
        return self.classifier(self.pool(x))  # (B, n_classes)
