"""The pipeline's data: training / tuning datasets on the model grid and validation cases at native size.

Splits (all by patient or study, so nothing of a validation patient is trained on):

- Sunnybrook: ``sunnybrook_val_fraction`` of the studies (1 of the 3 shared) are validation; the others
  train, each slice repeated ``sunnybrook_repeat`` times per epoch (a few dozen slices beside ~1,100
  ACDC ones, and the paper's own data set); ``acdc_slices_per_epoch`` draws that many ACDC training slices
  afresh each epoch, shifting the epoch's weight towards Sunnybrook at the same number of steps.
- ACDC: the 2-D training slices' patients are split, stratified by diagnosis, into training and a
  *tuning* set (``acdc_tune_fraction``) that picks the best epoch and scores the Optuna trials; the
  validation volumes (``val.list``, 10 other patients) are validation only.
- synthetic phantoms (no real data): a phantom-level split; the held-out phantoms tune and validate.

Validation cases (``LvData.validation``) are never used for a choice: they are scored once at the end,
at native resolution (``scoring``), exactly as ``medinterp evaluate`` scores a folder.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from medinterp_widgets import data
from medinterp_widgets.data.preprocessing import Preprocessing, prepare
from medinterp_widgets.pipelines.dry_run import capped_items

from .cases import LABEL_MAPS, LvCase, acdc_cases, sunnybrook_cases, synthetic_cases
from .scoring import first_units

REAL_SETS = ("acdc", "sunnybrook")
PAPER_SET = "sunnybrook"  # the paper's data set: its validation figures are the headline dice_mean / apd_mm_mean


class LvDataset(Dataset):
    """Torch view of prepared cases: item = (x (C, h, w) float32, y (h, w) int64), optionally augmented.

    ``repeats[i]`` copies of case i per epoch (oversampling; 0 leaves it to the pool); ``pool_draw`` cases
    of ``pool`` (indices) are drawn without replacement each epoch by ``resample_epoch`` (undersampling at a
    fixed epoch length); ``augment(x, y)`` is applied on each access.
    """

    def __init__(self, cases: Sequence[LvCase], spec: Preprocessing, repeats: Sequence[int] | None = None,
                 augment: Callable | None = None, pool: Sequence[int] = (), pool_draw: int = 0):
        self.cases = list(cases)
        self.spec, self.augment = spec, augment
        prepared = [prepare(spec, case.image, case.label, case.kind) for case in self.cases]
        self.x = [torch.from_numpy(p.x) for p in prepared]  # (C, h, w) each
        self.y = [torch.from_numpy(p.y) for p in prepared]  # (h, w) each
        repeats = [1] * len(self.cases) if repeats is None else repeats
        if not 0 <= pool_draw <= len(pool):
            raise ValueError(f"pool_draw={pool_draw} must lie in 0..{len(pool)} (the pool's size)")
        self.fixed = [i for i, count in enumerate(repeats) for _ in range(count)]
        self.pool, self.pool_draw = list(pool), pool_draw
        self.index = self.fixed + self.pool[:pool_draw]

    def resample_epoch(self, generator: torch.Generator) -> None:
        """Draw this epoch's ``pool_draw`` pool cases (the fixed copies stay); the length never changes."""
        if self.pool_draw < len(self.pool):
            chosen = torch.randperm(len(self.pool), generator=generator)[:self.pool_draw].tolist()
            self.index = self.fixed + [self.pool[k] for k in sorted(chosen)]

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, item: int) -> tuple[torch.Tensor, torch.Tensor]:
        i = self.index[item]
        x, y = self.x[i], self.y[i]
        return self.augment(x, y) if self.augment is not None else (x, y)

    @property
    def masks(self) -> np.ndarray:
        """LV masks (N, h, w) uint8 of the distinct cases on the model grid."""
        return np.stack([(y.numpy() == 1).astype(np.uint8) for y in self.y])


@dataclass
class LvData:
    train: LvDataset
    tune: LvDataset  # the Trainer's validation: best epoch, search objective
    validation: dict[str, list[LvCase]]  # data set -> cases scored once at native resolution
    spec: Preprocessing
    source: str  # "acdc+sunnybrook", "sunnybrook", "acdc" or "synthetic"
    description: str
    splits: dict[str, list[str]] = field(default_factory=dict)


def headline_set(names) -> str:
    """The validation set whose figures stand beside the paper's: Sunnybrook when present, else the first."""
    names = list(names)
    return PAPER_SET if PAPER_SET in names else names[0]


def make_preprocessing(config) -> Preprocessing:
    """The run's one Preprocessing (stored in every checkpoint it writes)."""
    return Preprocessing(size=config.image_size, crop=config.crop_fraction, intensity=config.intensity,
                         channels=1, label_maps=LABEL_MAPS, largest_component=config.largest_component,
                         test_time=config.test_time)


