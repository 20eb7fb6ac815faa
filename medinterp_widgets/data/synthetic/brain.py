"""A rodent-brain-like T2-weighted MRI phantom with WM / GM / CSF labels and a brain mask.

Axes ``(z, y, x)``: z inferior -> superior, y anterior -> posterior, x left -> right; the anatomy is
drawn in fractions of the grid (scaled to fit, not to true mouse size). The brain is a union of
ellipsoids (cerebrum, cerebellum, olfactory bulbs); white matter is a dorsal shell (corpus callosum /
external capsule), two oblique internal-capsule tracts and the cerebellar core; CSF is two lateral
ventricles, a midline third ventricle and a fourth ventricle. Outside the brain a skull (dark),
muscle and scalp/fat ring; with ``artefacts`` bright blobs outside the brain, a multiplicative bias
field and Rician noise, so intensity alone does not separate brain from non-brain.
Label ids match the real mouse-brain tissue map: 0 background, 1 WM, 2 GM, 3 CSF.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from medinterp_widgets.data.synthetic.shapes import (
    bias_field,
    normalized_radius,
    rician_noise,
    soften,
    window_preset,
)
from medinterp_widgets.data.volume import Volume

LABELS = {0: "background", 1: "white matter", 2: "grey matter", 3: "CSF"}
# T2-like signal (arbitrary units): CSF brightest, GM > WM, bone dark (ratios follow the real template)
_SIGNAL = {"gm": 1000.0, "wm": 800.0, "csf": 1400.0, "skull": 120.0, "muscle": 520.0, "scalp": 820.0, "fat": 1250.0}


def _brain_parts(shape: tuple[int, int, int], centre: np.ndarray, scale: np.ndarray, angle: float) -> dict:
    """Boolean masks of the brain's building blocks (cerebrum, cerebellum, bulbs) and radius fields."""
    nz, ny, nx = shape
    radii = np.array([0.29 * nz, 0.33 * ny, 0.33 * nx]) * scale
    cerebrum_rho = normalized_radius(shape, centre, radii, angle)
    cb_centre = centre + np.array([-0.05 * nz, 0.32 * ny, 0.0]) * scale
    cb_radii = np.array([0.21 * nz, 0.12 * ny, 0.21 * nx]) * scale
    cerebellum_rho = normalized_radius(shape, cb_centre, cb_radii, angle)
    bulbs = np.zeros(shape, bool)
    for side in (-1.0, 1.0):
        bulb_centre = centre + np.array([-0.03 * nz, -0.34 * ny, side * 0.06 * nx]) * scale
        bulbs |= normalized_radius(shape, bulb_centre, np.array([0.09 * nz, 0.08 * ny, 0.065 * nx]) * scale, angle) <= 1
    union = (cerebrum_rho <= 1) | (cerebellum_rho <= 1) | bulbs
    brain = ndimage.gaussian_filter(union.astype(np.float32), 1.0) > 0.5  # round the joins
    return {"brain": brain, "cerebrum_rho": cerebrum_rho, "cerebellum_rho": cerebellum_rho, "radii": radii}


def _tissue_labels(shape, centre: np.ndarray, scale: np.ndarray, angle: float, parts: dict) -> np.ndarray:
    """uint8 labels (1 WM, 2 GM, 3 CSF) inside the brain mask."""
    nz, ny, nx = shape
    radii, rho = parts["radii"], parts["cerebrum_rho"]
    z_rel = (np.arange(nz, dtype=np.float32)[:, None, None] - centre[0]) / radii[0]  # (z, 1, 1)
    callosum = (rho > 0.58) & (rho < 0.68) & (z_rel > -0.25)  # dorsal arch of white matter
    wm = callosum | (parts["cerebellum_rho"] <= 0.45)
    for side in (-1.0, 1.0):  # internal capsules: oblique tubes running ventrally
        tract_centre = centre + np.array([-0.1 * nz, 0.02 * ny, side * 0.15 * nx]) * scale
        tract = normalized_radius(shape, tract_centre, np.array([0.17 * nz, 0.16 * ny, 0.028 * nx]) * scale, angle)
        wm |= tract <= 1
    csf = np.zeros(shape, bool)
    for side in (-1.0, 1.0):  # lateral ventricles just under the callosum
        vent_centre = centre + np.array([0.1 * nz, -0.02 * ny, side * 0.07 * nx]) * scale
        csf |= normalized_radius(shape, vent_centre, np.array([0.05 * nz, 0.14 * ny, 0.035 * nx]) * scale, angle) <= 1
    csf |= normalized_radius(shape, centre + np.array([-0.06 * nz, 0.03 * ny, 0]) * scale,
                             np.array([0.1 * nz, 0.08 * ny, 0.012 * nx + 0.6]) * scale, angle) <= 1
    csf |= normalized_radius(shape, centre + np.array([-0.06 * nz, 0.25 * ny, 0]) * scale,
                             np.array([0.05 * nz, 0.03 * ny, 0.05 * nx]) * scale, angle) <= 1
    labels = np.where(parts["brain"], 2, 0).astype(np.uint8)
    labels[wm & parts["brain"]] = 1
    labels[csf & parts["brain"]] = 3
    return labels


