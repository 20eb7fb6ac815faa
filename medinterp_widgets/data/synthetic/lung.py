"""Synthetic axial chest CT in Hounsfield units with ground-glass / consolidation lesions.

One slice at the level of the carina: body ellipse (fat ring -100 HU, soft tissue ~40 HU), ribs and
a vertebra (bone ~700 HU), mediastinum with heart, aorta and trachea, two lungs (~-850 HU) with
branching vessels, and fuzzy lesions inside the lungs, mostly peripheral: ground-glass opacities
(GGO, -600..-300 HU) and, with probability ``consolidation_prob``, consolidations (-100..30 HU).
Lesion mask ids follow the MedSeg set: 0 background, 1 ground-glass, 2 consolidation.
"""

from __future__ import annotations

import cv2
import numpy as np
from scipy import ndimage

from medinterp_widgets.data.synthetic.shapes import (
    ellipse,
    fuzzy_blob,
    normalized_radius,
    smooth_noise,
    soften,
    window_preset,
    window_to_unit,
)
from medinterp_widgets.data.volume import Volume

LESION_LABELS = {0: "background", 1: "ground-glass opacity", 2: "consolidation"}
LUNG_WINDOW = (-600.0, 1500.0)
MEDIASTINUM_WINDOW = (40.0, 400.0)
_HU = {"air": -1000.0, "lung": -850.0, "fat": -100.0, "soft": 40.0, "blood": 45.0, "bone": 700.0}
_FOV_MM = 360.0


