"""Synthetic short-axis cardiac MRI with a sex confounder, after the heatmap-loss thesis.

Each image is a body ellipse (soft tissue, subcutaneous fat ring whose thickness follows a body-fat
percentage, two dark lungs) holding a heart: LV cavity + myocardial ring and an RV crescent with a
thin wall. Body fat depends on sex (thesis section 3.1.1: male 26 +/- 7.9 %; female 35 +/- 8.5 %,
our choice where the source gives no number). Classes: ``normal``; ``hcm`` (LV wall x2, slightly
smaller cavity); ``dcm`` (LV cavity x1.6, thin wall, +10 % body fat); ``arv`` with two subtypes,
1 "dilated" (RV x1.6) and 2 "fatty" (RV x1.3, thick RV wall), in both of which fat replaces a drawn
share of the RV wall (``arv_fat_share``: uniform 0.2-0.5 for subtype 1, 0.5-0.9 for subtype 2).

How class and sex are drawn: the class first (``class_weights``, uniform by default), then the sex
given the class, ``P(male | c) = r_c / (1 + r_c)`` with the male-to-female ratio ``r_c``
(``MALE_TO_FEMALE`` : ARV 2.7, HCM 1.3, others 1). So among patients of class ``c`` there are
``r_c`` males per female, and the odds ratio ``P(c | male) / P(c | female)`` against a sex-neutral
class is exactly ``r_c``.

Experiment 1: the sex changes anatomy: a whole-body size multiplier ``N(1, 0.15)`` for females and
``N(1.3, 0.15)`` for males (clipped to [0.6, 1.75]). Experiment 2: the same size distribution for
both sexes, ``N(1.15, 0.15)``, but a small bright square marker at the bottom of every male image,
below the body (``marker_mask``): a pure shortcut feature outside the heart.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

from medinterp_widgets.data.synthetic.shapes import normalized_radius, rician_noise, smooth_noise

CLASS_NAMES = ("normal", "hcm", "dcm", "arv")
MALE_TO_FEMALE = {"normal": 1.0, "hcm": 1.3, "dcm": 1.0, "arv": 2.7}
TISSUE_LABELS = {0: "background", 1: "LV cavity", 2: "LV myocardium", 3: "RV cavity"}
# multiplicative class effects on (LV cavity radius, LV wall, RV size); ARV subtypes handled apart
_CLASS_SHAPE = {"normal": (1.0, 1.0, 1.0), "hcm": (0.85, 2.0, 1.0), "dcm": (1.6, 0.7, 1.0), "arv": (1.0, 1.0, 1.0)}
_ARV_RV_SCALE = np.array([1.0, 1.6, 1.3])  # RV size factor by ARV subtype (0 = not ARV)
BODY_FAT = {0: (35.0, 8.5), 1: (26.0, 7.9)}  # sex -> (mean, sd) of the body-fat percentage
ARV_FAT_SHARE = {1: (0.2, 0.5), 2: (0.5, 0.9)}  # ARV subtype -> uniform range of the RV-wall fat share
_SIGNAL = {"background": 0.03, "soft": 0.35, "fat": 0.85, "lung": 0.08, "blood": 0.72, "myo": 0.26, "marker": 1.0}


@dataclass(frozen=True)
class CardiacBatch:
    """A labelled batch of synthetic cardiac images with the masks and parameters behind each one."""

    images: np.ndarray  # float32 (n, size, size) in [0, 1]
    labels: np.ndarray  # int64 (n,), index into class_names
    class_names: tuple[str, ...]
    sex: np.ndarray  # int64 (n,), 0 female / 1 male
    heart_mask: np.ndarray  # bool (n, size, size): LV cavity + myocardium + RV cavity + RV wall
    marker_mask: np.ndarray  # bool (n, size, size): the experiment-2 marker (all False in experiment 1)
    tissue: np.ndarray  # uint8 (n, size, size): TISSUE_LABELS ids
    params: dict[str, np.ndarray] = field(default_factory=dict)  # per-image parameters, each (n,)
    experiment: int = 1

    def __len__(self) -> int:
        return int(self.labels.shape[0])


def sample_cardiac_parameters(
    n: int,
    rng: np.random.Generator,
    *,
    classes: tuple[str, ...] = CLASS_NAMES,
    experiment: int = 1,
    class_weights: tuple[float, ...] | None = None,
    male_to_female: dict[str, float] | None = None,
) -> dict[str, np.ndarray]:
    """Per-image parameters, each an (n,) array.

    Keys: ``label``, ``sex``, ``size_scale`` (body + heart multiplier), ``body_fat`` (%), ``lv_cavity``
    and ``lv_wall`` (fractions of the image size before ``size_scale``), ``rv_scale``, ``arv_subtype``
    (0 none, 1 dilated, 2 fatty), ``arv_fat_share`` (0 unless ARV), ``aspect``, ``angle`` (rad) and
    ``shift_y``/``shift_x`` (fractions).
    """
    ratios = {**MALE_TO_FEMALE, **(male_to_female or {})}
    weights = np.ones(len(classes)) if class_weights is None else np.asarray(class_weights, dtype=float)
    if weights.shape != (len(classes),) or np.any(weights < 0) or weights.sum() <= 0:
        raise ValueError(f"class_weights needs {len(classes)} non-negative values, got {class_weights}")
    labels = rng.choice(len(classes), size=n, p=weights / weights.sum())
    p_male = np.array([ratios[c] / (1.0 + ratios[c]) for c in classes])[labels]
    sex = (rng.random(n) < p_male).astype(np.int64)
    mean_scale = np.where(sex == 1, 1.3, 1.0) if experiment == 1 else np.full(n, 1.15)
    names = np.array(classes)[labels]
    shape_effect = np.array([_CLASS_SHAPE[c] for c in names]).reshape(n, 3)
    subtype = np.where(names == "arv", rng.integers(1, 3, size=n), 0)
    rv_effect = np.where(subtype > 0, _ARV_RV_SCALE[subtype], shape_effect[:, 2])
    jitter = np.exp(rng.normal(0.0, 0.08, size=(n, 3)))  # within-class variability
    fat_mean, fat_sd = (np.where(sex == 1, BODY_FAT[1][i], BODY_FAT[0][i]) for i in (0, 1))
    share_low, share_high = (np.array([0.0, ARV_FAT_SHARE[1][i], ARV_FAT_SHARE[2][i]])[subtype] for i in (0, 1))
    return {
        "label": labels.astype(np.int64),
        "sex": sex,
        "size_scale": np.clip(rng.normal(mean_scale, 0.15), 0.6, 1.75),
        "body_fat": np.clip(rng.normal(fat_mean + np.where(names == "dcm", 10.0, 0.0), fat_sd), 8.0, 60.0),
        "lv_cavity": 0.052 * shape_effect[:, 0] * jitter[:, 0],  # fraction of the image size, before size_scale
        "lv_wall": 0.027 * shape_effect[:, 1] * jitter[:, 1],
        "rv_scale": rv_effect * jitter[:, 2],
        "arv_subtype": subtype.astype(np.int64),
        "arv_fat_share": rng.uniform(share_low, share_high),
        "aspect": rng.uniform(0.85, 1.0, n),
        "angle": rng.uniform(-0.5, 0.5, n),
        "shift_y": rng.uniform(-0.03, 0.03, n),
        "shift_x": rng.uniform(-0.03, 0.03, n),
    }


def _body_layers(size: int, p: dict, body_centre: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Signal of the body without the heart, and the body mask, for one image."""
    shape, scale = (size, size), p["size_scale"]
    radii = np.minimum(np.array([0.22, 0.28]) * size * scale, 0.48 * size)
    body_rho = normalized_radius(shape, body_centre, radii)
    fat_fraction = 0.5 * p["body_fat"] / 100.0  # fat ring thickness as a fraction of the body radius
    image = np.full(shape, _SIGNAL["background"], np.float32)
    image[body_rho <= 1] = _SIGNAL["fat"]
    image[body_rho <= 1 - fat_fraction] = _SIGNAL["soft"]
    for side in (-1.0, 1.0):
        lung_centre = body_centre + np.array([0.0, side * 0.14]) * size * scale
        image[normalized_radius(shape, lung_centre, np.array([0.14, 0.08]) * size * scale) <= 1] = _SIGNAL["lung"]
    return image, body_rho <= 1


