"""LV data for the pipeline: binary (background / LV cavity) slices at one size, with their spacing.

Sources (each slice optionally centre-cropped, then resized): Sunnybrook inner contours (study-level split), ACDC label 3 (train slices / val volumes),
or ``synthetic_cine_lv`` phantoms (case-level split). Resizing to ``image_size`` scales the pixel
spacing by original / new size, so APD stays in millimetres of the original image.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from medinterp_widgets import data
from medinterp_widgets.data.images import resize_pair
from medinterp_widgets.data.sunnybrook import minmax_normalize
from medinterp_widgets.pipelines.dry_run import capped_items

ACDC_LV_LABEL = 3
SYNTHETIC_LV_LABEL = 1
SYNTHETIC_SIZE = 128  # phantom field of view 128 x 1.4 mm; resized to image_size


@dataclass(frozen=True)
class LvSlice:
    """One resized slice: image (H, W) float32 in 0..1, mask (H, W) uint8 {0, 1}, spacing (dy, dx) mm."""

    image: np.ndarray
    mask: np.ndarray
    spacing: tuple[float, float]
    group: str  # study / patient / phantom id (the split unit)


class LvDataset(Dataset):
    """Torch view: item = (image (1, H, W) float32, mask (H, W) int64)."""

    def __init__(self, slices: list[LvSlice]):
        self.slices = list(slices)

    def __len__(self) -> int:
        return len(self.slices)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        item = self.slices[index]
        return torch.from_numpy(item.image)[None], torch.from_numpy(item.mask.astype(np.int64))  # (1, H, W), (H, W)

    @property
    def spacings(self) -> list[tuple[float, float]]:
        return [s.spacing for s in self.slices]


@dataclass
class LvData:
    train: LvDataset
    val: LvDataset
    source: str  # "sunnybrook", "acdc" or "synthetic"
    description: str


def center_crop(array: np.ndarray, fraction: float) -> np.ndarray:
    """The central ``fraction`` of each side of a 2-D array (1.0: the array itself, not copied)."""
    if fraction >= 1.0:
        return array
    height, width = array.shape
    crop_h, crop_w = max(1, round(height * fraction)), max(1, round(width * fraction))
    top, left = (height - crop_h) // 2, (width - crop_w) // 2
    return array[top:top + crop_h, left:left + crop_w]


def make_slice(image: np.ndarray, mask: np.ndarray, spacing, size: int, group: str,
               crop_fraction: float = 1.0) -> LvSlice:
    """Normalise to 0..1, crop the central ``crop_fraction``, resize image (area/bilinear) and mask
    (nearest) to size x size; spacing scales by (cropped side / size)."""
    image, mask = center_crop(np.asarray(image, np.float32), crop_fraction), center_crop(mask, crop_fraction)
    height, width = image.shape
    resized, resized_mask = resize_pair(minmax_normalize(image), mask.astype(np.uint8), (size, size))
    scaled = (float(spacing[0]) * height / size, float(spacing[1]) * width / size)
    return LvSlice(np.ascontiguousarray(resized, np.float32), (resized_mask > 0).astype(np.uint8), scaled, group)


def choose_source(dataset: str, data_root, preset: str) -> str:
    """The data set a run uses: ``dataset`` unless "auto" (real data when present, else synthetic)."""
    if dataset != "auto":
        return dataset
    root = Path(data_root) if data_root else None
    preferred = ("acdc", "sunnybrook") if preset == "full" else ("sunnybrook", "acdc")
    for name in preferred:
        if root is not None and (root / name).is_dir():
            return name
    return "synthetic"


def load_lv_data(config) -> LvData:
    """Train / validation LvDatasets for ``config`` (a pipeline Config)."""
    source = choose_source(config.dataset, config.data_root, config.preset)
    if source != "synthetic" and not config.data_root:
        raise ValueError(f"Config.dataset={source!r} needs data_root (a folder holding {source}/)")
    loaders = {"sunnybrook": _sunnybrook, "acdc": _acdc, "synthetic": _synthetic}
    train, val, description = loaders[source](config)
    if config.max_train_slices:
        train = train[:config.max_train_slices]
    val = val[:capped_items(len(val), config.limit_steps)]
    if not train or not val:
        raise ValueError(f"{source}: the split left {len(train)} training and {len(val)} validation slices")
    return LvData(LvDataset(train), LvDataset(val), source, description)


def external_sunnybrook(config, source: str) -> LvDataset | None:
    """Every Sunnybrook slice (the paper's own data) as an external test set of a run that trained on
    another source (ACDC in the full preset); None when there is no ``sunnybrook/`` folder or it trained on it."""
    root = Path(config.data_root) / "sunnybrook" if config.data_root else None
    if source == "sunnybrook" or root is None or not root.is_dir():
        return None
    train, val, _ = _sunnybrook(config)
    slices = train + val
    return LvDataset(slices[:capped_items(len(slices), config.limit_steps)])


def _sunnybrook(config) -> tuple[list[LvSlice], list[LvSlice], str]:
    root = Path(config.data_root) / "sunnybrook"
    slices = data.load_sunnybrook(root)
    train_ids, val_ids = data.patient_split([s.study_id for s in slices], config.val_fraction, config.seed)
    made = {s.study_id: [] for s in slices}
    for s in slices:
        made[s.study_id].append(make_slice(s.image, s.lv_mask, s.spacing, config.image_size, s.study_id,
                                                  config.crop_fraction))
    train = [item for study in train_ids for item in made[study]]
    val = [item for study in val_ids for item in made[study]]
    text = (f"Sunnybrook inner contours, {len(slices)} slices of {len(made)} studies; train studies {train_ids}, "
            f"validation {val_ids}; central {config.crop_fraction:.0%} crop resized to {config.image_size}^2")
    return train, val, text


def _acdc(config) -> tuple[list[LvSlice], list[LvSlice], str]:
    root = Path(config.data_root) / "acdc"
    sets = {split: data.AcdcSliceDataset(data.load_acdc(root, split)) for split in ("train", "val")}
    made = {}
    for split, dataset in sets.items():
        made[split] = []
        for index in range(len(dataset)):
            item = dataset[index]
            image, label = item["image"][0].numpy(), item["label"].numpy()  # (H, W), (H, W)
            made[split].append(make_slice(image, label == ACDC_LV_LABEL, (1.0, 1.0), config.image_size,
                                          item["patient_id"], config.crop_fraction))
    text = (f"ACDC LV cavity (label 3): {len(made['train'])} training slices, {len(made['val'])} slices of the "
            f"validation volumes; resized to {config.image_size}^2; spacing unknown in the preprocessed HDF5 "
            "(APD in original-pixel units, 1 px = 1 'mm')")
    return made["train"], made["val"], text


def _synthetic(config) -> tuple[list[LvSlice], list[LvSlice], str]:
    cases = []
    for case in range(config.synthetic_cases):
        volume, masks = data.synthetic_cine_lv(config.seed + case, n_phases=config.synthetic_phases,
                                               n_slices=config.synthetic_slices, size=SYNTHETIC_SIZE)
        spacing = volume.spacing[-2:]
        for t in range(masks.shape[0]):
            for z in range(masks.shape[1]):
                lv = masks[t, z] == SYNTHETIC_LV_LABEL
                if lv.any():
                    cases.append(make_slice(volume.array[t, z], lv, spacing, config.image_size, f"phantom{case}",
                                            config.crop_fraction))
    groups = [s.group for s in cases]
    train_ids, val_ids = data.patient_split(groups, config.val_fraction, config.seed)
    train = [s for s in cases if s.group in set(train_ids)]
    val = [s for s in cases if s.group in set(val_ids)]
    text = (f"synthetic_cine_lv phantoms: {config.synthetic_cases} cases x {config.synthetic_phases} phases x "
            f"{config.synthetic_slices} slices (LV-containing slices kept), split by phantom")
    return train, val, text
