"""Evaluate a model or a checkpoint on a data folder in a data set's own format.

Segmentation: loss, pixel accuracy, per-image Dice per class and its foreground mean, and, when the
pixel spacing is known (Sunnybrook, mouse brain), the average perpendicular distance in mm per
foreground class (``metrics.average_perpendicular_distance``, images where both masks are non-empty).
Classification: loss, accuracy, sensitivity, specificity, PPV, NPV, AUC.

A checkpoint's ``config.extra`` may say how its pipeline saw the data: ``input_size`` [H, W] (resize),
``input_normalize`` "minmax" ((x - min) / (max - min)) or "zscore" ((x - mean) / (std + 1e-6)) per
image, as the pipeline did (``data.intensity``), and ``eval_label_map``
{kind: {data set label: model class}} (labels not named become 0, e.g. ACDC LV cavity 3 -> 1).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset, Subset

from medinterp_widgets import metrics
from medinterp_widgets.data.intensity import minmax_normalize, standardise
from medinterp_widgets.devices import resolve_device
from medinterp_widgets.training.batches import model_output_logits, split_batch
from medinterp_widgets.training.checkpoints import load_checkpoint, model_from_checkpoint
from medinterp_widgets.training.epoch_metrics import EpochMetrics

DATASET_KINDS = ("sunnybrook", "acdc", "covid-ct", "covid-lesions", "mouse-brain")


@dataclass
class EvalData:
    """A torch Dataset of (image, label) items, its task, and the (dy, dx) spacing of each item if known."""

    task: str
    dataset: Dataset
    spacings: Sequence[tuple[float, float]] | None = None
    fixed_size: bool = False  # all items share one size, so they can be batched


def open_eval_data(kind: str, root: str | os.PathLike, *, split: str = "val", size: tuple[int, int] | None = None,
                   limit: int | None = None) -> EvalData:
    """Load ``root`` with the data layer's loader for ``kind`` (imported lazily); ``limit``: first N items."""
    eval_data = _open_kind(kind, root, split, size)
    if limit is not None and limit < len(eval_data.dataset):  # type: ignore[arg-type]  # map-style sets
        spacings = eval_data.spacings[:limit] if eval_data.spacings is not None else None
        eval_data = EvalData(eval_data.task, Subset(eval_data.dataset, range(limit)), spacings, eval_data.fixed_size)
    return eval_data


def _open_kind(kind: str, root, split: str, size) -> EvalData:
    from medinterp_widgets import data

    if kind == "sunnybrook":
        sunnybrook = data.SunnybrookDataset(data.load_sunnybrook(root), split="all")
        return EvalData("segmentation", sunnybrook, [(s.spacing[0], s.spacing[1]) for s in sunnybrook.slices])
    if kind == "acdc":
        return EvalData("segmentation", data.AcdcSliceDataset(data.load_acdc(root, split), size=size),
                        fixed_size=size is not None)
    if kind == "covid-ct":
        return EvalData("classification", data.CovidCtDataset(data.load_covid_ct(root), size=size or (224, 224)),
                        fixed_size=True)
    if kind == "covid-lesions":
        return EvalData("segmentation", data.CovidLesionDataset(data.load_covid_lesions(root), size=size),
                        fixed_size=size is not None)
    if kind == "mouse-brain":
        dataset = data.MouseBrainSliceDataset(data.load_mouse_brain(root), size=size)
        return EvalData("segmentation", dataset, _mouse_spacings(dataset) if size is None else None, fixed_size=True)
    raise ValueError(f"--dataset: expected one of {', '.join(DATASET_KINDS)}, got {kind!r}")


def evaluate_model(model: nn.Module, eval_data: EvalData, *, device: str | torch.device | None = None,
                   batch_size: int = 8, num_classes: int | None = None) -> dict[str, Any]:
    """Run ``model`` over every item (no gradients) and return the metrics as a flat dict."""
    device = resolve_device(device)
    model = model.to(device).eval()
    loader = DataLoader(eval_data.dataset, batch_size=batch_size if eval_data.fixed_size else 1, shuffle=False)
    meter: EpochMetrics | None = None
    distances: list[np.ndarray] = []
    seen = 0
    with torch.no_grad():
        for batch in loader:
            x, y, _ = split_batch(batch)
            logits = model_output_logits(model(x.to(device))).float().cpu()  # (B, C, *S) or (B, C)
            meter = meter or EpochMetrics(eval_data.task, num_classes or int(logits.shape[1]))
            meter.update(logits, y, float(F.cross_entropy(logits, y.long())))
            if eval_data.spacings is not None:
                spacings = eval_data.spacings[seen:seen + len(y)]
                distances += _batch_apd(logits.argmax(dim=1).numpy(), y.numpy(), spacings, meter.num_classes)
            seen += len(y)
    if meter is None:
        raise ValueError("evaluation data: no items found")
    results: dict[str, Any] = {"task": eval_data.task, "n": seen, **meter.compute()}
    if distances:
        results.update(_apd_summary(np.stack(distances)))
    return results


