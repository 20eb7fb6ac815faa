"""Contours <-> masks, and the Sunnybrook-style contour text file.

Pixel convention: pixel (row r, column c) has its centre at (x=c, y=r); contour points are (x, y)
in those pixel units (sub-pixel values allowed). A pixel belongs to the mask when its centre lies
inside the polygon or on its boundary (scikit-image `polygon2mask`). `mask_to_contour` traces the
0.5 iso-line of the mask (scikit-image `find_contours`, marching squares): it runs half-way between
inside and outside pixel centres, so no pixel centre lies on it and mask -> contour -> mask is exact.
"""

from __future__ import annotations

import os

import numpy as np
from skimage.draw import polygon2mask
from skimage.measure import find_contours

from medinterp_widgets.data.errors import DataFormatError


def _as_points(points_xy: np.ndarray) -> np.ndarray:
    points = np.asarray(points_xy, dtype=float)
    if points.ndim != 2 or points.shape[1] != 2 or len(points) < 3:
        raise ValueError(f"contour needs an (N>=3, 2) array of (x, y) points, got shape {points.shape}")
    if not np.isfinite(points).all():
        raise ValueError("contour points must be finite")
    return points


def contour_to_mask(points_xy: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Filled polygon -> bool mask of ``shape`` (rows, cols); pixels whose centre is inside or on it."""
    points = _as_points(points_xy)
    if len(shape) != 2 or min(shape) < 1:
        raise ValueError(f"shape must be (rows, cols) with positive sizes, got {shape}")
    return polygon2mask(tuple(int(s) for s in shape), points[:, ::-1])  # polygon as (row, col)


def _signed_area_rc(contour_rc: np.ndarray) -> float:
    """Shoelace area of a closed (row, col) path; outer boundaries come out negative from find_contours."""
    r, c = contour_rc[:, 0], contour_rc[:, 1]
    return 0.5 * float(np.sum(r[:-1] * c[1:] - r[1:] * c[:-1]))


def mask_to_contour(mask: np.ndarray, *, all_components: bool = False) -> np.ndarray | list[np.ndarray]:
    """Outer boundary of a 2-D mask as closed (N, 2) float (x, y) points (first point repeated last).

    Returns the largest component's boundary (an empty (0, 2) array for an empty mask), or with
    ``all_components=True`` a list of every outer boundary, largest first. Holes are left out.
    """
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise ValueError(f"mask must be 2-D (rows, cols), got shape {mask.shape}")
    padded = np.pad(mask.astype(bool), 1).astype(np.float32)  # closes boundaries at the image edge
    outer = [c - 1.0 for c in find_contours(padded, 0.5) if _signed_area_rc(c) < 0]  # back to unpadded (row, col)
    outer.sort(key=lambda c: _signed_area_rc(c))  # most negative = largest first
    contours_xy = [c[:, ::-1].copy() for c in outer]  # (row, col) -> (x, y)
    if all_components:
        return contours_xy
    return contours_xy[0] if contours_xy else np.empty((0, 2))


def read_contour_file(path: str | os.PathLike) -> np.ndarray:
    """Text file with one "x y" pair per line -> (N, 2) float (x, y); `DataFormatError` when malformed."""
    path = os.fspath(path)
    try:
        with open(path, encoding="utf-8", errors="strict") as handle:
            lines = handle.read().splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise DataFormatError(path, f"cannot read contour file: {type(error).__name__}: {error}") from error
    points = []
    for number, line in enumerate(lines, start=1):
        fields = line.split()
        if not fields:
            continue
        try:
            x, y = (float(f) for f in fields)
        except ValueError:
            raise DataFormatError(path, f"line {number}: expected two numbers 'x y', got {line.strip()!r}") from None
        if not (np.isfinite(x) and np.isfinite(y)):
            raise DataFormatError(path, f"line {number}: expected finite coordinates, got {line.strip()!r}")
        points.append((x, y))
    if len(points) < 3:
        raise DataFormatError(path, f"expected at least 3 'x y' points for a contour, found {len(points)}")
    return np.asarray(points, dtype=float)
