"""torch Datasets of 2-D slices for ACDC, COVID-CT, MedSeg lesions and mouse brain, with group splits.

Every dataset returns a dict per item: ``image`` float32 tensor (1, H, W) in 0..1, ``label`` (int64:
a (H, W) class map for segmentation, a scalar for classification) and string/int provenance fields;
``dataset.groups`` holds one patient/group key per item for ``patient_split`` / ``patient_folds``.
Images of different sizes need ``size=(H, W)`` to be batched (image bilinear, labels nearest).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset, Subset

from medinterp_widgets.data.acdc import AcdcCase
from medinterp_widgets.data.covid_ct import CovidCtImage
from medinterp_widgets.data.covid_lesions import LesionSlice
from medinterp_widgets.data.images import resize_pair
from medinterp_widgets.data.mouse_brain import MouseBrain
from medinterp_widgets.data.splits import patient_folds, patient_split, select_indices

_AXES = {"z": 0, "y": 1, "x": 2}


def _sample(image: np.ndarray, label, size, **extra) -> dict:
    """Pack one 2-D sample: image (1, H, W) float32, label int64 map or scalar, provenance fields."""
    if isinstance(label, np.ndarray):
        image, label = resize_pair(image, label, size)
        label_tensor = torch.from_numpy(np.ascontiguousarray(label).astype(np.int64))  # (H, W)
    else:
        image, _ = resize_pair(image, None, size)
        label_tensor = torch.tensor(int(label), dtype=torch.int64)  # ()
    image_tensor = torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32))[None]  # (H, W) -> (1, H, W)
    return {"image": image_tensor, "label": label_tensor, **extra}


class AcdcSliceDataset(Dataset):
    """2-D slices of ACDC cases (training slices as they are, validation volumes sliced along z)."""

    def __init__(self, cases: Sequence[AcdcCase], size: tuple[int, int] | None = None):
        self.cases = list(cases)
        self.size = size
        self.index = [(c, s) for c, case in enumerate(self.cases) for s in range(case.n_slices())]
        self.groups = [self.cases[c].patient_id for c, _ in self.index]

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, i: int) -> dict:
        case_number, slice_number = self.index[i]
        case = self.cases[case_number]
        image, label = case.read()
        if case.is_volume:
            image, label = image[slice_number], label[slice_number]  # (S, H, W) -> (H, W)
        slice_index = case.slice_index if case.slice_index is not None else slice_number
        return _sample(image, label, self.size, patient_id=case.patient_id, frame=case.frame, slice=slice_index)


class CovidCtDataset(Dataset):
    """COVID-CT classification: image (1, H, W), label 1 COVID / 0 non-COVID, source group key."""

    def __init__(self, items: Sequence[CovidCtImage], size: tuple[int, int] | None = (224, 224)):
        self.items = list(items)
        self.size = size
        self.groups = [item.group for item in self.items]
        self.labels = [item.label for item in self.items]

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> dict:
        item = self.items[i]
        return _sample(item.read(), item.label, self.size, group=item.group, path=str(item.path))


class CovidLesionDataset(Dataset):
    """MedSeg lesion segmentation: image (1, H, W), label (H, W) 0/1 (or 0/1/2 multiclass)."""

    def __init__(self, slices: Sequence[LesionSlice], size: tuple[int, int] | None = None):
        self.slices = list(slices)
        self.size = size
        self.groups = [item.case_id for item in self.slices]

    def __len__(self) -> int:
        return len(self.slices)

    def __getitem__(self, i: int) -> dict:
        item = self.slices[i]
        image, mask = item.read()
        return _sample(image, mask, self.size, case_id=item.case_id)


def normalize_intensity(image: np.ndarray, mask: np.ndarray, percentile: float = 99.5) -> np.ndarray:
    """Scale to 0..1: ``clip(image / p, 0, 1)`` with p the ``percentile`` of the voxels inside ``mask``."""
    inside = image[mask] if mask.any() else image.ravel()
    scale = float(np.percentile(inside, percentile)) or 1.0
    return np.clip(image / scale, 0.0, 1.0).astype(np.float32)


normalise_intensity = normalize_intensity  # the former spelling, kept as an alias


def _brain_fraction_per_slice(mask: np.ndarray, axis: int) -> np.ndarray:
    """Fraction of brain voxels in each slice along ``axis``."""
    return np.moveaxis(mask, axis, 0).reshape(mask.shape[axis], -1).mean(axis=1)


class MouseBrainSliceDataset(Dataset):
    """Mouse-brain slices along ``axis`` ('z', 'y', 'x' of the Volume): image, tissue map, brain mask.

    ``label`` is the tissue map (0 bg, 1 WM, 2 GM, 3 CSF); ``mask`` the brain mask (int64 0/1).
    Slices whose brain-mask fraction is below ``min_brain_fraction`` are left out.
    """

    def __init__(self, brains: Sequence[MouseBrain], axis: str = "z", min_brain_fraction: float = 0.0,
                 size: tuple[int, int] | None = None):
        if axis not in _AXES:
            raise ValueError(f"axis must be one of 'z', 'y', 'x', got {axis!r}")
        self.axis, self.size = _AXES[axis], size
        self.images = [normalize_intensity(b.image.array, b.mask.array) for b in brains]
        self.brains = list(brains)
        self.index = [
            (b, s)
            for b, brain in enumerate(self.brains)
            for s, fraction in enumerate(_brain_fraction_per_slice(brain.mask.array, self.axis))
            if fraction >= min_brain_fraction
        ]
        self.groups = [self.brains[b].subject_id for b, _ in self.index]

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, i: int) -> dict:
        b, s = self.index[i]
        brain = self.brains[b]
        image = np.take(self.images[b], s, axis=self.axis)  # (D0, D1, D2) -> 2-D slice
        tissue = np.take(brain.tissue.array, s, axis=self.axis)
        mask = np.take(brain.mask.array, s, axis=self.axis).astype(np.uint8)
        _, resized = resize_pair(image, mask, self.size)
        assert resized is not None  # a label in, a label out
        sample = _sample(image, tissue, self.size, subject_id=brain.subject_id, slice=s)
        sample["mask"] = torch.from_numpy(resized.astype(np.int64))  # (H, W)
        return sample


def split_by_group(dataset, val_fraction: float = 0.2, seed: int = 0,
                   strata: Sequence[Hashable] | None = None) -> tuple[Subset, Subset]:
    """(train, val) Subsets of a dataset with ``.groups``: no group on both sides (see ``patient_split``)."""
    train_ids, val_ids = patient_split(dataset.groups, val_fraction, seed, strata)
    return _subset(dataset, train_ids), _subset(dataset, val_ids)


def fold_subsets(
    dataset, k: int = 5, seed: int = 0, strata: Sequence[Hashable] | None = None
) -> list[tuple[Subset, Subset]]:
    """k (train, val) Subset pairs for group-level cross-validation (see ``patient_folds``)."""
    folds = patient_folds(dataset.groups, k, seed, strata)
    return [(_subset(dataset, train), _subset(dataset, val)) for train, val in folds]


def _subset(dataset, group_ids) -> Subset:
    """The items of ``dataset`` whose group is in ``group_ids``."""
    return Subset(dataset, select_indices(dataset.groups, group_ids))
