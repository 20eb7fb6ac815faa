"""Train the models of one synthetic study group (Optuna LR search per model) and measure their maps.

Per model i: an Optuna study (``<dataset>-<loss>-<i>`` in the run's ``sweep.db``) asks ``sweep_trials``
learning rates; every trial is one network (model i's seed: same initial weights and data order, its
own LR). All networks of a batch of models train at once as grouped networks of ``group_size``
(``training.grouped``); each trial's value is its best validation accuracy, and the best trial's best
epoch is model i. A model is kept when its validation accuracy exceeds ``val_accuracy_bar`` (the
thesis's 95 %); the group trains ``models_per_group`` models, then more until ``min_kept`` are kept
(``max_models`` at most). On the test split: accuracy and, with ``eval_method`` maps of the true class,
the mean over images of ``heatmap_overlap(map, heart)`` and, on marker images, ``heatmap_overlap(map,
marker)``; a Grad-CAM-loss model also gets the heart overlap of Grad-CAM maps.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import optuna
import torch
from tqdm.auto import tqdm

from medinterp_widgets.attribution import ClassTarget, attribute
from medinterp_widgets.metrics import heatmap_overlap
from medinterp_widgets.models import VGGClassifier
from medinterp_widgets.training.checkpoints import atomic_save, checkpoint_payload
from medinterp_widgets.training.grouped import Member, train_group
from medinterp_widgets.training.heatmap_loss import HeatmapLoss
from medinterp_widgets.training.sweeps import SWEEP_DB, open_storage

from ..dry_run import capped_trials
from .config import PRIMARY_LOSSES, Config
from .data import Split, StudyData

EVAL_BATCH = 64


@dataclass
class ModelResult:
    """One trained model of a group and its test measurements (maps: ``keep_maps`` example test maps)."""

    group: str
    model_id: int
    lr: float
    val_accuracy: float
    test_accuracy: float
    heart_overlap: float
    marker_overlap: float
    kept: bool
    checkpoint: str
    best_epoch: int = 0
    own_heart_overlap: float = float("nan")  # heart overlap with the loss's own method (Grad-CAM loss only)
    maps: np.ndarray = field(repr=False, default_factory=lambda: np.zeros((0, 0, 0), np.float32))

    def row(self) -> dict:
        return {"model": self.model_id, "lr": self.lr, "val_acc": self.val_accuracy, "epoch": self.best_epoch,
                "kept": self.kept, "test_acc": self.test_accuracy, "heart_overlap": self.heart_overlap,
                "marker_overlap": self.marker_overlap, "own_method_heart_overlap": self.own_heart_overlap}


def model_kwargs(config: Config, n_classes: int) -> dict:
    """VGGClassifier arguments of the synthetic study's models (BatchNorm, FC head, no dropout)."""
    return dict(in_channels=1, n_classes=n_classes, width=config.width, cfg=config.cfg, batch_norm=True, head="fc",
                hidden=config.hidden, fc_pool=config.fc_pool, dropout=0.0)


