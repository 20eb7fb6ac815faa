"""Animals as stacks of sagittal slices: skull-stripped training input, unmasked test input, tissue, mask.

Real mouse brain (``mouse_brain/``): each NIfTI volume (112 x 128 x 80, axis 0 left-right) becomes 112
sagittal slices of 128 x 80. ``prepare_input`` scales an image by a statistic of its voxels with signal
(no brain mask needed, so ``evaluate`` can apply it to any animal): the 99.5th percentile, or twice the
median (``INPUT_SCALES``). The shipped templates
are skull-stripped (zero outside the mask), so the "unmasked" input of the GBP test gets a synthetic
head in 3-D (``add_head_artefacts``: dark skull, muscle / scalp shell, bright blobs, bias field,
Rician noise, all outside the brain) seeded by the animal's id; a volume that already has signal outside its
mask is used as
it is. Phantom (no data): ``synthetic_brain`` volumes, whose own head is the unmasked input.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import ndimage

from medinterp_widgets.data import load_mouse_brain, synthetic_brain
from medinterp_widgets.data.mouse_brain import MouseBrain, tissue_map
from medinterp_widgets.data.synthetic.shapes import bias_field, normalized_radius, rician_noise, smooth_noise

INPUT_PERCENTILE = 99.5
# "percentile": x / p99.5; "brain_median": x / (2 median), the brain's median (mostly grey matter) at 0.5
INPUT_SCALES = ("percentile", "brain_median")
HEAD_SIGNAL_FRACTION = 0.01  # a volume with signal in more than 1 % of its outside voxels is already unmasked


@dataclass(frozen=True)
class Animal:
    """One animal as (S, H, W) sagittal slices."""

    subject_id: str
    image: np.ndarray  # float32, skull-stripped network input (training)
    unmasked: np.ndarray  # float32, with the head (GBP test input)
    tissue: np.ndarray  # uint8 0 bg, 1 WM, 2 GM, 3 CSF
    mask: np.ndarray  # bool brain mask
    label_tissue: np.ndarray | None = None  # uint8 tissue from the structure labels only (for the figure)

    @property
    def brain_slices(self) -> np.ndarray:
        """Indices of the slices that hold brain."""
        return np.flatnonzero(self.mask.reshape(len(self.mask), -1).any(1))


def prepare_input(image: np.ndarray, scale: str = "brain_median") -> np.ndarray:
    """Network input ``clip(image / s, 0, 1)`` (float32) over the voxels v > 0: s = the 99.5th percentile of v
    ("percentile") or s = 2 median(v) ("brain_median").

    The mixture ground truth's WM / GM boundary lies at 0.88-0.91 of the brain's median intensity in all six
    shipped animals but at 0.50-0.58 of their 99.5th percentile (which follows the bright CSF), so the median
    puts the same tissue boundary at the same input value in every animal."""
    if scale not in INPUT_SCALES:
        raise ValueError(f"input scale: expected one of {INPUT_SCALES}, got {scale!r}")
    image = np.asarray(image, np.float32)
    signal = image[image > 0]
    if not signal.size:
        return np.clip(image, 0.0, 1.0).astype(np.float32)
    divisor = float(np.percentile(signal, INPUT_PERCENTILE)) if scale == "percentile" else 2 * float(np.median(signal))
    return np.clip(image / (divisor or 1.0), 0.0, 1.0).astype(np.float32)


def animal_seed(subject_id: str, seed: int = 0) -> int:
    """A stable per-animal seed (the same head every run, in the pipeline and in ``evaluate``)."""
    return (zlib.crc32(subject_id.encode()) + 7919 * seed) % 2**31


def add_head_artefacts(image: np.ndarray, mask: np.ndarray, seed: int) -> np.ndarray:
    """Unmasked-looking 2-D slice or 3-D volume with a T2-weighted-like head outside ``mask``: a dark
    skull (2 voxels), muscle darker than white matter (shorter T2), a thin brighter skin layer and
    bright fat / gland blobs, under a bias field and Rician noise. Brain voxels are left as they are,
    so the masked and unmasked inputs differ only outside the brain (new float32 array in 0..1)."""
    rng = np.random.default_rng(seed)
    mask = np.asarray(mask, dtype=bool)
    distance = ndimage.distance_transform_edt(~mask)  # voxels from the brain
    outside = np.zeros(mask.shape, np.float32)
    outside[(distance > 0) & (distance <= 2)] = 0.06  # skull: dark
    thickness = rng.uniform(4, 8)
    shell = (distance > 2) & (distance <= 2 + thickness)
    outside[shell] = 0.28 + 0.05 * smooth_noise(rng, mask.shape, 2.0)[shell]  # muscle
    outside[(distance > 2 + thickness - 1) & (distance <= 2 + thickness)] = 0.45  # skin
    candidates = np.argwhere(shell)
    count = min(int(rng.integers(3, 7)) * (4 if mask.ndim == 3 else 1), len(candidates))
    for index in rng.choice(len(candidates), size=count, replace=False):
        blob = normalized_radius(mask.shape, candidates[index], rng.uniform(1.5, 4.0, mask.ndim)) <= 1
        outside[blob & ~mask] = rng.uniform(0.75, 1.0)  # fat pads, glands
    head = rician_noise(rng, outside * bias_field(rng, mask.shape, strength=0.25), sigma=0.03)
    return np.clip(np.where(mask, np.asarray(image, dtype=np.float32), head), 0.0, 1.0).astype(np.float32)


def unmasked_input(image: np.ndarray, mask: np.ndarray, seed: int) -> np.ndarray:
    """The GBP test input of a scaled volume: itself when it has signal outside ``mask``, else with a
    synthetic head (``add_head_artefacts``)."""
    outside = np.asarray(image)[~np.asarray(mask, bool)]
    if outside.size and np.mean(outside > 0) > HEAD_SIGNAL_FRACTION:
        return np.asarray(image, np.float32)
    return add_head_artefacts(image, mask, seed)


def resample_slices(volume: np.ndarray, size: tuple[int, int] | None, order: int) -> np.ndarray:
    """(S, H, W) -> (S, *size) in-plane (spline ``order``: 1 images, 0 labels); unchanged when size is None."""
    if size is None or tuple(volume.shape[1:]) == tuple(size):
        return volume
    factors = (1.0, size[0] / volume.shape[1], size[1] / volume.shape[2])
    return ndimage.zoom(volume, factors, order=order, grid_mode=True, mode="nearest")


def animal_from_brain(brain: MouseBrain, size: tuple[int, int] | None = None, seed: int = 0,
                      input_scale: str = "brain_median") -> Animal:
    """An ``Animal`` of a loaded mouse (slices along axis 0; see the module docstring)."""
    mask = brain.mask.array
    scaled = prepare_input(brain.image.array, input_scale)
    unmasked = unmasked_input(scaled, mask, animal_seed(brain.subject_id, seed))
    mask_r = resample_slices(mask.astype(np.uint8), size, 0).astype(bool)
    return Animal(brain.subject_id, resample_slices(scaled, size, 1) * mask_r, resample_slices(unmasked, size, 1),
                  resample_slices(brain.tissue.array, size, 0), mask_r,
                  resample_slices(tissue_map(brain.labels.array), size, 0))


def load_animals(root: str | Path, tissue: str = "mixture", size: tuple[int, int] | None = None,
                 seed: int = 0, input_scale: str = "brain_median") -> list[Animal]:
    """Every animal of a ``mouse_brain/`` folder (tissue: "mixture" or "labels"; ``input_scale``: ``INPUT_SCALES``)."""
    return [animal_from_brain(brain, size, seed, input_scale) for brain in load_mouse_brain(root, tissue=tissue)]


def phantom_animals(count: int, shape: tuple[int, int, int], seed: int) -> list[Animal]:
    """``count`` synthetic brains (``synthetic_brain``, artefacts on) sliced along axis 0; each whole volume,
    head included, is scaled by its 99.5th percentile (``Config.input_scale`` applies to real animals only)."""
    animals = []
    for i in range(count):
        volume, labels, brain = synthetic_brain(seed * 1000 + i, shape=shape, artefacts=True)
        scaled = np.clip(volume.array / np.percentile(volume.array, INPUT_PERCENTILE), 0, 1).astype(np.float32)
        animals.append(Animal(f"phantom-{i + 1}", scaled * brain, scaled, labels, brain))
    return animals


def split_animals(animals: list[Animal], test_numbers: tuple[int, ...]) -> tuple[list[Animal], list[Animal]]:
    """(train, test): the animals numbered ``test_numbers`` (1-based, clipped to the count) are held out."""
    picked = {min(max(int(n), 1), len(animals)) - 1 for n in test_numbers}
    if len(picked) >= len(animals):
        raise ValueError(f"test animals {test_numbers}: leave at least one of {len(animals)} animals for training")
    return [a for i, a in enumerate(animals) if i not in picked], [a for i, a in enumerate(animals) if i in picked]


def network_input(images: np.ndarray, channels: int = 1) -> np.ndarray:
    """Network input (N, channels, H, W) float32 of a stack of slices (S, H, W): channel j of slice i is
    slice i + j - (channels - 1) // 2 (zero beyond the stack), so the middle channel is the slice itself
    and ``channels`` = 1 is the paper's single slice. A 4-D array is taken as already built and checked."""
    images = np.asarray(images, np.float32)
    if channels < 1 or channels % 2 == 0:
        raise ValueError(f"network input: channels must be odd and positive (slice + neighbours), got {channels}")
    if images.ndim == 4:
        if images.shape[1] != channels:
            raise ValueError(f"network input: {images.shape[1]} channels given, the model takes {channels}")
        return images
    if images.ndim != 3:
        raise ValueError(f"network input: expected slices (S, H, W), got shape {images.shape}")
    side = (channels - 1) // 2
    padded = np.pad(images, ((side, side), (0, 0), (0, 0)))
    return np.stack([padded[j:j + len(images)] for j in range(channels)], axis=1)


def model_channels(model) -> int:
    """Input channels of a segmentation model (``in_channels`` of the U-Net; 1 when it does not say)."""
    return int(getattr(model, "in_channels", 1))


def training_slices(animals: list[Animal], min_brain_fraction: float, val_fraction: float, seed: int,
                    step: int = 1, channels: int = 1) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """((images, tissue), (images, tissue)): every ``step``-th slice with at least ``min_brain_fraction``
    brain of the training animals, split at random into training and validation slices (paper: 80/20).
    Images are ``network_input`` (N, channels, H, W): each slice with its neighbours as channels."""
    images, tissue = [], []
    for animal in animals:
        fractions = animal.mask.reshape(len(animal.mask), -1).mean(1)
        keep = np.flatnonzero(fractions >= min_brain_fraction)[::step]
        images.append(network_input(animal.image, channels)[keep])
        tissue.append(animal.tissue[keep])
    images, tissue = np.concatenate(images), np.concatenate(tissue)
    order = np.random.default_rng(seed).permutation(len(images))
    n_val = int(round(val_fraction * len(images))) if len(images) > 1 else 0
    val, train = order[:n_val], order[n_val:]
    return (images[train], tissue[train]), (images[val], tissue[val])