def choose_sources(dataset: str, data_root) -> tuple[str, ...]:
    """The data sets a run uses: ``dataset`` ("auto": every real set under ``data_root``, else synthetic)."""
    if dataset != "auto":
        return tuple(dataset.split("+"))
    root = Path(data_root) if data_root else None
    present = tuple(name for name in REAL_SETS if root is not None and (root / name).is_dir())
    return present or ("synthetic",)


def load_lv_data(config, augment: Callable | None = None) -> LvData:
    """Train / tune datasets and validation cases for ``config`` (a pipeline Config); see the module doc."""
    sources = choose_sources(config.dataset, config.data_root)
    if sources != ("synthetic",) and not config.data_root:
        raise ValueError(f"Config.dataset={config.dataset!r} needs data_root (a folder holding {'/'.join(sources)})")
    spec = make_preprocessing(config)
    train, tune, validation, splits, texts = [], [], {}, {}, []
    for source in sources:
        part = {"sunnybrook": _sunnybrook, "acdc": _acdc, "synthetic": _synthetic}[source](config)
        train += part[0]
        tune += part[1]
        validation[source] = first_units(part[2], capped_items(len({c.unit for c in part[2]}), config.limit_steps))
        splits.update(part[3])
        texts.append(part[4])
    if config.max_train_slices:
        train = train[:config.max_train_slices]
    tune = tune[:capped_items(len(tune), config.limit_steps)]
    if not train or not tune:
        raise ValueError(f"{'+'.join(sources)}: the split left {len(train)} training and {len(tune)} tuning slices")
    repeats = [config.sunnybrook_repeat if case.kind == "sunnybrook" else 1 for case in train]
    acdc = [i for i, case in enumerate(train) if case.kind == "acdc"]
    draw = len(acdc) if config.acdc_slices_per_epoch is None else min(config.acdc_slices_per_epoch, len(acdc))
    if draw < len(acdc):
        repeats = [0 if case.kind == "acdc" else count for case, count in zip(train, repeats)]
        texts.append(f"each epoch draws {draw} of the {len(acdc)} ACDC training slices")
    description = "; ".join(texts) + (f"; inputs: central square crop {spec.crop:.0%} of the longer side, "
                                      f"{spec.intensity} intensity, resized to {spec.size}^2")
    pool = acdc if draw < len(acdc) else []
    train_set = LvDataset(train, spec, repeats, augment, pool=pool, pool_draw=draw if pool else 0)
    return LvData(train_set, LvDataset(tune, spec), validation, spec, "+".join(sources), description, splits)


def _sunnybrook(config):
    cases = sunnybrook_cases(Path(config.data_root) / "sunnybrook")
    train_ids, val_ids = data.patient_split([c.group for c in cases], config.sunnybrook_val_fraction, config.seed)
    train = [c for c in cases if c.group in train_ids]
    val = [c for c in cases if c.group in val_ids]
    only = config.dataset == "sunnybrook" or "acdc" not in choose_sources(config.dataset, config.data_root)
    text = (f"Sunnybrook inner contours: {len(cases)} slices of {len(train_ids) + len(val_ids)} studies; train "
            f"{train_ids} (x{config.sunnybrook_repeat} per epoch), validation {val_ids}")
    return train, (val if only else []), val, {"sunnybrook_train": train_ids, "sunnybrook_validation": val_ids}, text


def _acdc(config):
    root = Path(config.data_root) / "acdc"
    slices = acdc_cases(root, "train_slices")
    groups = [c.group for c in slices]
    strata = [data.acdc_diagnosis(int(g[-3:])) or "unknown" for g in groups]
    train_ids, tune_ids = data.patient_split(groups, config.acdc_tune_fraction, config.seed, strata=strata)
    validation = acdc_cases(root, "val")
    volumes, patients = len({c.unit for c in validation}), len({c.group for c in validation})
    text = (f"ACDC LV cavity (label 3): {len(slices)} training slices of {len(train_ids) + len(tune_ids)} patients, "
            f"{len(tune_ids)} of them (stratified by diagnosis) for tuning; validation: {volumes} volumes (val.list) "
            f"of {patients} other patients")
    return ([c for c in slices if c.group in train_ids], [c for c in slices if c.group in tune_ids], validation,
            {"acdc_tune": tune_ids, "acdc_validation": sorted({c.group for c in validation})}, text)


def _synthetic(config):
    cases = synthetic_cases(config.synthetic_cases, config.synthetic_phases, config.synthetic_slices, config.seed)
    train_ids, val_ids = data.patient_split([c.group for c in cases], config.val_fraction, config.seed)
    val = [c for c in cases if c.group in val_ids]
    text = (f"synthetic_cine_lv phantoms: {config.synthetic_cases} cases x {config.synthetic_phases} phases x "
            f"{config.synthetic_slices} slices (LV-containing slices kept), split by phantom")
    return [c for c in cases if c.group in train_ids], val, val, {"synthetic_validation": val_ids}, text
