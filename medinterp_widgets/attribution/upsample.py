"""Upsample layer-resolution maps to the input size: linear / bilinear / trilinear, align_corners=False."""

from __future__ import annotations

from typing import Sequence

import torch.nn.functional as F
from torch import Tensor

__all__ = ["upsample_maps"]

_MODES = {1: "linear", 2: "bilinear", 3: "trilinear"}


def upsample_maps(maps: Tensor, size: Sequence[int]) -> Tensor:
    """(B, *S) -> (B, *size); returned unchanged when the size already matches."""
    size = tuple(int(s) for s in size)
    if tuple(maps.shape[1:]) == size:
        return maps
    mode = _MODES.get(len(size))
    if mode is None:
        raise ValueError(f"upsample: {len(size)} spatial dims, expected 1, 2 or 3")
    resized = F.interpolate(maps.unsqueeze(1), size=size, mode=mode, align_corners=False)  # (B, 1, *size)
    return resized.squeeze(1)
