"""Per-sample normalisation of attribution maps (B, *spatial). Never inverts a map.

- None: raw values.
- "max": ``m / max|m|`` per sample (for non-negative maps this is ``m / max m``; the sign is kept).
- "minmax": ``(m - min m) / (max m - min m)`` per sample, in [0, 1].
A constant (or all-zero) map normalises to zeros, never NaN; tiny but non-constant maps still
scale to full range. Differentiable.
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["NORMALISATIONS", "NORMALIZATIONS", "divide_or_zero", "normalize_maps"]

NORMALIZATIONS = (None, "max", "minmax")
NORMALISATIONS = NORMALIZATIONS  # the former spelling, kept as an alias


def divide_or_zero(numerator: Tensor, denominator: Tensor) -> Tensor:
    """numerator / denominator, and 0 where the denominator is exactly 0 (no NaN, also in backward).

    A zero denominator is replaced by +inf: a finite numerator over it gives 0 and both partial
    derivatives there are 0 (1/inf and -n/inf^2), in three passes over the data.
    """
    return numerator / torch.where(denominator != 0, denominator, torch.inf)


def normalize_maps(maps: Tensor, mode: str | None = None) -> Tensor:
    """Normalise each sample's map independently; returns a new tensor shaped like ``maps``."""
    if mode is None:
        return maps
    flat = maps.flatten(1)  # (B, N)
    if mode == "max":
        scale = flat.abs().amax(1, keepdim=True)  # (B, 1)
        return divide_or_zero(flat, scale).view_as(maps)
    if mode == "minmax":
        low = flat.amin(1, keepdim=True)
        span = flat.amax(1, keepdim=True) - low
        return divide_or_zero(flat - low, span).view_as(maps)
    raise ValueError(f"normalize: got {mode!r}, expected one of {NORMALIZATIONS}")
