"""Shared drawing helpers for the synthetic phantoms: ellipses/ellipsoids, rings, smooth noise, bias fields.

Every helper is a pure function of its arguments; randomness only comes from a ``np.random.Generator``
passed in by the caller, so a generator seeded once makes a whole phantom reproducible.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import ndimage


def normalized_radius(
    shape: Sequence[int],
    center: Sequence[float] | np.ndarray,
    radii: Sequence[float] | np.ndarray,
    angle: float = 0.0,
) -> np.ndarray:
    """Ellipse(-oid) "radius" field ``r = sqrt(sum_i ((p_i - c_i) / a_i)^2)`` over a pixel grid.

    ``r <= 1`` is the inside of the ellipse with centre ``center`` and semi-axes ``radii`` (pixels,
    array order). ``angle`` (radians) rotates the ellipse in the last two axes (the y-x plane).
    """
    if not (len(shape) == len(center) == len(radii)):
        raise ValueError(f"shape {tuple(shape)}, center {tuple(center)} and radii {tuple(radii)} need equal lengths")
    coords = [np.arange(n, dtype=np.float32) - np.float32(c) for n, c in zip(shape, center)]
    grids = list(np.meshgrid(*coords, indexing="ij", sparse=True))
    if angle:
        cos, sin = np.float32(np.cos(angle)), np.float32(np.sin(angle))
        y, x = grids[-2], grids[-1]
        grids[-2], grids[-1] = cos * y - sin * x, sin * y + cos * x  # rotate into the ellipse frame
    total = np.zeros(tuple(shape), dtype=np.float32)
    for grid, radius in zip(grids, radii):
        total = total + (grid / np.float32(max(radius, 1e-3))) ** 2
    return np.sqrt(total)


def ellipse(shape: Sequence[int], center: Sequence[float] | np.ndarray, radii: Sequence[float] | np.ndarray,
            angle: float = 0.0) -> np.ndarray:
    """Boolean mask of a filled ellipse (2-D) or ellipsoid (3-D)."""
    return normalized_radius(shape, center, radii, angle) <= 1.0


def smooth_noise(rng: np.random.Generator, shape: Sequence[int], sigma: float) -> np.ndarray:
    """Gaussian-filtered white noise rescaled to zero mean and unit standard deviation (float32)."""
    field = ndimage.gaussian_filter(rng.standard_normal(tuple(shape)).astype(np.float32), sigma)
    std = float(field.std())
    return (field - field.mean()) / (std if std > 0 else 1.0)


def bias_field(rng: np.random.Generator, shape: Sequence[int], strength: float, coarse: int = 4) -> np.ndarray:
    """Smooth multiplicative field ``exp(strength * g)``, ``g`` in [-1, 1] a cubic upsampling of a coarse grid.

    ``strength`` ~0.2 gives a +-20 % coil-like shading; the field is positive and varies slowly.
    """
    grid = rng.uniform(-1.0, 1.0, size=(coarse,) * len(shape)).astype(np.float32)
    factors = [n / coarse for n in shape]
    field = ndimage.zoom(grid, factors, order=3, mode="nearest", grid_mode=True)
    field = np.clip(field[tuple(slice(0, n) for n in shape)], -1.0, 1.0)  # no cubic overshoot
    return np.exp(np.float32(strength) * field).astype(np.float32)


def soften(image: np.ndarray, sigma: float) -> np.ndarray:
    """Point-spread blur: a Gaussian filter (returns a new float32 array)."""
    return ndimage.gaussian_filter(np.asarray(image, dtype=np.float32), sigma)


def rician_noise(rng: np.random.Generator, image: np.ndarray, sigma: float) -> np.ndarray:
    """Magnitude-MR noise: ``|image + n1 + i n2|`` with ``n1, n2 ~ N(0, sigma^2)`` (float32)."""
    real = image + rng.normal(0.0, sigma, image.shape).astype(np.float32)
    imag = rng.normal(0.0, sigma, image.shape).astype(np.float32)
    return np.hypot(real, imag).astype(np.float32)


def fuzzy_blob(
    shape: Sequence[int],
    center: Sequence[float],
    radii: Sequence[float],
    rng: np.random.Generator,
    angle: float = 0.0,
    roughness: float = 0.25,
) -> np.ndarray:
    """Soft blob weight in [0, 1]: an ellipse with an irregular, noisy border and a smooth fall-off.

    ``w = clip(1.5 - r - roughness * n, 0, 1)`` smoothed, ``r`` the normalized radius, ``n`` smooth noise.
    """
    radius = normalized_radius(shape, center, radii, angle)
    noise = smooth_noise(rng, shape, sigma=max(1.0, min(radii) / 2.0))
    weight = np.clip(1.5 - radius - roughness * noise, 0.0, 1.0)
    return soften(weight, max(0.5, min(radii) / 4.0))


def window_preset(name: str, center: float, width: float) -> dict:
    """One window/level preset in the ``Volume.metadata["windows"]`` format."""
    return {"name": name, "center": float(center), "width": float(width)}


def window_to_unit(image: np.ndarray, center: float, width: float) -> np.ndarray:
    """Window/level to float32 in [0, 1]: ``clip((v - (c - w/2)) / w, 0, 1)``."""
    low = center - width / 2.0
    return np.clip((np.asarray(image, dtype=np.float32) - low) / np.float32(width), 0.0, 1.0)
