"""Train the models of one study group (LR searched per model) and measure where their maps look.

Per model: an Optuna sweep over the learning rate (``training.sweeps``, ``sweep_trials`` trials, each
one Trainer run maximising val accuracy); the best trial's best checkpoint is the model. On the test
split: accuracy and, with ``eval_method`` maps of the true class, the mean over images of
``heatmap_overlap(map, heart)`` and (marker images only) ``heatmap_overlap(map, marker)``; a model
trained with another method's loss (Grad-CAM) also gets the heart overlap of its own method's maps.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
import torch

from medinterp_widgets.attribution import ClassTarget, attribute
from medinterp_widgets.metrics import heatmap_overlap
from medinterp_widgets.models import VGGClassifier
from medinterp_widgets.training import FloatRange, TrainConfig, Trainer, model_from_checkpoint, sweep, trainer_objective
from medinterp_widgets.training.heatmap_loss import HeatmapLoss
from medinterp_widgets.training.sweeps import SWEEP_DB

from ..dry_run import capped_trials
from .config import Config
from .data import Split, StudyData

EVAL_BATCH = 32


@dataclass
class ModelResult:
    """One trained model of a group and its test measurements (maps: the first ``keep_maps`` test maps)."""

    group: str
    model_id: int
    lr: float
    val_accuracy: float
    test_accuracy: float
    heart_overlap: float
    marker_overlap: float
    kept: bool
    run_dir: str
    own_heart_overlap: float = float("nan")  # heart overlap with the loss's own method (Grad-CAM loss only)
    maps: np.ndarray = field(repr=False, default_factory=lambda: np.zeros((0, 0, 0), np.float32))

    def row(self) -> dict:
        return {"model": self.model_id, "lr": self.lr, "val_acc": self.val_accuracy, "kept": self.kept,
                "test_acc": self.test_accuracy, "heart_overlap": self.heart_overlap,
                "marker_overlap": self.marker_overlap, "own_method_heart_overlap": self.own_heart_overlap}


def build_model(config: Config, n_classes: int, seed: int) -> VGGClassifier:
    """A freshly initialised VGGClassifier, its weights drawn from ``seed`` (global RNG left untouched)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return VGGClassifier(in_channels=1, n_classes=n_classes, width=config.width, cfg=config.cfg,
                             head=config.head, batch_norm=True)


def make_loss(loss: str, config: Config) -> Callable | None:
    """None for plain cross-entropy (the Trainer's default), else the heatmap loss with that method."""
    return None if loss == "ce" else HeatmapLoss(method=loss, weight=config.heatmap_weight)


def train_one(data: StudyData, loss: str, model_id: int, config: Config, run_root: Path,
              callbacks: Iterable[Callable] = ()) -> tuple[torch.nn.Module, float, float, str]:
    """LR sweep for one model -> (best model in eval mode, its LR, its best val accuracy, its run dir)."""
    seed = config.seed * 1000 + model_id
    run_dir = run_root / f"{data.name}-{loss}" / f"model-{model_id}"
    base = TrainConfig(epochs=config.epochs, batch_size=config.batch_size, seed=seed, device=config.device or "auto",
                       task="classification", num_classes=len(data.class_names), best_metric="val/accuracy",
                       best_mode="max", run_dir=str(run_dir), drop_last=True, progress=False,
                       max_steps=config.limit_steps,
                       extra={"paper": "heatmap-loss", "dataset": data.name, "loss": loss, "model_id": model_id})

    def make_trainer(train_config: TrainConfig) -> Trainer:
        model = build_model(config, len(data.class_names), seed)
        return Trainer(model, data.train.dataset(), data.val.dataset(), train_config,
                       loss=make_loss(loss, config), callbacks=callbacks)

    study = sweep(trainer_objective(base, make_trainer), {"lr": FloatRange(config.lr_low, config.lr_high, log=True)},
                  n_trials=capped_trials(config.sweep_trials, config.limit_steps),
                  study_name=f"{data.name}-{loss}-{model_id}", direction="maximize",
                  seed=seed, storage=f"sqlite:///{(run_root / SWEEP_DB).resolve()}")  # one database per run
    best = study.best_trial
    model = model_from_checkpoint(run_dir / f"trial-{best.number}" / "best.pt")
    return model, float(best.params["lr"]), float(best.value), str(run_dir / f"trial-{best.number}")


def evaluation_maps(model: torch.nn.Module, split: Split, method: str, device: torch.device) -> torch.Tensor:
    """``method`` maps of the true class for every test image, (N, H, W) on the CPU."""
    model = model.to(device).eval()
    maps = []
    for start in range(0, len(split), EVAL_BATCH):
        x = split.images[start:start + EVAL_BATCH].to(device)  # (b, 1, H, W)
        y = split.labels[start:start + EVAL_BATCH].to(device)
        maps.append(attribute(model, x, method=method, target=ClassTarget(y)).detach().cpu())  # (b, H, W)
    return torch.cat(maps)


def split_accuracy(model: torch.nn.Module, split: Split, device: torch.device) -> float:
    model = model.to(device).eval()
    with torch.no_grad():
        predictions = torch.cat([model(split.images[s:s + EVAL_BATCH].to(device)).argmax(1).cpu()
                                 for s in range(0, len(split), EVAL_BATCH)])
    return float((predictions == split.labels).float().mean())


def mean_overlap(maps: torch.Tensor, masks: torch.Tensor) -> float:
    """Mean over images with a non-empty mask of heatmap_overlap(map, mask) (nan-skipping); nan if none."""
    values = [heatmap_overlap(m, r) for m, r in zip(maps, masks) if bool(r.any())]
    values = [v for v in values if not math.isnan(v)]
    return float(np.mean(values)) if values else float("nan")


def majority_rate(labels: torch.Tensor) -> float:
    """Accuracy of always predicting the most frequent class: max_c count_c / N."""
    return float(torch.bincount(labels).max()) / max(1, int(labels.numel()))


def run_group(data: StudyData, loss: str, config: Config, run_root: Path, device: torch.device,
              callbacks: Iterable[Callable] = ()) -> list[ModelResult]:
    """Train ``models_per_group`` models with ``loss`` on ``data`` and measure each on the test split."""
    results = []
    bar = max(config.val_accuracy_bar, majority_rate(data.val.labels) + 1e-6)  # must beat a constant guess
    for model_id in range(config.models_per_group):
        model, lr, val_acc, run_dir = train_one(data, loss, model_id, config, run_root, callbacks)
        maps = evaluation_maps(model, data.test, config.eval_method, device)  # (N, H, W)
        marker = mean_overlap(maps, data.test.marker) if data.has_marker else float("nan")
        own = (float("nan") if loss in ("ce", config.eval_method)
               else mean_overlap(evaluation_maps(model, data.test, loss, device), data.test.heart))
        results.append(ModelResult(
            group=f"{data.name}:{loss}", model_id=model_id, lr=lr, val_accuracy=val_acc,
            test_accuracy=split_accuracy(model, data.test, device), heart_overlap=mean_overlap(maps, data.test.heart),
            marker_overlap=marker, own_heart_overlap=own, kept=val_acc >= bar, run_dir=run_dir,
            maps=maps[:config.keep_maps].numpy().astype(np.float32)))
    return results
