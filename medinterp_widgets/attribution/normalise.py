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

__all__ = ["NORMALISATIONS", "normalize_maps"]

NORMALISATIONS = (None, "max", "minmax")


def _safe_divide(numerator: Tensor, denominator: Tensor) -> Tensor:
    """numerator / denominator, and 0 where the denominator is 0 (no threshold: tiny maps still scale)."""
    usable = denominator > 0
    safe_denominator = torch.where(usable, denominator, torch.ones_like(denominator))
    return torch.where(usable, numerator / safe_denominator, 0.0)


def normalize_maps(maps: Tensor, mode: str | None = None) -> Tensor:
    """Normalise each sample's map independently; returns a new tensor shaped like ``maps``."""
    if mode is None:
        return maps
    flat = maps.flatten(1)  # (B, N)
    if mode == "max":
        scale = flat.abs().amax(1, keepdim=True)  # (B, 1)
        return _safe_divide(flat, scale).view_as(maps)
    if mode == "minmax":
        low = flat.amin(1, keepdim=True)
        span = flat.amax(1, keepdim=True) - low
        return _safe_divide(flat - low, span).view_as(maps)
    raise ValueError(f"normalize: got {mode!r}, expected one of {NORMALISATIONS}")
