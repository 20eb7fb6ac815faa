"""Small synthetic training tasks for the training app: data sets and tiny models that train on a CPU
in seconds (32x32 images, a few thousand parameters).

Tasks: LV cavity segmentation on the beating cine phantom (paper 1), WM/GM/CSF segmentation on the
brain phantom (paper 2), normal/HCM/DCM/ARV classification on synthetic cardiac MRI (paper 3).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from torch.utils.data import TensorDataset

from medinterp_widgets.data.datasets import normalize_intensity
from medinterp_widgets.data.synthetic import synthetic_brain_slices, synthetic_cardiac_mri, synthetic_cine_lv
from medinterp_widgets.models import GapFCN, UNet, VGGClassifier

SIZE = 32


@dataclass(frozen=True)
class TrainingTask:
    """A ready-to-train task: ``data(n, seed) -> (images (n, 1, S, S) float32, labels)``."""

    name: str
    kind: str  # TrainConfig.task: "segmentation" or "classification"
    n_classes: int
    models: tuple[str, ...]
    data: Callable[[int, int], tuple[np.ndarray, np.ndarray]]
    best_metric: str
    best_mode: str


def lv_slices(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(n, 1, S, S) cine phantom slices scaled to 0..1 and their LV cavity masks (n, S, S) as 0/1."""
    images, labels, phantom = [], [], seed
    while sum(len(batch) for batch in images) < n:
        volume, masks = synthetic_cine_lv(phantom, n_phases=4, n_slices=4, size=SIZE)
        array = volume.array.reshape(-1, SIZE, SIZE).astype(np.float32)  # (t*z, S, S)
        images.append(normalize_intensity(array, array > 0))
        labels.append((masks.reshape(-1, SIZE, SIZE) == 1).astype(np.int64))
        phantom += 1000
    return np.concatenate(images)[:n, None], np.concatenate(labels)[:n]


def brain_slices(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    images, labels, _ = synthetic_brain_slices(n, seed, size=SIZE, slices_per_volume=4)
    return images[:, None], labels.astype(np.int64)


def cardiac_images(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    batch = synthetic_cardiac_mri(n, seed, size=SIZE)
    return batch.images[:, None], np.asarray(batch.labels, dtype=np.int64)


TASKS = {
    "LV segmentation (synthetic cine)": TrainingTask("LV segmentation (synthetic cine)", "segmentation", 2,
                                                     ("GapFCN", "UNet"), lv_slices, "val/dice_mean", "max"),
    "brain tissue (synthetic)": TrainingTask("brain tissue (synthetic)", "segmentation", 4, ("UNet", "GapFCN"),
                                             brain_slices, "val/dice_mean", "max"),
    "cardiac classification (synthetic)": TrainingTask("cardiac classification (synthetic)", "classification", 4,
                                                       ("VGG",), cardiac_images, "val/accuracy", "max"),
}


def tiny_model(name: str, n_classes: int, seed: int = 0) -> torch.nn.Module:
    """A few-thousand-parameter GapFCN / UNet / VGG for 1-channel 32x32 inputs, initialised from ``seed``
    (the global torch RNG is left as it was)."""
    builders = {
        "GapFCN": lambda: GapFCN(1, n_classes, base_channels=4, depth=2, convs_per_stage=1),
        "UNet": lambda: UNet(1, n_classes, base_channels=4, depth=2),
        "VGG": lambda: VGGClassifier(1, n_classes, width=4, cfg="tiny", dropout=0.0),
    }
    if name not in builders:
        raise ValueError(f"model: expected one of {sorted(builders)}, got {name!r}")
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return builders[name]()


def task_datasets(task: TrainingTask, n_train: int = 48, n_val: int = 16, seed: int = 0):
    """(train, val) TensorDatasets of ``task`` from disjoint seeds."""
    def as_dataset(n: int, data_seed: int) -> TensorDataset:
        images, labels = task.data(n, data_seed)
        return TensorDataset(torch.from_numpy(np.ascontiguousarray(images)), torch.from_numpy(labels))

    return as_dataset(n_train, seed), as_dataset(n_val, seed + 1)
