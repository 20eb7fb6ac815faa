"""Contour distances between 2-D segmentations in millimetres: APD (Sunnybrook) and Hausdorff.

Contours are the sub-pixel iso-0.5 lines of each mask (``skimage.measure.find_contours`` on the
zero-padded mask, so objects touching the border still give closed contours; holes and several
components contribute all their contours). Coordinates are scaled by the pixel spacing (dy, dx) in
mm *before* measuring, so anisotropic pixels are exact. Distances are from each contour vertex to the
nearest point on the other contour's polyline (perpendicular foot on a segment, or its end).

Empty rule: when either mask is empty there is no contour to measure to, and the result is nan
(the Sunnybrook evaluation only scores slices where both contours exist; count those separately).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from skimage import measure

from medinterp_widgets.metrics._arrays import check_same_shape, to_binary_mask, to_numpy

_CHUNK = 512  # contour points per broadcast block: bounds memory at _CHUNK x segments x 2 floats


def _spacing_pair(spacing: Any) -> np.ndarray:
    """(dy, dx) in mm from one number or a pair; ValueError unless both are positive and finite."""
    values = np.asarray(spacing, dtype=np.float64)
    if values.ndim == 0:
        values = np.repeat(values, 2)
    if values.shape != (2,) or not np.all(values > 0) or not np.all(np.isfinite(values)):
        raise ValueError(f"spacing: expected one positive number or (dy, dx) in mm, got {spacing!r}")
    return values


def mask_contours(mask: Any) -> list[np.ndarray]:
    """Closed sub-pixel contours of a 2-D binary mask, each (K, 2) in (row, col) pixel coordinates."""
    region = to_binary_mask(mask, "mask")
    if region.ndim != 2:
        raise ValueError(f"mask: expected a 2-D mask (one slice), got shape {region.shape}")
    padded = np.pad(region.astype(np.float64), 1)  # (H+2, W+2): closes contours at the border
    return [contour - 1.0 for contour in measure.find_contours(padded, 0.5)]


def _segments(contours: list[np.ndarray], closed: bool) -> tuple[np.ndarray, np.ndarray]:
    """Start and end points (S, 2) of every segment of the polylines."""
    starts, ends = [], []
    for contour in contours:
        if closed and len(contour) > 1 and not np.array_equal(contour[0], contour[-1]):
            contour = np.vstack([contour, contour[:1]])
        if len(contour) == 1:
            contour = np.vstack([contour, contour])  # a single point: a zero-length segment
        starts.append(contour[:-1])
        ends.append(contour[1:])
    return np.concatenate(starts), np.concatenate(ends)


def point_to_contour_distances(points: Any, contours: list[Any], spacing: Any, *,
                               closed: bool = True) -> np.ndarray:
    """Distance (mm) from each point (N, 2) (row, col) to the nearest point of the polylines.

    For segment a->b and point p: t = clip(((p - a)·(b - a)) / |b - a|², 0, 1), d = |p - (a + t (b - a))|,
    all in mm after scaling rows by dy and columns by dx. ``closed`` joins each polyline's ends.
    """
    scale = _spacing_pair(spacing)
    query = to_numpy(points, "points").astype(np.float64).reshape(-1, 2) * scale  # (N, 2) mm
    paths = [to_numpy(c, "contours").astype(np.float64).reshape(-1, 2) * scale for c in contours]
    if not paths or not any(len(path) for path in paths):
        raise ValueError("contours: expected at least one polyline with a point")
    starts, ends = _segments([path for path in paths if len(path)], closed)  # (S, 2) each
    direction = ends - starts  # (S, 2)
    length2 = np.einsum("sk,sk->s", direction, direction)  # (S,)
    safe_length2 = np.where(length2 > 0, length2, 1.0)
    distances = np.empty(len(query))
    for first in range(0, len(query), _CHUNK):
        block = query[first:first + _CHUNK, None, :]  # (P, 1, 2)
        offset = block - starts  # (P, S, 2)
        t = np.clip(np.einsum("psk,sk->ps", offset, direction) / safe_length2, 0.0, 1.0)  # (P, S)
        gap = offset - t[..., None] * direction  # (P, S, 2)
        distances[first:first + _CHUNK] = np.sqrt(np.einsum("psk,psk->ps", gap, gap).min(axis=1))
    return distances


def _directed(pred: Any, truth: Any, spacing: Any) -> tuple[np.ndarray, np.ndarray] | None:
    """Distances pred-contour -> truth-contour and back (mm), or None when a mask is empty."""
    pred_mask = to_binary_mask(pred, "pred")
    truth_mask = to_binary_mask(truth, "truth")
    check_same_shape(pred_mask, truth_mask, ("pred", "truth"))
    _spacing_pair(spacing)
    if not pred_mask.any() or not truth_mask.any():
        return None
    pred_contours, truth_contours = mask_contours(pred_mask), mask_contours(truth_mask)
    forward = point_to_contour_distances(np.concatenate(pred_contours), truth_contours, spacing)
    backward = point_to_contour_distances(np.concatenate(truth_contours), pred_contours, spacing)
    return forward, backward


def average_perpendicular_distance(pred: Any, truth: Any, spacing: Any, *,
                                   symmetric: bool = False) -> float:
    """APD (mm): mean over the predicted contour's points of the distance to the expert contour.

    ``spacing``: (dy, dx) in mm, or one number; required, so pixels are never taken for mm.
    ``symmetric`` averages both directions' point distances together instead. nan when either
    mask is empty (module docstring).
    """
    directed = _directed(pred, truth, spacing)
    if directed is None:
        return float("nan")
    forward, backward = directed
    return float(np.concatenate([forward, backward]).mean() if symmetric else forward.mean())


def hausdorff_distance(pred: Any, truth: Any, spacing: Any, *, percentile: float = 100.0) -> float:
    """Symmetric Hausdorff distance (mm) between the two contours: max of both directed maxima.

    ``percentile`` < 100 gives the robust variant (e.g. 95: HD95, the percentile of each direction's
    distances). nan when either mask is empty.
    """
    if not 0.0 < percentile <= 100.0:
        raise ValueError(f"percentile: expected a value in (0, 100], got {percentile}")
    directed = _directed(pred, truth, spacing)
    if directed is None:
        return float("nan")
    return float(max(np.percentile(d, percentile) for d in directed))
