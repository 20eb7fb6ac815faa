"""Localisation of a map against a mask M (the lesion, the organ): how much of the evidence lies inside.

Per sample, for a map h and a binary mask M (nan when M is empty):

- ``pointing_game``: 1 if a maximum of h lies in M, else 0 (Zhang et al. 2018; ties: any maximum counts);
- ``energy_pointing_game``: Σ_{B} h⁺ / Σ h⁺ with B the bounding box of M and h⁺ = max(h, 0)
  (Wang et al., Score-CAM, 2020; nan when Σ h⁺ = 0);
- ``relevance_mass``: Σ_M h / Σ h, raw values (Arras et al. 2022; with ``absolute`` |h|);
- ``overlap``: Σ_M h⁺ / Σ h⁺ (``metrics.heatmap_overlap``), and ``consistent_degree``: |S ∩ M| / |M| with
  S = {minmax(h) ≥ threshold} (``metrics.consistent_degree``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor

from medinterp_widgets.metrics import consistent_degree, heatmap_overlap

__all__ = ["LOCALISATION_KEYS", "localisation", "pointing_game", "energy_pointing_game", "relevance_mass"]

LOCALISATION_KEYS = ("pointing_game", "energy_pointing_game", "relevance_mass", "overlap", "consistent_degree")


def _pair(maps: Any, mask: Any) -> tuple[Tensor, Tensor]:
    """maps (B, *S) as float64 and mask broadcast to it as bool, both on the CPU."""
    maps = torch.as_tensor(maps).detach().double().cpu()
    if maps.dim() < 2:
        raise ValueError(f"maps: got shape {tuple(maps.shape)}, expected (B, *spatial)")
    region = torch.as_tensor(np.asarray(mask) if not isinstance(mask, Tensor) else mask).detach().cpu()
    if region.dim() == maps.dim() + 1 and region.shape[1] == 1:
        region = region[:, 0]  # (B, 1, *S)
    try:
        region = torch.broadcast_to(region != 0, maps.shape)
    except RuntimeError as error:
        raise ValueError(f"mask: shape {tuple(region.shape)} does not fit the maps {tuple(maps.shape)}") from error
    return maps, region


def _nan_where_empty(values: Tensor, region: Tensor) -> np.ndarray:
    values = values.double().clone()
    values[region.flatten(1).sum(1) == 0] = float("nan")
    return values.numpy()


def pointing_game(maps: Any, mask: Any) -> np.ndarray:
    """(B,) 1.0 when a maximum of the map lies inside the mask, else 0.0; nan for an empty mask."""
    maps, region = _pair(maps, mask)
    flat, inside = maps.flatten(1), region.flatten(1)
    hit = ((flat == flat.amax(1, keepdim=True)) & inside).any(1)
    return _nan_where_empty(hit, region)


def _bounding_boxes(region: Tensor) -> Tensor:
    """Each sample's bounding box of the mask as a bool tensor like ``region`` (empty stays empty)."""
    boxes = torch.zeros_like(region)
    for index, sample in enumerate(region):
        coords = torch.nonzero(sample)
        if len(coords):
            low, high = coords.amin(0), coords.amax(0) + 1
            boxes[(index,) + tuple(slice(int(a), int(b)) for a, b in zip(low, high))] = True
    return boxes


def energy_pointing_game(maps: Any, mask: Any) -> np.ndarray:
    """(B,) Σ_box h⁺ / Σ h⁺ with the mask's bounding box; nan for an empty mask or Σ h⁺ = 0."""
    maps, region = _pair(maps, mask)
    positive = maps.clamp_min(0).flatten(1)
    total = positive.sum(1)
    inside = (positive * _bounding_boxes(region).flatten(1)).sum(1)
    return _nan_where_empty(torch.where(total > 0, inside / total, torch.nan), region)


def relevance_mass(maps: Any, mask: Any, *, absolute: bool = False) -> np.ndarray:
    """(B,) Σ_M h / Σ h (raw values, or |h| with ``absolute``); nan for an empty mask or Σ h = 0."""
    maps, region = _pair(maps, mask)
    flat = (maps.abs() if absolute else maps).flatten(1)
    total = flat.sum(1)
    inside = (flat * region.flatten(1)).sum(1)
    return _nan_where_empty(torch.where(total != 0, inside / total, torch.nan), region)


def localisation(maps: Any, mask: Any, *, threshold: float = 0.7, absolute: bool = False) -> dict[str, np.ndarray]:
    """Every measure of the module docstring, ``{key: (B,) array}`` in ``LOCALISATION_KEYS`` order.

    maps: (B, *S); mask: (B, *S), (B, 1, *S) or (*S) (shared by every sample); threshold: the consistent
    degree's support threshold; absolute: relevance mass of |h|.
    """
    maps_t, region = _pair(maps, mask)
    maps_np, region_np = maps_t.numpy(), region.numpy()
    return {
        "pointing_game": pointing_game(maps_t, region),
        "energy_pointing_game": energy_pointing_game(maps_t, region),
        "relevance_mass": relevance_mass(maps_t, region, absolute=absolute),
        "overlap": np.array([heatmap_overlap(h, m) if m.any() else np.nan for h, m in zip(maps_np, region_np)]),
        "consistent_degree": np.array([consistent_degree(h, m, threshold) for h, m in zip(maps_np, region_np)]),
    }

