"""Train / val / test sets of each study dataset: images, class labels, heart masks, marker masks.

Synthetic (``exp1``, ``exp2``): ``synthetic_cardiac_mri`` draws with distinct seeds per split; the
heart mask is the allowed region of the heatmap loss, the experiment-2 sex marker is measured only.
ACDC (``acdc``): the shared training slices, split by patient (stratified by diagnosis); label 1 for
``acdc_positive``, 0 for the rest; heart = labels 1-3 (RV, myocardium, LV cavity).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import TensorDataset

from medinterp_widgets.data import AcdcSliceDataset, load_acdc, patient_split, synthetic_cardiac_mri

from ..dry_run import capped_items
from .config import Config

_SPLIT_SEED = {"train": 0, "val": 1, "test": 2}
HEALTHY = "NOR"
FALLBACK_POSITIVE = "HCM"
MIN_PATIENTS_PER_CLASS = 5  # "auto" needs this many NOR patients: every split (60/20/20) then gets one


def resolve_positive(requested: str, diagnoses: list[str]) -> str:
    """The ACDC positive class: ``requested`` (upper case), or for "auto" the thesis's healthy-vs-diseased
    task (NOR) when the patients include enough NOR cases, else FALLBACK_POSITIVE vs the rest."""
    requested = requested.upper()
    if requested != "AUTO":
        return requested
    return HEALTHY if diagnoses.count(HEALTHY) >= MIN_PATIENTS_PER_CLASS else FALLBACK_POSITIVE


@dataclass
class Split:
    """One split as tensors: images (N, 1, H, W) float, labels (N,) int64, heart / marker (N, H, W) bool."""

    images: torch.Tensor
    labels: torch.Tensor
    heart: torch.Tensor
    marker: torch.Tensor

    def dataset(self) -> TensorDataset:
        """(image, label, heart mask) items: the Trainer hands the third item to the heatmap loss."""
        return TensorDataset(self.images, self.labels, self.heart.float())

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def head(self, count: int) -> "Split":
        """The first ``count`` items (a view)."""
        return Split(self.images[:count], self.labels[:count], self.heart[:count], self.marker[:count])


@dataclass
class StudyData:
    name: str
    class_names: tuple[str, ...]
    train: Split
    val: Split
    test: Split
    has_marker: bool


def load_study_data(dataset: str, config: Config) -> StudyData:
    """The three splits of ``dataset`` ("exp1", "exp2" or "acdc") at ``config.size`` (val / test cut to a
    few items in a dry run, see ``pipelines.dry_run``)."""
    data = _load_study_data(dataset, config)
    data.val = data.val.head(capped_items(len(data.val), config.limit_steps))
    data.test = data.test.head(capped_items(len(data.test), config.limit_steps))
    return data


def _load_study_data(dataset: str, config: Config) -> StudyData:
    if dataset == "acdc":
        return acdc_study_data(acdc_folder(config.data_root), config)
    experiment = int(dataset[-1])
    splits = {name: synthetic_split(n, config.seed * 10 + offset + 100 * experiment, config.size, experiment)
              for (name, offset), n in zip(_SPLIT_SEED.items(), (config.n_train, config.n_val, config.n_test))}
    names = synthetic_cardiac_mri(0, size=config.size).class_names
    return StudyData(dataset, names, splits["train"], splits["val"], splits["test"], has_marker=experiment == 2)


def synthetic_split(n: int, seed: int, size: int, experiment: int) -> Split:
    batch = synthetic_cardiac_mri(n, seed, size=size, experiment=experiment)
    return Split(torch.from_numpy(batch.images)[:, None],  # (N, H, W) -> (N, 1, H, W)
                 torch.from_numpy(batch.labels), torch.from_numpy(batch.heart_mask),
                 torch.from_numpy(batch.marker_mask))


def acdc_folder(data_root) -> Path | None:
    """``<data_root>/acdc`` when it holds the ACDC split lists, else None."""
    if data_root is None:
        return None
    folder = Path(data_root) / "acdc"
    return folder if (folder / "train_slices.list").is_file() else None


def acdc_study_data(folder: Path | None, config: Config) -> StudyData:
    """ACDC training slices, ``acdc_positive`` vs the rest, patients split 60 / 20 / 20."""
    if folder is None:
        raise FileNotFoundError(f"ACDC study: no acdc/train_slices.list under data_root={config.data_root!r}")
    cases = load_acdc(folder, "train")
    patients = sorted({c.patient_id for c in cases})
    diagnosis = {c.patient_id: c.diagnosis for c in cases}
    positive = resolve_positive(config.acdc_positive, [diagnosis[p] for p in patients])
    strata = [diagnosis[p] == positive for p in patients]
    rest, test_ids = patient_split(patients, 0.2, seed=config.seed, strata=strata)
    train_ids, val_ids = patient_split(rest, 0.25, seed=config.seed, strata=[diagnosis[p] == positive for p in rest])
    rng = np.random.default_rng(config.seed)
    splits = {}
    for name, ids in (("train", train_ids), ("val", val_ids), ("test", test_ids)):
        chosen = [c for c in cases if c.patient_id in set(ids)]
        limit = None if config.acdc_max_slices is None else max(1, round(config.acdc_max_slices * len(ids) / len(patients)))
        if limit is not None and len(chosen) > limit:
            chosen = [chosen[i] for i in sorted(rng.choice(len(chosen), limit, replace=False))]
        splits[name] = acdc_split(chosen, config.size, positive)
    names = (f"not {positive}", positive)
    return StudyData("acdc", names, splits["train"], splits["val"], splits["test"], has_marker=False)


def acdc_split(cases, size: int, positive: str) -> Split:
    dataset = AcdcSliceDataset(cases, size=(size, size))
    items = [dataset[i] for i in range(len(dataset))]
    images = torch.stack([item["image"] for item in items])  # (N, 1, size, size)
    heart = torch.stack([item["label"] > 0 for item in items])  # (N, size, size)
    labels = torch.tensor([int(dataset.cases[c].diagnosis == positive) for c, _ in dataset.index])
    return Split(images, labels, heart, torch.zeros_like(heart))
