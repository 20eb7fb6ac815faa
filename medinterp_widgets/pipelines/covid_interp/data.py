"""Images for the covid-interp pipeline: UCSD COVID-CT + MedSeg lesion slices, or synthetic stand-ins.

Real images are read through the data layer (``load_covid_ct`` / ``CovidCtDataset``,
``load_covid_lesions``), resized to the size a model needs and kept in memory (grey, 0..1); each
model's ``Preprocess`` maps them to network inputs. Lesion slices also keep their native-size masks,
on which the consistent degree is scored.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from medinterp_widgets.data import CovidCtDataset, load_covid_ct, load_covid_lesions, synthetic_covid_ct
from medinterp_widgets.data.images import resize_pair

CT_FOLDER = "covid_ct"
LESION_FOLDER = "covid_ct_lesions"


@dataclass(frozen=True)
class ImageSet:
    """Classification set: ``images`` (N, 1, H, W) float32 in 0..1, ``labels`` (N,) int64 (1 COVID), ``groups``."""

    images: torch.Tensor
    labels: torch.Tensor
    groups: list[str]
    source: str

    def __post_init__(self) -> None:
        if not (len(self.images) == len(self.labels) == len(self.groups)):
            raise ValueError(f"ImageSet: {len(self.images)} images, {len(self.labels)} labels, "
                             f"{len(self.groups)} groups")

    def __len__(self) -> int:
        return len(self.labels)


@dataclass(frozen=True)
class LesionSet:
    """Lesion slices: images (N, 1, S, S) in 0..1, masks (N, S, S) 0/1, native masks (one (h, w) 0/1 each), ids."""

    images: torch.Tensor
    masks: np.ndarray
    native_masks: list[np.ndarray]
    case_ids: list[str]
    source: str

    def __len__(self) -> int:
        return len(self.case_ids)

    def subset(self, indices) -> "LesionSet":
        chosen = [int(i) for i in indices]
        return LesionSet(self.images[chosen], self.masks[chosen], [self.native_masks[i] for i in chosen],
                         [self.case_ids[i] for i in chosen], self.source)


def _subset_indices(n: int, limit: int | None, seed: int) -> list[int]:
    if limit is None or limit >= n:
        return list(range(n))
    return sorted(np.random.default_rng(seed).permutation(n)[:limit].tolist())


def _real_folder(data_root: str | Path | None, name: str) -> Path | None:
    """``data_root/name`` when it is a folder (the real set is there), else None (use the synthetic one)."""
    folder = Path(data_root) / name if data_root is not None else None
    return folder if folder is not None and folder.is_dir() else None


def load_image_set(data_root: str | Path | None, image_size: int, *, max_images: int | None = None,
                   synthetic_images: int = 120, seed: int = 0) -> ImageSet:
    """The real COVID-CT set under ``data_root/covid_ct`` when present, else ``synthetic_covid_ct``."""
    folder = _real_folder(data_root, CT_FOLDER)
    if folder is not None:
        dataset = CovidCtDataset(load_covid_ct(folder), size=(image_size, image_size))
        chosen = _subset_indices(len(dataset), max_images, seed)
        images = torch.stack([dataset[i]["image"] for i in chosen])  # (N, 1, S, S)
        labels = torch.tensor([dataset.labels[i] for i in chosen], dtype=torch.int64)
        return ImageSet(images, labels, [dataset.groups[i] for i in chosen], f"UCSD COVID-CT ({folder})")
    pictures, labels, _ = synthetic_covid_ct(synthetic_images, seed=seed, size=image_size)
    groups = [f"synthetic-{i}" for i in range(len(labels))]
    return ImageSet(torch.from_numpy(pictures)[:, None], torch.from_numpy(labels).long(), groups,
                    "synthetic_covid_ct")


def load_lesion_set(data_root: str | Path | None, image_size: int, *, max_slices: int | None = None,
                    seed: int = 0) -> LesionSet:
    """MedSeg lesion slices under ``data_root/covid_ct_lesions`` when present, else synthetic COVID slices."""
    folder = _real_folder(data_root, LESION_FOLDER)
    if folder is not None:
        slices = load_covid_lesions(folder)
        slices = [slices[i] for i in _subset_indices(len(slices), max_slices, seed)]
        pairs = [item.read(radiological=True) for item in slices]  # spine down, as the UCSD figures
        native = [(mask > 0).astype(np.uint8) for _, mask in pairs]
        resized = [resize_pair(image, mask, (image_size, image_size)) for (image, _), mask in zip(pairs, native)]
        images = torch.stack([torch.from_numpy(np.ascontiguousarray(image, np.float32))[None] for image, _ in resized])
        masks = np.stack([mask for _, mask in resized]).astype(np.uint8)  # (N, S, S)
        return LesionSet(images, masks, native, [item.case_id for item in slices], f"MedSeg lesions ({folder})")
    count = 2 * (max_slices or 10)
    pictures, labels, masks = synthetic_covid_ct(count, seed=seed + 1, size=image_size)
    keep = np.flatnonzero((labels == 1) & (masks.reshape(count, -1).max(axis=1) > 0))[:max_slices or count]
    binary = (masks[keep] > 0).astype(np.uint8)
    return LesionSet(torch.from_numpy(pictures[keep])[:, None], binary, list(binary),
                     [f"synthetic-{i}" for i in keep], "synthetic_covid_ct lesions")


def split_lesions(case_ids: list[str], dev_fraction: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(dev indices, untouched indices): a seeded random ``dev_fraction`` of the slices may inform choices
    (Grad-CAM layer, self-supervised pretraining); the others are only scored."""
    order = np.random.default_rng(seed + 7919).permutation(len(case_ids))
    n_dev = int(round(dev_fraction * len(case_ids)))
    return np.sort(order[:n_dev]), np.sort(order[n_dev:])


def thumbnails(images: torch.Tensor, size: int = 32) -> np.ndarray:
    """(N, 1, H, W) in 0..1 -> (N, size, size) uint8 previews (area-averaged)."""
    small = torch.nn.functional.adaptive_avg_pool2d(images.float(), size)  # (N, 1, size, size)
    return (small[:, 0].clamp(0, 1) * 255).round().to(torch.uint8).numpy()
