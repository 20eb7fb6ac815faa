"""GapFCN: the LV paper's interpretable fully-convolutional net with a global-average-pooled context.

Encoder: ``depth`` VGG-style stages of ``convs_per_stage`` x (3x3 conv, optional BN, ReLU), each
followed by 2x2 max-pooling that keeps its indices. Bottleneck: one more conv stack whose output A
(B, K, h, w) is the CAM feature map.

GAP context block (ParseNet-style, as the paper describes it): the context vector g = GAP(A) (B, K)
is normalised, "unpooled" (broadcast) back to (B, K, h, w) and concatenated with the normalised local
features, then fused by a 1x1 conv and decoded by max-unpooling with the saved indices (or bilinear
upsampling) + conv stacks to per-pixel logits (B, n_classes, H, W).

Normalisation (``context_norm="l2"``): L2 over channels with a learned per-channel scale, as in
ParseNet, on both branches: v / ||v||_2 * gamma (per pixel for A, per image for g). g averages h x w
activations, so its magnitude differs from a single pixel's feature vector and drifts with image
content; without normalisation whichever branch is larger dominates the fuse layer's gradients.
L2 puts both on the unit sphere and gamma (initialised to sqrt(K), so each element starts at unit RMS,
the scale BatchNorm'd activations have) lets training re-weight them. ``"none"`` concatenates raw.

CAM (Eq. 2 of the paper): CAM_c(x, y) = sum_k w_{c,k} A_k(x, y), with w = ``cam_head.weight`` the
classifier on the context vector g = GAP(A) (image logits z_c = w_c . g + b_c = mean_{x,y} CAM_c + b_c).
``model.cam_layer`` / ``cam_layer_name`` = "bottleneck" produce A for the attribution engine;
``forward(x, with_cam=True)`` returns segmentation logits, image logits and the CAM logits
(CAM_c + b_c, (B, C, h, w)) from the same forward, so a loss on the CAM head runs through the
(possibly DistributedDataParallel-wrapped) module call and its gradients are all-reduced.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from .blocks import check_input, conv_stack

CONTEXT_NORMS = ("l2", "none")


class GapOutput(NamedTuple):
    """``forward(x, with_cam=True)``: (B, C, H, W) pixel logits, (B, C) image logits, (B, C, h, w) CAM logits."""

    segmentation: torch.Tensor
    image_logits: torch.Tensor
    cam_logits: torch.Tensor


class L2Norm(nn.Module):
    """y = x / max(||x||_2 over dim 1, eps) * gamma (per channel, learned; ParseNet's normalisation)."""

    def __init__(self, channels: int, init_scale: float | None = None, eps: float = 1e-6):
        super().__init__()
        self.eps = eps
        self.scale = nn.Parameter(torch.full((channels,), init_scale or math.sqrt(channels)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = (1, -1) + (1,) * (x.dim() - 2)
        return F.normalize(x, p=2.0, dim=1, eps=self.eps) * self.scale.view(shape)


class GapFCN(nn.Module):
    """Interpretable FCN for 2-class (background / LV) segmentation; see the module docstring."""

    cam_layer_name = "bottleneck"

    def __init__(self, in_channels: int = 1, n_classes: int = 2, base_channels: int = 64, depth: int = 4,
                 convs_per_stage: int = 3, batch_norm: bool = True, upsampling: str = "unpool",
                 max_channels: int = 512, context_norm: str = "l2"):
        super().__init__()
        if upsampling not in ("unpool", "bilinear"):
            raise ValueError(f"GapFCN upsampling: expected 'unpool' or 'bilinear', got {upsampling!r}")
        if context_norm not in CONTEXT_NORMS:
            raise ValueError(f"GapFCN context_norm: expected one of {CONTEXT_NORMS}, got {context_norm!r}")
        self.init_kwargs = dict(in_channels=in_channels, n_classes=n_classes, base_channels=base_channels,
                                depth=depth, convs_per_stage=convs_per_stage, batch_norm=batch_norm,
                                upsampling=upsampling, max_channels=max_channels, context_norm=context_norm)
        self.in_channels, self.upsampling = in_channels, upsampling
        widths = [min(base_channels * 2**i, max_channels) for i in range(depth + 1)]
        stage: dict[str, Any] = dict(n_convs=convs_per_stage, batch_norm=batch_norm)
        self.encoder = nn.ModuleList(
            conv_stack(c_in, c_out, **stage) for c_in, c_out in zip([in_channels] + widths[:-2], widths[:-1]))
        self.pool = nn.MaxPool2d(2, return_indices=True)
        self.bottleneck = conv_stack(widths[-2], widths[-1], **stage)
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.cam_head = nn.Linear(widths[-1], n_classes)
        normalise = context_norm == "l2"
        self.local_norm = L2Norm(widths[-1]) if normalise else nn.Identity()
        self.context_norm = L2Norm(widths[-1]) if normalise else nn.Identity()
        self.fuse = conv_stack_1x1(2 * widths[-1], widths[-2], batch_norm)
        self.unpool = nn.MaxUnpool2d(2)
        self.decoder = nn.ModuleList(
            conv_stack(widths[i], widths[max(i - 1, 0)], **stage) for i in reversed(range(depth)))
        self.classifier = nn.Conv2d(widths[0], n_classes, kernel_size=1)

    @property
    def cam_layer(self) -> nn.Module:
        """The module whose output A feeds GAP -> ``cam_head`` (CAM feature layer)."""
        return self.bottleneck

    def forward(self, x: torch.Tensor, with_cam: bool = False) -> torch.Tensor | GapOutput:
        """Per-pixel logits (B, n_classes, H, W); with ``with_cam`` a ``GapOutput`` (module docstring)."""
        check_input(x, self.in_channels, 2, "GapFCN")
        skips = []  # (pre-pool size, indices) per stage
        for stage in self.encoder:
            x = stage(x)
            pooled, indices = self.pool(x)
            skips.append((x.shape[-2:], indices))
            x = pooled  # (B, C_i, H/2^(i+1), W/2^(i+1))
        features = self.bottleneck(x)  # A: (B, K, h, w)
        context = self.gap(features)  # g: (B, K, 1, 1)
        image_logits = self.cam_head(context.flatten(1))  # (B, n_classes)
        unpooled = self.context_norm(context).expand_as(features)  # (B, K, h, w)
        x = self.fuse(torch.cat([self.local_norm(features), unpooled], dim=1))  # (B, 2K, h, w) -> (B, C_last, h, w)
        for stage, (size, indices) in zip(self.decoder, reversed(skips)):
            x = self._upsample(x, indices, size)  # (B, C_i, H_i, W_i)
            x = stage(x)
        segmentation = self.classifier(x)  # (B, n_classes, H, W)
        if not with_cam:
            return segmentation
        cam_logits = F.conv2d(features, self.cam_head.weight[:, :, None, None], self.cam_head.bias)  # (B, C, h, w)
        return GapOutput(segmentation, image_logits, cam_logits)

    def forward_with_image_logits(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(segmentation logits (B, n_classes, H, W), image logits (B, n_classes) from cam_head(GAP(A)))."""
        output = self.forward(x, with_cam=True)
        assert isinstance(output, GapOutput)
        return output.segmentation, output.image_logits

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
