"""UNet for the rodent-brain paper (background / WM / GM / CSF), 2-D or 3-D.

Encoder: ``depth`` stages of 2 x (3x3 conv, optional BN, ReLU), max-pool 2 between stages; decoder:
2x2 transposed conv, zero-pad to the skip's size (odd sizes), concatenate the skip, 2 x conv.
Output: (B, n_classes, *spatial) logits at the input size. ``cam_layer`` = the bottleneck stack.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .blocks import check_input, conv_stack, layer


class UNet(nn.Module):
    """U-Net with ``depth`` poolings and ``base_channels * 2**i`` channels at level i."""

    cam_layer_name = "bottleneck"

    def __init__(self, in_channels: int = 1, n_classes: int = 4, base_channels: int = 16, depth: int = 4,
                 dims: int = 2, batch_norm: bool = True):
        super().__init__()
        self.init_kwargs = dict(in_channels=in_channels, n_classes=n_classes, base_channels=base_channels,
                                depth=depth, dims=dims, batch_norm=batch_norm)
        self.in_channels, self.dims = in_channels, dims
        widths = [base_channels * 2**i for i in range(depth + 1)]
        stack: dict[str, Any] = dict(n_convs=2, dims=dims, batch_norm=batch_norm)
        self.encoder = nn.ModuleList(
            conv_stack(c_in, c_out, **stack) for c_in, c_out in zip([in_channels] + widths[:-2], widths[:-1]))
        self.pool = layer("pool", dims)(2)
        self.bottleneck = conv_stack(widths[-2], widths[-1], **stack)
        up = layer("up", dims)
        self.upsamplers = nn.ModuleList(up(widths[i + 1], widths[i], kernel_size=2, stride=2)
                                        for i in reversed(range(depth)))
        self.decoder = nn.ModuleList(conv_stack(2 * widths[i], widths[i], **stack) for i in reversed(range(depth)))
        self.classifier = layer("conv", dims)(widths[0], n_classes, kernel_size=1)

    @property
    def cam_layer(self) -> nn.Module:
        """Default attribution layer: the bottleneck conv stack."""
        return self.bottleneck

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (B, n_classes, *spatial) for x of shape (B, in_channels, *spatial)."""
        check_input(x, self.in_channels, self.dims, "UNet")
        skips = []
        for stage in self.encoder:
            x = stage(x)
            skips.append(x)
            x = self.pool(x)  # (B, C_i, *spatial / 2^(i+1)), floor for odd sizes
        x = self.bottleneck(x)
        for upsample, stage, skip in zip(self.upsamplers, self.decoder, reversed(skips)):
            x = pad_to(upsample(x), skip.shape[2:])  # (B, C_i, *skip spatial)
            x = stage(torch.cat([skip, x], dim=1))  # (B, 2 C_i, ...) -> (B, C_i, ...)
        return self.classifier(x)


def pad_to(x: torch.Tensor, size) -> torch.Tensor:
    """Zero-pad the trailing spatial dims of x (at the end) up to ``size``."""
    padding: list[int] = []
    for current, target in zip(reversed(x.shape[2:]), reversed(tuple(size))):
        padding += [0, int(target) - int(current)]
    return F.pad(x, padding) if any(padding) else x