def _head_signal(shape, centre: np.ndarray, scale: np.ndarray, angle: float, brain: np.ndarray) -> np.ndarray:
    """Signal outside the brain: skull shell, muscle (lateral/ventral), scalp with subcutaneous fat."""
    nz, ny, nx = shape
    head_rho = normalized_radius(shape, centre + np.array([-0.04 * nz, 0.0, 0.0]),
                                 np.array([0.44 * nz, 0.48 * ny, 0.47 * nx]) * scale, angle)
    signal = np.zeros(shape, np.float32)
    signal[head_rho <= 1.0] = _SIGNAL["scalp"]
    signal[head_rho <= 0.94] = _SIGNAL["fat"]
    signal[head_rho <= 0.88] = _SIGNAL["muscle"]
    near_brain = ndimage.distance_transform_edt(~brain)  # voxels from the brain surface
    skull = (near_brain > 1.0) & (near_brain <= 3.0) & (head_rho <= 0.88)
    signal[skull] = _SIGNAL["skull"]
    signal[(near_brain > 0) & (near_brain <= 1.0)] = 0.5 * _SIGNAL["csf"]  # meningeal CSF rim
    return signal


def _bright_blobs(rng: np.random.Generator, shape, head: np.ndarray, brain: np.ndarray, count: int) -> np.ndarray:
    """Additive bright blobs (glands, vessels, fat pads) centred in the head but outside the brain."""
    candidates = np.argwhere(head & ~ndimage.binary_dilation(brain, iterations=3))
    blobs = np.zeros(shape, np.float32)
    if len(candidates) == 0:
        return blobs
    for index in rng.choice(len(candidates), size=min(count, len(candidates)), replace=False):
        radii = rng.uniform(2.0, 5.0, size=3)
        blob = normalized_radius(shape, candidates[index], radii) <= 1
        blobs[blob & ~brain] = rng.uniform(0.8, 1.4) * _SIGNAL["csf"]
    return blobs


def synthetic_brain(
    seed: int = 0,
    *,
    shape: tuple[int, int, int] = (64, 96, 96),
    spacing: tuple[float, float, float] = (0.15, 0.15, 0.15),
    artefacts: bool = True,
) -> tuple[Volume, np.ndarray, np.ndarray]:
    """Rodent-brain phantom: ``(Volume float32 (z, y, x), labels uint8 0/1 WM/2 GM/3 CSF, brain_mask bool)``."""
    if len(shape) != 3 or min(shape) < 16:
        raise ValueError(f"shape needs 3 axes of at least 16 voxels, got {shape}")
    rng = np.random.default_rng(seed)
    shape = (int(shape[0]), int(shape[1]), int(shape[2]))
    centre = np.array(shape, dtype=float) / 2.0 + rng.uniform(-0.03, 0.03, 3) * np.array(shape)
    scale = rng.uniform(0.92, 1.06, 3)
    angle = rng.uniform(-0.15, 0.15)
    parts = _brain_parts(shape, centre, scale, angle)
    labels = _tissue_labels(shape, centre, scale, angle, parts)
    brain = labels > 0
    signal = _head_signal(shape, centre, scale, angle, brain)
    for label, name in ((1, "wm"), (2, "gm"), (3, "csf")):
        signal[labels == label] = _SIGNAL[name]
    signal = signal * (1.0 + 0.04 * ndimage.gaussian_filter(rng.standard_normal(shape).astype(np.float32), 1.5))
    if artefacts:
        signal = signal + _bright_blobs(rng, shape, signal > 0, brain, count=int(rng.integers(6, 13)))
    signal = soften(signal, 0.6)
    if artefacts:
        signal = rician_noise(rng, signal * bias_field(rng, shape, strength=0.35), sigma=45.0)
    metadata = {
        "modality": "MR",
        "source": f"synthetic_brain(seed={seed}, artefacts={artefacts})",
        "windows": [window_preset("brain", 1000, 1600), window_preset("full range", 1100, 2200)],
        "labels": dict(LABELS),
    }
    return Volume(signal.astype(np.float32), spacing=spacing, metadata=metadata), labels, brain


def synthetic_brain_slices(
    n: int,
    seed: int = 0,
    *,
    size: int = 96,
    artefacts: bool = True,
    slices_per_volume: int = 8,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """2-D axial slices for a U-Net: ``images`` float32 (n, size, size) in [0, 1], ``labels`` uint8, ``masks`` bool.

    Slices come from ``ceil(n / slices_per_volume)`` phantoms (seeds drawn from ``seed``), evenly
    spaced over the central 40 % of z; each image is divided by its volume's 99.5th percentile.
    """
    rng = np.random.default_rng(seed)
    images: list[np.ndarray] = []
    labels: list[np.ndarray] = []
    masks: list[np.ndarray] = []
    depth = max(16, (2 * size) // 3)
    while len(images) < n:
        volume, vol_labels, brain = synthetic_brain(int(rng.integers(2**31)), shape=(depth, size, size),
                                                    artefacts=artefacts)
        scaled = np.clip(volume.array / np.percentile(volume.array, 99.5), 0.0, 1.0)
        for z in np.linspace(0.3 * depth, 0.7 * depth, slices_per_volume).astype(int)[: n - len(images)]:
            images.append(scaled[z])
            labels.append(vol_labels[z])
            masks.append(brain[z])
    return np.stack(images).astype(np.float32), np.stack(labels), np.stack(masks)