def build_model(kwargs: dict, seed: int) -> VGGClassifier:
    """A freshly initialised VGGClassifier, its weights drawn from ``seed`` (global RNG left untouched)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return VGGClassifier(**kwargs)


def make_loss(loss: str, config: Config, class_weights=None, classification: str | None = None,
              target: str = "class") -> HeatmapLoss:
    """The group's loss: ``ce`` -> the classification term alone (weight 0; ``classification``, default
    ``config.baseline_classification``), else the heatmap loss (the thesis's MSE + mass, or ``classification``
    + mass; ``-norm``: cross-entropy + share) with maps of ``target`` (``HeatmapLoss``)."""
    if loss == "ce":
        return HeatmapLoss(weight=0.0, classification=classification or config.baseline_classification,
                           class_weights=class_weights)
    method, _, variant = loss.partition("-")
    if variant == "norm":
        return HeatmapLoss.normalized(method, config.norm_weight, class_weights=class_weights, target=target)
    return HeatmapLoss.thesis(method, config.heatmap_weight, class_weights=class_weights, target=target,
                              classification=classification or "mse")


def group_size(config: Config, device: torch.device) -> int:
    return config.group_size or (64 if device.type == "cuda" else 4)


def chunks(items: list, size: int) -> list[list]:
    return [items[i:i + size] for i in range(0, len(items), size)]


def model_seed(config: Config, dataset: str, model_id: int) -> int:
    return config.seed * 100_000 + (sum(map(ord, dataset)) % 97) * 1000 + model_id


def evaluation_maps(model: torch.nn.Module, split: Split, method: str, device: torch.device) -> torch.Tensor:
    """``method`` maps of the true class for every test image, (N, H, W) on the CPU."""
    model = model.to(device).eval()
    maps = []
    for start in range(0, len(split), EVAL_BATCH):
        x = split.images[start:start + EVAL_BATCH].to(device)  # (b, C, H, W)
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


def example_indices(labels: torch.Tensor, count: int) -> list[int]:
    """``count`` test indices, the first ones of each class in turn (two per class for count = 2 x classes)."""
    per_class = [torch.nonzero(labels == c).flatten().tolist() for c in range(int(labels.max()) + 1)]
    picked = [i for group in zip(*per_class) for i in group][:count]
    return sorted(picked, key=lambda i: (int(labels[i]), i))


def _train_models(data: StudyData, loss: str, ids: list[int], config: Config, run_root: Path,
                  device: torch.device) -> list[tuple[int, float, object]]:
    """Optuna trials of every model in ``ids``, trained in grouped runs -> (model id, lr, best MemberResult)."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # one line per trial otherwise
    storage = open_storage(f"sqlite:///{(run_root / SWEEP_DB).resolve()}")
    space = {"lr": optuna.distributions.FloatDistribution(config.lr_low, config.lr_high, log=True)}
    trials, networks = [], []
    for model_id in ids:
        seed = model_seed(config, data.name, model_id)
        study = optuna.create_study(study_name=f"{data.name}-{loss}-{model_id}", storage=storage,
                                    direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed),
                                    load_if_exists=True)
        for _ in range(capped_trials(config.sweep_trials, config.limit_steps)):
            trial = study.ask(space)
            trials.append((study, trial, model_id))
            networks.append(Member(seed=seed, lr=float(trial.params["lr"])))
    kwargs = model_kwargs(config, len(data.class_names))
    results = []
    batches = chunks(list(range(len(networks))), group_size(config, device))
    for batch in tqdm(batches, desc=f"{data.name}:{loss} models {ids[0]}-{ids[-1]} ({len(networks)} networks)",
                      unit="grouped run", leave=False):
        results += train_group(lambda s: build_model(kwargs, s), [networks[i] for i in batch],
                               data.train.for_training(), data.val.for_training(), loss=make_loss(loss, config),
                               epochs=config.epochs, batch_size=config.batch_size, device=device,
                               max_steps=config.limit_steps)
    best: dict[int, tuple[float, object]] = {}
    for (study, trial, model_id), result in zip(trials, results):
        study.tell(trial, result.best_accuracy)
        if model_id not in best or result.best_accuracy > best[model_id][1].best_accuracy:
            best[model_id] = (result.member.lr, result)
    return [(model_id, *best[model_id]) for model_id in ids]


def save_member(kwargs: dict, result, path: Path, extra: dict, max_steps: int | None) -> VGGClassifier:
    """Model of a MemberResult, saved as a checkpoint (epoch, step, best value, config max_steps / extra)."""
    model = build_model(kwargs, 0)
    model.load_state_dict(result.state)
    value = None if result.best_accuracy < 0 else result.best_accuracy
    atomic_save(checkpoint_payload(model, model_kwargs=kwargs, epoch=result.best_epoch, step=result.step,
                                   best_value=value, config={"max_steps": max_steps, "extra": extra}), path)
    return model.eval()


def measure_model(model, data: StudyData, loss: str, config: Config, device, examples: list[int]) -> dict:
    """Test accuracy and overlaps of one model (module docstring) + its example maps."""
    maps = evaluation_maps(model, data.test, config.eval_method, device)  # (N, H, W)
    own = (float("nan") if loss.partition("-")[0] in ("ce", config.eval_method)
           else mean_overlap(evaluation_maps(model, data.test, loss.partition("-")[0], device), data.test.heart))
    return dict(test_accuracy=split_accuracy(model, data.test, device),
                heart_overlap=mean_overlap(maps, data.test.heart),
                marker_overlap=mean_overlap(maps, data.test.marker) if data.has_marker else float("nan"),
                own_heart_overlap=own, maps=maps[examples].numpy().astype(np.float32))


def run_group(data: StudyData, loss: str, config: Config, run_root: Path, device: torch.device) -> list[ModelResult]:
    """Train and measure the models of group ``<data.name>:<loss>`` (module docstring)."""
    primary = loss in PRIMARY_LOSSES
    first = config.models_per_group if primary else config.secondary_models
    limit = config.max_models if primary else first
    kwargs = model_kwargs(config, len(data.class_names))
    examples = example_indices(data.test.labels, config.keep_maps)
    results: list[ModelResult] = []
    ids = list(range(first))
    while ids:
        for model_id, lr, best in _train_models(data, loss, ids, config, run_root, device):
            extra = {"paper": "heatmap-loss", "dataset": data.name, "loss": loss, "model_id": model_id,
                     "seed": config.seed, "size": config.size}
            path = run_root / f"{data.name}-{loss}" / f"model-{model_id}.pt"
            model = save_member(kwargs, best, path, extra, config.limit_steps)
            results.append(ModelResult(
                group=f"{data.name}:{loss}", model_id=model_id, lr=lr, val_accuracy=best.best_accuracy,
                kept=best.best_accuracy > config.val_accuracy_bar, checkpoint=str(path), best_epoch=best.best_epoch,
                **measure_model(model, data, loss, config, device, examples)))
        missing = config.min_kept - sum(r.kept for r in results) if primary else 0
        ids = list(range(len(results), min(limit, len(results) + max(0, missing))))
    return results