def evaluate_checkpoint(checkpoint: str | os.PathLike, root: str | os.PathLike, kind: str, *,
                        device: str | None = None, split: str = "val", size: tuple[int, int] | None = None,
                        batch_size: int = 8, limit: int | None = None) -> dict[str, Any]:
    """Rebuild the checkpoint's model and evaluate it on ``root`` read as data set ``kind``."""
    payload = load_checkpoint(checkpoint)
    model = model_from_checkpoint(payload, source=checkpoint)
    config = payload.get("config") or {}
    extra = config.get("extra") or {}
    size = size or _stored_size(config)
    eval_data = adapt_eval_data(open_eval_data(kind, root, split=split, size=size, limit=limit),
                                (extra.get("eval_label_map") or {}).get(kind), extra.get("input_normalize"))
    results = evaluate_model(model, eval_data, device=device, batch_size=batch_size,
                             num_classes=config.get("num_classes"))
    return {"checkpoint": str(checkpoint), "model_class": payload["model_class"], "dataset": kind,
            "data": str(root), "epoch": payload.get("epoch"), **results}


NORMALIZERS = {  # one item (C, *S) at a time, scaled as the pipelines scaled their inputs
    "minmax": lambda x: torch.from_numpy(minmax_normalize(x.numpy())),
    "zscore": lambda x: standardise(x[None])[0],
}


class _AdaptedItems(Dataset):
    """(image, label) items of ``dataset`` with labels remapped and/or each image normalised."""

    def __init__(self, dataset: Dataset, label_map: dict | None, normalize: str | None):
        if normalize is not None and normalize not in NORMALIZERS:
            raise ValueError(f"checkpoint config extra.input_normalize: expected one of {sorted(NORMALIZERS)} "
                             f"or none, got {normalize!r}")
        self.dataset, self.normalize = dataset, normalize
        self.lookup = None
        if label_map:
            pairs = {int(k): int(v) for k, v in label_map.items()}
            self.lookup = torch.zeros(max(256, max(pairs) + 1), dtype=torch.long)
            for source, target in pairs.items():
                self.lookup[source] = target

    def __len__(self) -> int:
        return len(self.dataset)  # type: ignore[arg-type]  # map-style sets

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        x, y, _ = split_batch(self.dataset[index])
        if self.normalize is not None:
            x = NORMALIZERS[self.normalize](x)
        return x, (self.lookup[y.long()] if self.lookup is not None else y)


def adapt_eval_data(eval_data: EvalData, label_map: dict | None, normalize: str | None) -> EvalData:
    """``eval_data`` seen the way a pipeline trained: labels remapped, images min-max scaled (see module doc)."""
    if not label_map and not normalize:
        return eval_data
    return EvalData(eval_data.task, _AdaptedItems(eval_data.dataset, label_map, normalize), eval_data.spacings,
                    eval_data.fixed_size)


def _batch_apd(pred: np.ndarray, truth: np.ndarray, spacings, num_classes: int) -> list[np.ndarray]:
    """APD (mm) of each image and foreground class, shape (num_classes - 1,) per image (nan if a mask is empty)."""
    rows = []
    for pred_map, truth_map, spacing in zip(pred, truth, spacings):
        rows.append(np.array([metrics.average_perpendicular_distance(pred_map == c, truth_map == c, spacing)
                              for c in range(1, num_classes)]))
    return rows


def _apd_summary(distances: np.ndarray) -> dict[str, float]:
    """Mean APD per class over images where it exists, their mean, and how many images counted."""
    summary = {}
    for column, c in enumerate(range(1, distances.shape[1] + 1)):
        values = distances[:, column][~np.isnan(distances[:, column])]
        summary[f"apd_mm_{c}"] = float(values.mean()) if values.size else math.nan
        summary[f"apd_images_{c}"] = int(values.size)
    per_class = [v for k, v in summary.items() if k.startswith("apd_mm_") and not math.isnan(v)]
    summary["apd_mm_mean"] = float(np.mean(per_class)) if per_class else math.nan
    return summary


def _mouse_spacings(dataset) -> list[tuple[float, float]]:
    """In-plane (dy, dx) of each mouse-brain slice: the volume spacing without the slicing axis."""
    spacings = []
    for brain_index, _ in dataset.index:
        spacing = tuple(float(s) for s in dataset.brains[brain_index].image.spacing)
        dy, dx = (s for axis, s in enumerate(spacing) if axis != dataset.axis)
        spacings.append((dy, dx))
    return spacings


def _stored_size(config: dict[str, Any]) -> tuple[int, int] | None:
    size = (config.get("extra") or {}).get("input_size")
    return (int(size[0]), int(size[1])) if size else None