def _thorax(shape: tuple[int, int], rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """HU image of the thorax without vessels/lesions, the lung mask and the body mask."""
    size = shape[0]
    centre = np.array([0.52, 0.5]) * size + rng.uniform(-0.02, 0.02, 2) * size
    body_radii = np.array([0.31, 0.43]) * size * rng.uniform(0.92, 1.05, 2)
    body_rho = normalized_radius(shape, centre, body_radii)
    image = np.full(shape, _HU["air"], np.float32)
    image[body_rho <= 1] = _HU["fat"]
    image[body_rho <= 0.9] = _HU["soft"]
    lungs = np.zeros(shape, bool)
    for side in (-1.0, 1.0):
        lung_centre = centre + np.array([-0.02, side * 0.19]) * size
        lungs |= ellipse(shape, lung_centre, np.array([0.24, 0.15]) * size * rng.uniform(0.92, 1.05, 2))
    heart = ellipse(shape, centre + np.array([-0.08, 0.05]) * size, np.array([0.12, 0.11]) * size, angle=0.5)
    spine_centre = centre + np.array([0.21, 0.0]) * size
    mediastinum = ellipse(shape, centre + np.array([0.02, 0.0]) * size, np.array([0.3, 0.065]) * size)
    lungs &= ~heart & ~mediastinum & ~ellipse(shape, spine_centre, np.array([0.09, 0.09]) * size)
    lungs &= body_rho <= 0.86
    image[lungs] = _HU["lung"]
    image[heart] = _HU["blood"]
    image[ellipse(shape, centre + np.array([0.12, 0.06]) * size, np.array([0.035, 0.035]) * size)] = _HU["blood"]
    image[ellipse(shape, centre + np.array([0.02, 0.0]) * size, np.array([0.028, 0.03]) * size)] = _HU["air"]
    _draw_bones(image, shape, centre, body_radii, spine_centre, rng)
    return image, lungs, body_rho <= 1


def _draw_bones(image, shape, centre, body_radii, spine_centre, rng: np.random.Generator) -> None:
    """Paint a vertebra (cortex, marrow, spinal canal) and a ring of rib cross-sections in place."""
    size = shape[0]
    vertebra = normalized_radius(shape, spine_centre, np.array([0.045, 0.05]) * size)
    image[vertebra <= 1] = _HU["bone"]
    image[vertebra <= 0.75] = 250.0  # cancellous bone
    image[ellipse(shape, spine_centre + np.array([0.07, 0.0]) * size, np.array([0.022, 0.022]) * size)] = 20.0
    for angle in np.linspace(0, 2 * np.pi, 14, endpoint=False) + rng.uniform(-0.1, 0.1):
        rib_centre = centre + 0.88 * body_radii * np.array([np.sin(angle), np.cos(angle)])
        image[ellipse(shape, rib_centre, np.array([0.012, 0.02]) * size, angle=angle)] = _HU["bone"]


def _branch(canvas: np.ndarray, start: np.ndarray, heading: float, length: float, width: int, depth: int, rng) -> None:
    """Draw one vessel segment, then recurse into two thinner, shorter children at random angles."""
    end = start + length * np.array([np.sin(heading), np.cos(heading)])
    cv2.line(canvas, (int(start[1]), int(start[0])), (int(end[1]), int(end[0])), 1.0, thickness=width)
    if depth > 0:
        for turn in (-1.0, 1.0):
            child = heading + turn * rng.uniform(0.25, 0.6)
            _branch(canvas, end, child, length * rng.uniform(0.6, 0.8), max(1, width - 1), depth - 1, rng)


def _vessels(shape: tuple[int, int], lungs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Vessel weight in [0, 1]: branching trees fanning out from each hilum, plus vessel cross-sections."""
    size = shape[0]
    canvas = np.zeros(shape, np.float32)
    ys, xs = np.nonzero(lungs)
    if ys.size == 0:
        return canvas
    trunk_width = max(1, round(0.008 * size))
    depth = int(np.clip(round(np.log2(size / 32)), 1, 3))  # fewer generations on coarse grids
    contrast = 0.8 * min(1.0, np.sqrt(size / 256))  # thin vessels lose contrast to partial volume
    for side in (xs < size / 2, xs >= size / 2):
        centre_x = xs[side].mean()
        hilum = np.array([ys[side].mean(), centre_x + np.sign(size / 2 - centre_x) * 0.05 * size])
        for heading in rng.uniform(0, 2 * np.pi, size=5):
            _branch(canvas, hilum, heading, rng.uniform(0.06, 0.1) * size, trunk_width, depth, rng)
    for k in rng.choice(ys.size, size=max(3, size // 16), replace=False):
        cv2.circle(canvas, (int(xs[k]), int(ys[k])), max(1, round(0.004 * size)), 1.0, thickness=-1)
    return contrast * soften(canvas, 0.7) * lungs


def _lesion_centres(lungs: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """Lesion centres inside the lungs, favouring the periphery (within ~25 % of the lung depth)."""
    depth = ndimage.distance_transform_edt(lungs)
    ys, xs = np.nonzero(lungs)
    weights = np.exp(-depth[ys, xs] / max(1.0, 0.25 * depth.max()))
    picks = rng.choice(ys.size, size=count, replace=ys.size < count, p=weights / weights.sum())
    return np.stack([ys[picks], xs[picks]], axis=1)


def _add_lesions(image, lungs, n_lesions: int, consolidation_prob: float, rng) -> tuple[np.ndarray, np.ndarray]:
    """Blend fuzzy lesions into the lung parenchyma; returns the new image and the lesion label map."""
    shape, size = image.shape, image.shape[0]
    image = image.copy()
    labels = np.zeros(shape, np.uint8)
    for centre in _lesion_centres(lungs, n_lesions, rng) if n_lesions > 0 else []:
        radii = rng.uniform(0.03, 0.08, 2) * size
        weight = fuzzy_blob(shape, centre, radii, rng, angle=rng.uniform(0, np.pi)) * lungs
        solid = rng.random() < consolidation_prob
        target = rng.uniform(-100.0, 30.0) if solid else rng.uniform(-600.0, -300.0)
        opacity = _HU["lung"] + weight * (target - _HU["lung"])  # vessels inside stay visible
        image = np.where(lungs, np.maximum(image, opacity), image)
        inside = (weight > 0.5) & lungs
        labels[inside & (labels < (2 if solid else 1))] = 2 if solid else 1
    return image, labels


def _add_nodules(image, lungs, count: int, rng) -> np.ndarray:
    """Small round solid nodules (not COVID-like): sharp-edged ~40 HU discs of radius 1.5-3 % of the size."""
    image = image.copy()
    for centre in _lesion_centres(lungs, count, rng) if count > 0 else []:
        radius = rng.uniform(0.015, 0.03) * image.shape[0]
        image[ellipse(image.shape, centre, (radius, radius)) & lungs] = _HU["soft"]
    return image


def synthetic_lung_ct(
    seed: int = 0,
    *,
    size: int = 256,
    n_lesions: tuple[int, int] = (1, 4),
    consolidation_prob: float = 0.3,
    n_nodules: int = 0,
    noise_hu: float = 12.0,
) -> tuple[Volume, np.ndarray, np.ndarray]:
    """Axial chest CT slice: ``(Volume int16 HU (y, x), lung_mask bool, lesion_mask uint8 0/1 GGO/2 consolidation)``.

    The lesion count is drawn uniformly from the inclusive range ``n_lesions``; ``(0, 0)`` gives a
    lesion-free slice. ``metadata["windows"]`` holds the lung (-600/1500) and mediastinum (40/400) presets.
    """
    low, high = n_lesions
    if size < 64 or not 0 <= low <= high:
        raise ValueError(f"need size >= 64 and 0 <= n_lesions[0] <= n_lesions[1]; "
                         f"got size={size}, n_lesions={n_lesions}")
    rng = np.random.default_rng(seed)
    shape = (size, size)
    image, lungs, body = _thorax(shape, rng)
    image = image + lungs * (_HU["soft"] - _HU["lung"]) * _vessels(shape, lungs, rng)
    image = image + lungs * 20.0 * smooth_noise(rng, shape, sigma=1.5)  # parenchymal texture
    image = _add_nodules(image, lungs, n_nodules, rng)
    image, lesions = _add_lesions(image, lungs, int(rng.integers(low, high + 1)), consolidation_prob, rng)
    image = soften(image, 0.6) + rng.normal(0.0, noise_hu, shape).astype(np.float32)
    pixel = _FOV_MM / size
    metadata = {
        "modality": "CT",
        "units": "HU",
        "source": f"synthetic_lung_ct(seed={seed})",
        "geometry": "synthetic axial CT slice (rows to posterior, columns to the patient's left)",
        "windows": [window_preset("lung", *LUNG_WINDOW), window_preset("mediastinum", *MEDIASTINUM_WINDOW)],
        "labels": dict(LESION_LABELS),
    }
    hu = np.clip(np.rint(image), -1024, 3071).astype(np.int16)
    return Volume(hu, spacing=(pixel, pixel), metadata=metadata), lungs, lesions


def synthetic_covid_ct(n: int, seed: int = 0, size: int = 128) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Toy COVID / non-COVID set: ``images`` float32 (n, size, size) in [0, 1] (lung window), ``labels``
    int64 (n,) (1 COVID), ``lesion_masks`` uint8 (n, size, size).

    Classes are balanced (shuffled). COVID slices carry 2-5 mostly peripheral GGO/consolidation
    lesions; non-COVID slices carry none but may hold 0-2 small solid nodules (unmasked distractors).
    """
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(n) % 2).astype(np.int64)
    images = np.zeros((n, size, size), np.float32)
    masks = np.zeros((n, size, size), np.uint8)
    for i, (label, child_seed) in enumerate(zip(labels, rng.integers(2**31, size=n))):
        lesions = (2, 5) if label == 1 else (0, 0)
        nodules = 0 if label == 1 else int(child_seed % 3)
        volume, _, masks[i] = synthetic_lung_ct(int(child_seed), size=size, n_lesions=lesions, n_nodules=nodules)
        images[i] = window_to_unit(volume.array, *LUNG_WINDOW)
    return images, labels, masks
