"""How much of an attribution map falls inside a mask: heatmap overlap and the "consistent degree".

Sign rule: attribution maps may hold negative values (HiResCAM, gradients); both measures clip them
at 0 first, so only positive evidence counts.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from medinterp_widgets.metrics._arrays import check_same_shape, to_binary_mask, to_numpy


def heatmap_overlap(heatmap: Any, mask: Any) -> float:
    """Fraction of total (positive) attribution inside the mask: Σ h⁺ m / Σ h⁺ with h⁺ = max(h, 0).

    nan when Σ h⁺ = 0 (an all-zero or all-negative map points nowhere).
    """
    heat = np.clip(to_numpy(heatmap, "heatmap").astype(np.float64), 0.0, None)
    region = to_binary_mask(mask, "mask")
    check_same_shape(heat, region, ("heatmap", "mask"))
    total = heat.sum()
    return float(heat[region].sum() / total) if total > 0 else float("nan")


def heatmap_overlap_torch(heatmap: torch.Tensor, mask: torch.Tensor, *, eps: float = 1e-8) -> torch.Tensor:
    """Batched, differentiable overlap Σ h⁺ m / (Σ h⁺ + eps) per sample; the heatmap loss is 1 - this.

    heatmap: (B, *S), mask: (B, *S) or broadcastable to it (soft masks allowed) -> (B,).
    A sample whose map is all zero/negative scores 0 (not nan), so a loss on it stays finite.
    """
    if heatmap.ndim < 2:
        raise ValueError(f"heatmap: expected (B, *spatial), got shape {tuple(heatmap.shape)}")
    positive = heatmap.clamp_min(0)  # (B, *S)
    region = torch.broadcast_to(mask.to(heatmap.dtype), positive.shape)  # (B, *S)
    dims = tuple(range(1, positive.ndim))
    return (positive * region).sum(dim=dims) / (positive.sum(dim=dims) + eps)  # (B,)


def normalize_unit(heatmap: Any) -> np.ndarray:
    """Min-max normalise to [0, 1]: (h - min) / (max - min); a constant map becomes all zeros."""
    heat = to_numpy(heatmap, "heatmap").astype(np.float64)
    if heat.size == 0:
        return heat
    low, high = heat.min(), heat.max()
    return (heat - low) / (high - low) if high > low else np.zeros_like(heat)


normalise_unit = normalize_unit  # the former spelling, kept as an alias


def consistent_degree(heatmap: Any, lesion: Any, threshold: float = 0.7) -> float:
    """COVID-CT "consistent degree": |S ∩ L| / |L| with support S = {normalize_unit(h) >= threshold}.

    The fraction of the lesion covered by the map's high-attribution region. nan for an empty
    lesion; a constant map has no support region and scores 0.
    """
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"threshold: expected a value in [0, 1], got {threshold}")
    heat = to_numpy(heatmap, "heatmap")
    region = to_binary_mask(lesion, "lesion")
    check_same_shape(heat, region, ("heatmap", "lesion"))
    lesion_size = np.count_nonzero(region)
    if lesion_size == 0:
        return float("nan")
    unit = normalize_unit(heat)
    support = (unit >= threshold) & (unit > 0)  # a constant (all-zero) map supports nothing
    return float(np.count_nonzero(support & region) / lesion_size)