def _heart_layers(size: int, p: dict, centre: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """uint8 tissue labels and a bool RV-wall mask (with its fatty part marked 2) for one image."""
    shape, scale = (size, size), p["size_scale"]
    cavity, wall = p["lv_cavity"] * size * scale, max(p["lv_wall"] * size * scale, 1.2)
    lv_rho = normalized_radius(shape, centre, (p["aspect"], 1.0), p["angle"])  # distance in pixels
    rv_wall = max(1.0, 0.35 * 0.027 * size * scale) * (2.2 if p["arv_subtype"] == 2 else 1.0)
    rv_radii = np.array([1.0, 1.35]) * (0.079 * size * scale) * p["rv_scale"]
    rv_centre = centre + np.array([-0.12 * rv_radii[0], -0.42 * rv_radii[1] - 0.3 * (cavity + wall)])
    rv_rho = normalized_radius(shape, rv_centre, rv_radii, p["angle"])
    outside_lv = lv_rho > cavity + wall
    rv_cavity = (rv_rho <= 1) & (lv_rho > cavity + wall + rv_wall)
    rv_outer = normalized_radius(shape, rv_centre, rv_radii + rv_wall, p["angle"]) <= 1
    tissue = np.zeros(shape, np.uint8)
    tissue[rv_cavity] = 3
    tissue[lv_rho <= cavity + wall] = 2
    tissue[lv_rho <= cavity] = 1
    wall_mask = (rv_outer & outside_lv & ~rv_cavity).astype(np.uint8)
    if p["arv_subtype"] > 0:  # fat replacing the drawn share of the RV wall muscle
        noise = smooth_noise(rng, shape, sigma=1.5)
        wall = wall_mask == 1
        if wall.any():
            wall_mask[wall & (noise < np.quantile(noise[wall], p["arv_fat_share"]))] = 2
    return tissue, wall_mask


def _marker(size: int, rng: np.random.Generator) -> np.ndarray:
    """The experiment-2 shortcut: a small bright square at the bottom of the image, below the body."""
    side = max(2, round(0.04 * size))
    top = size - round(0.06 * size) - side - int(rng.integers(0, 3))
    left = size // 2 - side // 2 + int(rng.integers(-round(0.1 * size), round(0.1 * size) + 1))
    mask = np.zeros((size, size), bool)
    mask[top : top + side, left : left + side] = True
    return mask


def _render_one(size: int, p: dict, rng: np.random.Generator, experiment: int) -> tuple[np.ndarray, ...]:
    """Noise-free image, tissue labels, heart mask and marker mask of one sample."""
    body_centre = np.array([0.5 + p["shift_y"], 0.5 + p["shift_x"]]) * size
    image, _ = _body_layers(size, p, body_centre)
    heart_centre = body_centre + np.array([-0.01, 0.045]) * size * p["size_scale"]
    tissue, rv_wall = _heart_layers(size, p, heart_centre, rng)
    image[rv_wall == 1] = _SIGNAL["myo"]
    image[rv_wall == 2] = _SIGNAL["fat"]
    image[tissue == 2] = _SIGNAL["myo"]
    image[(tissue == 1) | (tissue == 3)] = _SIGNAL["blood"]
    marker = _marker(size, rng) if experiment == 2 and p["sex"] == 1 else np.zeros((size, size), bool)
    image[marker] = _SIGNAL["marker"]
    return image, tissue, (tissue > 0) | (rv_wall > 0), marker


def synthetic_cardiac_mri(
    n: int,
    seed: int = 0,
    *,
    size: int = 128,
    experiment: int = 1,
    classes: tuple[str, ...] = CLASS_NAMES,
    class_weights: tuple[float, ...] | None = None,
    male_to_female: dict[str, float] | None = None,
    noise: float = 0.03,
) -> CardiacBatch:
    """``n`` synthetic short-axis cardiac images (see the module docstring for the generative model)."""
    unknown = [c for c in classes if c not in _CLASS_SHAPE]
    if unknown or not classes:
        raise ValueError(f"classes must be drawn from {CLASS_NAMES}, got {classes}")
    if experiment not in (1, 2):
        raise ValueError(f"experiment must be 1 (sex changes anatomy) or 2 (sex marker), got {experiment}")
    if n < 0 or size < 32:
        raise ValueError(f"need n >= 0 and size >= 32, got n={n}, size={size}")
    rng = np.random.default_rng(seed)
    params = sample_cardiac_parameters(
        n, rng, classes=tuple(classes), experiment=experiment, class_weights=class_weights,
        male_to_female=male_to_female,
    )
    images = np.zeros((n, size, size), np.float32)
    tissue = np.zeros((n, size, size), np.uint8)
    heart = np.zeros((n, size, size), bool)
    marker = np.zeros((n, size, size), bool)
    for i in range(n):
        one = {key: value[i] for key, value in params.items()}
        images[i], tissue[i], heart[i], marker[i] = _render_one(size, one, rng, experiment)
    images = ndimage.gaussian_filter(images, sigma=(0, 0.6, 0.6))  # point-spread blur per image
    images = np.clip(rician_noise(rng, images, noise), 0.0, 1.0) if noise > 0 else np.clip(images, 0.0, 1.0)
    return CardiacBatch(
        images=images.astype(np.float32),
        labels=params["label"],
        class_names=tuple(classes),
        sex=params["sex"],
        heart_mask=heart,
        marker_mask=marker,
        tissue=tissue,
        params=params,
        experiment=experiment,
    )
