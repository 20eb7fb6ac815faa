"""Images for the covid-interp pipeline: UCSD COVID-CT + MedSeg lesion slices, or synthetic stand-ins.

Real images are read once through the data layer (``load_covid_ct`` / ``CovidCtDataset``,
``load_covid_lesions`` / ``CovidLesionDataset``, resized to ``image_size``) and kept in memory, so the
folds and the feature extractors do not decode the PNGs again.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from medinterp_widgets.data import (CovidCtDataset, CovidLesionDataset, load_covid_ct, load_covid_lesions,
                                    synthetic_covid_ct)
from medinterp_widgets.data.intensity import standardise  # the network input: per-image z-score

CT_FOLDER = "covid_ct"
LESION_FOLDER = "covid_ct_lesions"


class ImageSet(Dataset):
    """In-memory classification set: ``images`` (N, 1, H, W) float32 in 0..1 (for LBP and display),
    ``inputs`` their per-image z-scores (what the network sees), ``labels`` (N,), ``groups``."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, groups: list[str], source: str):
        if not (len(images) == len(labels) == len(groups)):
            raise ValueError(f"ImageSet: {len(images)} images, {len(labels)} labels, {len(groups)} groups")
        self.images, self.labels, self.groups, self.source = images, labels, list(groups), source
        self.inputs = standardise(images)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> dict:
        return {"image": self.inputs[i], "label": self.labels[i]}


@dataclass(frozen=True)
class LesionSet:
    """Lesion slices for the consistent degree: images (N, 1, H, W) in 0..1, lesion masks (N, H, W) 0/1, ids."""

    images: torch.Tensor
    masks: np.ndarray
    case_ids: list[str]
    source: str

    @property
    def inputs(self) -> torch.Tensor:
        return standardise(self.images)


def _stack(dataset, indices) -> tuple[torch.Tensor, torch.Tensor]:
    samples = [dataset[i] for i in indices]
    images = torch.stack([s["image"] for s in samples])  # (N, 1, H, W)
    labels = torch.stack([s["label"] for s in samples])  # (N,) or (N, H, W)
    return images, labels


def _subset_indices(n: int, limit: int | None, seed: int) -> list[int]:
    if limit is None or limit >= n:
        return list(range(n))
    return sorted(np.random.default_rng(seed).permutation(n)[:limit].tolist())


def load_image_set(data_root: str | Path | None, image_size: int, *, max_images: int | None = None,
                   synthetic_images: int = 120, seed: int = 0) -> ImageSet:
    """The real COVID-CT set under ``data_root/covid_ct`` when present, else ``synthetic_covid_ct``."""
    folder = Path(data_root) / CT_FOLDER if data_root is not None else None
    size = (image_size, image_size)
    if folder is not None and folder.is_dir():
        dataset = CovidCtDataset(load_covid_ct(folder), size=size)
        chosen = _subset_indices(len(dataset), max_images, seed)
        images, labels = _stack(dataset, chosen)
        return ImageSet(images, labels, [dataset.groups[i] for i in chosen], f"UCSD COVID-CT ({folder})")
    pictures, labels, _ = synthetic_covid_ct(synthetic_images, seed=seed, size=image_size)
    images = torch.from_numpy(pictures)[:, None]  # (N, H, W) -> (N, 1, H, W)
    groups = [f"synthetic-{i}" for i in range(len(labels))]
    return ImageSet(images, torch.from_numpy(labels), groups, "synthetic_covid_ct")


def load_lesion_set(data_root: str | Path | None, image_size: int, *, max_slices: int | None = None,
                    seed: int = 0) -> LesionSet:
    """MedSeg lesion slices under ``data_root/covid_ct_lesions`` when present, else synthetic COVID slices."""
    folder = Path(data_root) / LESION_FOLDER if data_root is not None else None
    size = (image_size, image_size)
    if folder is not None and folder.is_dir():
        dataset = CovidLesionDataset(load_covid_lesions(folder), size=size)
        chosen = _subset_indices(len(dataset), max_slices, seed)
        images, masks = _stack(dataset, chosen)
        ids = [dataset.groups[i] for i in chosen]
        return LesionSet(images, (masks.numpy() > 0).astype(np.uint8), ids, f"MedSeg lesions ({folder})")
    count = 2 * (max_slices or 10)
    pictures, labels, masks = synthetic_covid_ct(count, seed=seed + 1, size=image_size)
    keep = np.flatnonzero((labels == 1) & (masks.reshape(count, -1).max(axis=1) > 0))[:max_slices or count]
    images = torch.from_numpy(pictures[keep])[:, None]  # (N, H, W) -> (N, 1, H, W)
    return LesionSet(images, (masks[keep] > 0).astype(np.uint8), [f"synthetic-{i}" for i in keep],
                     "synthetic_covid_ct lesions")


def thumbnails(images: torch.Tensor, size: int = 32) -> np.ndarray:
    """(N, 1, H, W) in 0..1 -> (N, size, size) uint8 previews (area-averaged)."""
    small = torch.nn.functional.adaptive_avg_pool2d(images.float(), size)  # (N, 1, size, size)
    return (small[:, 0].clamp(0, 1) * 255).round().to(torch.uint8).numpy()
