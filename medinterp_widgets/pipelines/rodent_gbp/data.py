"""Train / test slice sets: skull-stripped training slices, unmasked test slices with artefacts.

Phantom (default): ``synthetic_brain_slices(artefacts=True)`` (bright blobs outside the brain, bias
field, Rician noise) times the brain mask for training, unmasked phantoms of other seeds for testing
(artefact-free phantoms are scaled differently: their brain looked like white matter to the test set).
Real mouse brain: the shipped templates are already skull-stripped (zero outside the mask), so the
held-out animals get a synthetic head added outside their brain mask (``add_head_artefacts``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import ndimage

from medinterp_widgets.data import MouseBrainSliceDataset, load_mouse_brain, synthetic_brain_slices
from medinterp_widgets.data.synthetic.shapes import bias_field, normalized_radius, rician_noise, smooth_noise

SLICES_PER_VOLUME = 8


@dataclass(frozen=True)
class SliceSet:
    """2-D slices: images (N, H, W) float32 0..1, labels (N, H, W) uint8, masks (N, H, W) bool."""

    images: np.ndarray
    labels: np.ndarray
    masks: np.ndarray
    levels: np.ndarray  # (N,) anatomical position key: slices with equal level are comparable
    groups: tuple[str, ...]  # animal / phantom id of each slice
    source: str


def add_head_artefacts(image: np.ndarray, mask: np.ndarray, seed: int) -> np.ndarray:
    """Unmasked-looking slice: a scalp/muscle ring, dark skull and bright blobs outside ``mask``, then
    a bias field and Rician noise over everything (new float32 array clipped to 0..1)."""
    rng = np.random.default_rng(seed)
    mask = np.asarray(mask, dtype=bool)
    distance = ndimage.distance_transform_edt(~mask)  # pixels from the brain
    outside = np.zeros(mask.shape, np.float32)
    outside[(distance > 0) & (distance <= 2)] = 0.08  # skull: dark
    ring = (distance > 2) & (distance <= 2 + rng.uniform(5, 9))
    outside[ring] = 0.45 + 0.1 * smooth_noise(rng, mask.shape, 2.0)[ring]  # muscle / scalp
    candidates = np.argwhere(ring)
    for index in rng.choice(len(candidates), size=min(int(rng.integers(3, 7)), len(candidates)), replace=False):
        blob = normalized_radius(mask.shape, candidates[index], rng.uniform(1.5, 4.0, 2)) <= 1
        outside[blob & ~mask] = rng.uniform(0.8, 1.1)  # glands, fat pads, vessels
    combined = np.where(mask, np.asarray(image, dtype=np.float32), outside)
    noisy = rician_noise(rng, combined * bias_field(rng, mask.shape, strength=0.25), sigma=0.03)
    return np.clip(noisy, 0.0, 1.0).astype(np.float32)


def phantom_sets(n_train: int, n_test: int, size: int, seed: int) -> tuple[SliceSet, SliceSet]:
    """(train, test) from the brain phantom (different seeds), both with artefacts; training images are
    skull-stripped (image * mask), so brain intensities follow the same scaling in both."""
    images, labels, masks = synthetic_brain_slices(n_train, seed, size=size, artefacts=True,
                                                   slices_per_volume=SLICES_PER_VOLUME)
    train = SliceSet(images * masks, labels, masks, np.arange(n_train) % SLICES_PER_VOLUME,
                     tuple(f"phantom-{i // SLICES_PER_VOLUME}" for i in range(n_train)), "synthetic_brain (masked)")
    images, labels, masks = synthetic_brain_slices(n_test, seed + 1, size=size, artefacts=True,
                                                   slices_per_volume=SLICES_PER_VOLUME)
    test = SliceSet(images, labels, masks, np.arange(n_test) % SLICES_PER_VOLUME,
                    tuple(f"phantom-test-{i // SLICES_PER_VOLUME}" for i in range(n_test)),
                    "synthetic_brain (artefacts=True, unmasked)")
    return train, test


def _stack(dataset: MouseBrainSliceDataset, step: int) -> tuple[np.ndarray, ...]:
    items = [dataset[i] for i in range(0, len(dataset), step)]
    images = np.stack([item["image"][0].numpy() for item in items]).astype(np.float32)
    labels = np.stack([item["label"].numpy() for item in items]).astype(np.uint8)
    masks = np.stack([item["mask"].numpy() for item in items]).astype(bool)
    levels = np.array([item["slice"] for item in items])
    return images, labels, masks, levels, tuple(item["subject_id"] for item in items)


def mouse_sets(root: Path, train_animals: int, n_test: int, step: int, min_brain_fraction: float,
               seed: int, size: tuple[int, int] | None = None) -> tuple[SliceSet, SliceSet]:
    """(train, test) split by animal: the first ``train_animals`` train, the next one is the test animal.

    Test slices: ``n_test`` evenly spread slices of the held-out animal with head artefacts added;
    ``size`` resamples every slice to (H, W) (image bilinear, labels and mask nearest).
    """
    brains = load_mouse_brain(root)
    if len(brains) <= train_animals:
        raise ValueError(f"{root}: {len(brains)} animals, need more than train_animals={train_animals}")
    size = tuple(size) if size else None
    train_set = MouseBrainSliceDataset(brains[:train_animals], axis="z", min_brain_fraction=min_brain_fraction,
                                       size=size)
    test_set = MouseBrainSliceDataset(brains[train_animals:train_animals + 1], axis="z",
                                      min_brain_fraction=min_brain_fraction, size=size)
    images, labels, masks, levels, groups = _stack(train_set, step)
    train = SliceSet(images * masks, labels, masks, levels, groups,  # strip what resampling bled past the mask
                     source=f"mouse_brain {train_animals} animals (skull-stripped)")
    images, labels, masks, levels, groups = _stack(test_set, max(1, len(test_set) // max(n_test, 1)))
    images, labels, masks, levels, groups = images[:n_test], labels[:n_test], masks[:n_test], levels[:n_test], groups[:n_test]
    unmasked = np.stack([add_head_artefacts(image, mask, seed + i) for i, (image, mask) in enumerate(zip(images, masks))])
    test = SliceSet(unmasked, labels, masks, levels, groups, f"mouse_brain {groups[0]} (+ synthetic head artefacts)")
    return train, test


def reference_indices(train: SliceSet, level: int) -> list[int]:
    """For each training animal / phantom, the index of its slice whose level is nearest ``level``."""
    groups = np.asarray(train.groups)
    indices = []
    for group in dict.fromkeys(train.groups):
        candidates = np.flatnonzero(groups == group)
        indices.append(int(candidates[np.argmin(np.abs(train.levels[candidates] - level))]))
    return indices
