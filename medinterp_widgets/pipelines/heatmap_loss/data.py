"""Train / val / test sets of the synthetic experiments: images, class labels, sex, heart and marker masks.

``synthetic_cardiac_mri`` draws each split with its own seed (from ``Config.seed``); the heart mask is
the allowed region of the heatmap loss, the experiment-2 sex marker is only measured. The ACDC arm
has its own data module (``acdc``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from medinterp_widgets.data import synthetic_cardiac_mri
from medinterp_widgets.training.grouped import ImageSet

from ..dry_run import capped_items
from .config import Config

_SPLIT_SEED = {"train": 0, "val": 1, "test": 2}


@dataclass
class Split:
    """One split as tensors: images (N, 1, H, W) float, labels (N,) int64, heart / marker (N, H, W) bool,
    sex (N,) int64 (1 male)."""

    images: torch.Tensor
    labels: torch.Tensor
    heart: torch.Tensor
    marker: torch.Tensor
    sex: torch.Tensor

    def for_training(self) -> ImageSet:
        """Images, labels and the heart as the allowed region, for ``training.grouped``."""
        return ImageSet(self.images, self.labels, self.heart)

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def head(self, count: int) -> "Split":
        """The first ``count`` items (a view)."""
        return Split(self.images[:count], self.labels[:count], self.heart[:count], self.marker[:count],
                     self.sex[:count])


@dataclass
class StudyData:
    name: str
    class_names: tuple[str, ...]
    train: Split
    val: Split
    test: Split
    has_marker: bool


def split_seed(config: Config, experiment: int, split: str) -> int:
    """The generator seed of one split: distinct per run seed, experiment and split."""
    return config.seed * 10 + _SPLIT_SEED[split] + 100 * experiment


def load_study_data(dataset: str, config: Config) -> StudyData:
    """The three splits of ``dataset`` ("exp1" or "exp2") at ``config.size`` (val / test cut to a few
    items in a dry run, see ``pipelines.dry_run``)."""
    if dataset not in ("exp1", "exp2"):
        raise ValueError(f"load_study_data: expected 'exp1' or 'exp2', got {dataset!r} "
                         "(the ACDC arm: pipelines.heatmap_loss.acdc)")
    experiment = int(dataset[-1])
    sizes = {"train": config.n_train, "val": config.n_val, "test": config.n_test}
    splits = {name: synthetic_split(n, split_seed(config, experiment, name), config.size, experiment)
              for name, n in sizes.items()}
    for name in ("val", "test"):
        splits[name] = splits[name].head(capped_items(len(splits[name]), config.limit_steps))
    names = synthetic_cardiac_mri(0, size=config.size).class_names
    return StudyData(dataset, names, splits["train"], splits["val"], splits["test"], has_marker=experiment == 2)


def synthetic_split(n: int, seed: int, size: int, experiment: int) -> Split:
    batch = synthetic_cardiac_mri(n, seed, size=size, experiment=experiment)
    return Split(torch.from_numpy(batch.images)[:, None],  # (N, H, W) -> (N, 1, H, W)
                 torch.from_numpy(batch.labels), torch.from_numpy(batch.heart_mask),
                 torch.from_numpy(batch.marker_mask), torch.from_numpy(batch.sex))
