"""A beating left-ventricle phantom: short-axis cine MRI stack ``(t, z, y, x)`` with LV/myocardium/RV masks.

Geometry (mm, then converted to pixels): the LV cavity and epicardium are half-ellipsoids along the
long axis (slice 0 = base, last slice = apex); the endocardial radius shrinks over the cycle as
``r_endo(t, z) = r_ed(z) * sqrt(1 - EF * c(t))`` with a contraction curve ``c`` (0 at end-diastole,
1 at end-systole), so per-slice cavity area falls by the ejection fraction ``EF``. The myocardial
area of each slice is conserved, ``r_epi = sqrt(r_endo^2 + A(z))``, so the wall thickens in systole.
The RV is a crescent wrapped round the septum that contracts less; the body is an ellipse with a
subcutaneous fat ring, two dark lungs and a bright descending aorta.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from medinterp_widgets.data.synthetic.shapes import normalized_radius, rician_noise, window_preset
from medinterp_widgets.data.volume import Volume

LABELS = {0: "background", 1: "LV cavity", 2: "myocardium", 3: "RV cavity"}
# MR-like signal levels near Sunnybrook cine (blood ~250, blood/myocardium ~2.3-2.5, 99th pct ~540)
_SIGNAL = {"air": 2.0, "soft": 110.0, "fat": 430.0, "lung": 25.0, "blood": 260.0, "myo": 105.0}
_NOISE_SIGMA = 9.0
_RR_MS = 800.0


def contraction_curve(n_phases: int, systole_fraction: float = 0.35) -> np.ndarray:
    """``c(t)`` in [0, 1]: a cosine rise to end-systole at ``systole_fraction`` of the cycle, slower relaxation."""
    phase = np.arange(n_phases) / n_phases
    rise = 0.5 * (1 - np.cos(np.pi * phase / systole_fraction))
    fall = 0.5 * (1 + np.cos(np.pi * (phase - systole_fraction) / (1 - systole_fraction)))
    return np.where(phase <= systole_fraction, rise, fall)


def _draw_anatomy(rng: np.random.Generator, n_slices: int, dz: float) -> dict:
    """Random physiological parameters (mm) of one phantom heart and body."""
    lv_radius = rng.uniform(21.0, 26.0)  # end-diastolic endocardial radius at the base
    wall = rng.uniform(7.0, 10.0)
    return {
        "lv_radius_mm": lv_radius,
        "wall_mm": wall,
        "lv_length_mm": n_slices * dz * rng.uniform(0.92, 1.0),
        "ejection_fraction": rng.uniform(0.50, 0.68),
        "rv_ejection_fraction": rng.uniform(0.35, 0.5),
        "rv_radii_mm": (rng.uniform(0.95, 1.1) * (lv_radius + wall), rng.uniform(1.25, 1.45) * (lv_radius + wall)),
        "aspect": rng.uniform(0.88, 1.0),
        "angle": rng.uniform(-0.4, 0.4),
        "tilt_mm": rng.uniform(-4.0, 4.0, size=2),  # LV centre drift base -> apex (y, x)
        "offset_mm": rng.uniform(-6.0, 6.0, size=2),
    }


def _body(shape: tuple[int, int], center: np.ndarray, px: np.ndarray, fov: np.ndarray) -> np.ndarray:
    """One still body slice (air, soft tissue, fat ring, lungs, aorta) in signal units."""
    body_center = center + np.array([14.0, -22.0]) / px  # body centre: posterior, image-left of the LV
    body_radii = np.minimum(np.array([110.0, 160.0]), np.array([0.38, 0.47]) * fov) / px
    fat = 11.0 / px
    image = np.full(shape, _SIGNAL["air"], np.float32)
    image[normalized_radius(shape, body_center, body_radii) <= 1] = _SIGNAL["fat"]
    image[normalized_radius(shape, body_center, body_radii - fat) <= 1] = _SIGNAL["soft"]
    for side in (-1.0, 1.0):  # lungs beside and behind the heart
        lung_center = body_center + np.array([-5.0, side * 0.45 * body_radii[1] * px[1]]) / px
        lung_radii = np.array([0.62 * body_radii[0], 0.33 * body_radii[1]])
        image[normalized_radius(shape, lung_center, lung_radii) <= 1] = _SIGNAL["lung"]
    aorta = center + np.array([40.0, -14.0]) / px
    image[normalized_radius(shape, aorta, np.array([11.0, 11.0]) / px) <= 1] = _SIGNAL["blood"]
    return image


def _slice_radii(anatomy: dict, z_mm: float, squeeze: float, rv_squeeze: float) -> tuple[float, float, float]:
    """Endocardial, epicardial (mm) and RV scale of one slice at one phase (0 where the structure ends)."""
    length, radius, wall = anatomy["lv_length_mm"], anatomy["lv_radius_mm"], anatomy["wall_mm"]
    endo_profile = np.sqrt(max(0.0, 1 - (z_mm / length) ** 2))
    epi_profile = np.sqrt(max(0.0, 1 - (z_mm / (length + wall)) ** 2))
    endo_ed, epi_ed = radius * endo_profile, (radius + wall) * epi_profile
    endo = endo_ed * np.sqrt(1 - squeeze)
    epi = np.sqrt(endo**2 + epi_ed**2 - endo_ed**2)  # myocardial area conserved
    rv_scale = np.sqrt(max(0.0, 1 - (z_mm / (0.8 * length)) ** 2)) * np.sqrt(1 - rv_squeeze)
    return endo, epi, rv_scale


def _heart_labels(
    shape: tuple[int, int], anatomy: dict, center: np.ndarray, px: np.ndarray, radii: tuple[float, float, float]
) -> np.ndarray:
    """uint8 label slice (1 LV cavity, 2 myocardium, 3 RV cavity) for one slice and phase."""
    endo, epi, rv_scale = radii
    aspect, angle = anatomy["aspect"], anatomy["angle"]
    lv_rho = normalized_radius(shape, center, np.array([aspect, 1.0]) / px, angle)  # mm-radius field
    labels = np.zeros(shape, np.uint8)
    if rv_scale > 0:
        rv_radii = np.array(anatomy["rv_radii_mm"]) * rv_scale
        rv_center = center + np.array([-0.12 * rv_radii[0], -0.42 * rv_radii[1]]) / px
        rv = normalized_radius(shape, rv_center, rv_radii / px, angle) <= 1
        labels[rv & (lv_rho > epi + 2.5)] = 3  # crescent: RV ellipse minus septum + free wall gap
    labels[lv_rho <= epi] = 2
    labels[lv_rho <= endo] = 1
    return labels


def synthetic_cine_lv(
    seed: int = 0,
    *,
    n_phases: int = 20,
    n_slices: int = 8,
    size: int = 128,
    spacing: tuple[float, float, float] = (8.0, 1.4, 1.4),
) -> tuple[Volume, np.ndarray]:
    """A beating LV phantom: ``Volume`` (t, z, y, x) int16 MR-like signal and masks uint8 (t, z, y, x).

    Mask ids: 0 background, 1 LV cavity, 2 myocardium, 3 RV cavity. Phase 0 is end-diastole;
    ``metadata`` carries ``windows`` presets, ``labels``, ``ed_phase``/``es_phase``, per-phase
    ``lv_volume_ml`` (from the mask), ``ejection_fraction`` and ``trigger_time_ms``.
    """
    if n_phases < 2 or n_slices < 1 or size < 16:
        raise ValueError(f"need n_phases >= 2, n_slices >= 1, size >= 16; got {n_phases}, {n_slices}, {size}")
    rng = np.random.default_rng(seed)
    dz, dy, dx = (float(s) for s in spacing)
    px, shape = np.array([dy, dx]), (size, size)
    anatomy = _draw_anatomy(rng, n_slices, dz)
    centre0 = np.array([size / 2.0, size / 2.0]) + anatomy["offset_mm"] / px
    squeeze = anatomy["ejection_fraction"] * contraction_curve(n_phases)
    rv_squeeze = anatomy["rv_ejection_fraction"] * contraction_curve(n_phases)
    masks = np.zeros((n_phases, n_slices, size, size), np.uint8)
    bodies = np.zeros((n_slices, size, size), np.float32)
    for z in range(n_slices):
        centre = centre0 + anatomy["tilt_mm"] * z / max(1, n_slices - 1) / px
        bodies[z] = _body(shape, centre, px, px * size)
        for t in range(n_phases):
            radii = _slice_radii(anatomy, (z + 0.5) * dz, squeeze[t], rv_squeeze[t])
            masks[t, z] = _heart_labels(shape, anatomy, centre, px, radii)
    signal = np.broadcast_to(bodies, masks.shape).copy()  # (t, z, y, x)
    signal[masks == 2] = _SIGNAL["myo"]
    signal[(masks == 1) | (masks == 3)] = _SIGNAL["blood"]
    signal = ndimage.gaussian_filter(signal, sigma=(0, 0, 0.7, 0.7))
    signal = rician_noise(rng, signal, _NOISE_SIGMA)
    array = np.clip(np.rint(signal), 0, np.iinfo(np.int16).max).astype(np.int16)
    volume = Volume(
        array,
        spacing=(dz, dy, dx),
        origin=(-size / 2.0 * dx, -size / 2.0 * dy, 0.0),
        axes=("t", "z", "y", "x"),
        metadata=_cine_metadata(seed, masks, (dz, dy, dx), anatomy),
    )
    return volume, masks


def _cine_metadata(seed: int, masks: np.ndarray, spacing: tuple[float, float, float], anatomy: dict) -> dict:
    """Windows, labels and the cavity volume curve measured on the masks."""
    voxel_ml = float(np.prod(spacing)) / 1000.0
    volumes = (masks == 1).sum(axis=(1, 2, 3)) * voxel_ml  # (t,)
    ed, es = int(np.argmax(volumes)), int(np.argmin(volumes))
    n_phases = masks.shape[0]
    return {
        "modality": "MR",
        "source": f"synthetic_cine_lv(seed={seed})",
        "geometry": "",  # a phantom: no patient orientation (views are the array axes)
        "windows": [
            window_preset("cine", 220, 480),
            window_preset("blood pool", 190, 260),
            window_preset("full range", 260, 520),
        ],
        "labels": dict(LABELS),
        "ed_phase": ed,
        "es_phase": es,
        "lv_volume_ml": [float(v) for v in volumes],
        "ejection_fraction": float((volumes[ed] - volumes[es]) / volumes[ed]),
        "trigger_time_ms": [float(t * _RR_MS / n_phases) for t in range(n_phases)],
        "phantom": {k: (np.asarray(v).tolist() if isinstance(v, (tuple, np.ndarray)) else float(v))
                    for k, v in anatomy.items()},
    }
