"""GapFCN: the LV paper's interpretable fully-convolutional net with a global-average-pooled context.

Encoder: ``depth`` VGG-style stages of ``convs_per_stage`` x (3x3 conv, optional BN, ReLU), each
followed by 2x2 max-pooling that keeps its indices. Bottleneck: one more conv stack whose output A
(B, K, h, w) is the CAM feature map. GAP(A) -> context vector (B, K), broadcast back to (B, K, h, w)
and concatenated with A, fused by a 1x1 conv, then decoded by max-unpooling with the saved indices
(or bilinear upsampling) + conv stacks to a per-pixel output (B, n_classes, H, W).

CAM (for the attribution engine): ``model.cam_layer`` (module name ``model.cam_layer_name`` =
"bottleneck") produces A; ``model.cam_head`` is the linear layer on GAP(A) giving image-level logits
(B, n_classes) "is class c present". CAM_c = sum_k w_{c,k} A_k with w = ``cam_head.weight``.
``forward_with_image_logits`` returns both outputs so a trainer can put a loss on the image logits.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .blocks import check_input, conv_stack


class GapFCN(nn.Module):
    """Interpretable FCN for 2-class (background / LV) segmentation; see the module docstring."""

    cam_layer_name = "bottleneck"

    def __init__(self, in_channels: int = 1, n_classes: int = 2, base_channels: int = 64, depth: int = 4,
                 convs_per_stage: int = 3, batch_norm: bool = True, upsampling: str = "unpool",
                 max_channels: int = 512):
        super().__init__()
        if upsampling not in ("unpool", "bilinear"):
            raise ValueError(f"GapFCN upsampling: expected 'unpool' or 'bilinear', got {upsampling!r}")
        self.init_kwargs = dict(in_channels=in_channels, n_classes=n_classes, base_channels=base_channels,
                                depth=depth, convs_per_stage=convs_per_stage, batch_norm=batch_norm,
                                upsampling=upsampling, max_channels=max_channels)
        self.in_channels, self.upsampling = in_channels, upsampling
        widths = [min(base_channels * 2**i, max_channels) for i in range(depth + 1)]
        stage = dict(n_convs=convs_per_stage, batch_norm=batch_norm)
        self.encoder = nn.ModuleList(
            conv_stack(c_in, c_out, **stage) for c_in, c_out in zip([in_channels] + widths[:-2], widths[:-1]))
        self.pool = nn.MaxPool2d(2, return_indices=True)
        self.bottleneck = conv_stack(widths[-2], widths[-1], **stage)
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.cam_head = nn.Linear(widths[-1], n_classes)
        self.fuse = conv_stack_1x1(2 * widths[-1], widths[-2], batch_norm)
        self.unpool = nn.MaxUnpool2d(2)
        self.decoder = nn.ModuleList(
            conv_stack(widths[i], widths[max(i - 1, 0)], **stage) for i in reversed(range(depth)))
        self.classifier = nn.Conv2d(widths[0], n_classes, kernel_size=1)

    @property
    def cam_layer(self) -> nn.Module:
        """The module whose output A feeds GAP -> ``cam_head`` (CAM feature layer)."""
        return self.bottleneck

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Per-pixel logits (B, n_classes, H, W)."""
        return self.forward_with_image_logits(x)[0]

    def forward_with_image_logits(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(segmentation logits (B, n_classes, H, W), image logits (B, n_classes) from cam_head(GAP(A)))."""
        check_input(x, self.in_channels, 2, "GapFCN")
        skips = []  # (pre-pool size, indices) per stage
        for stage in self.encoder:
            x = stage(x)
            pooled, indices = self.pool(x)
            skips.append((x.shape[-2:], indices))
            x = pooled  # (B, C_i, H/2^(i+1), W/2^(i+1))
        features = self.bottleneck(x)  # A: (B, K, h, w)
        context = self.gap(features)  # (B, K, 1, 1)
        image_logits = self.cam_head(context.flatten(1))  # (B, n_classes)
        x = torch.cat([features, context.expand_as(features)], dim=1)  # (B, 2K, h, w)
        x = self.fuse(x)  # (B, C_last, h, w)
        for stage, (size, indices) in zip(self.decoder, reversed(skips)):
            x = self._upsample(x, indices, size)  # (B, C_i, H_i, W_i)
            x = stage(x)
        return self.classifier(x), image_logits  # (B, n_classes, H, W), (B, n_classes)

    def _upsample(self, x: torch.Tensor, indices: torch.Tensor, size) -> torch.Tensor:
        if self.upsampling == "unpool":
            return self.unpool(x, indices, output_size=size)
        return F.interpolate(x, size=tuple(size), mode="bilinear", align_corners=False)


def conv_stack_1x1(in_channels: int, out_channels: int, batch_norm: bool) -> nn.Sequential:
    """1x1 conv (+BN) + ReLU that fuses the feature map with its broadcast context vector."""
    modules: list[nn.Module] = [nn.Conv2d(in_channels, out_channels, kernel_size=1, bias=not batch_norm)]
    if batch_norm:
        modules.append(nn.BatchNorm2d(out_channels))
    modules.append(nn.ReLU())
    return nn.Sequential(*modules)
