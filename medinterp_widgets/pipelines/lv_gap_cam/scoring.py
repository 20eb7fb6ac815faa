"""Score an LV model at native resolution: the pipeline's validation and ``medinterp evaluate`` both call this.

Each case goes through the checkpoint's ``Preprocessing`` (``prepare``); the softmax probabilities (averaged
over the 8 flips / quarter turns when its ``test_time`` is ``dihedral``) are
resized back onto the native image (``restore_probabilities``: bilinear, background outside the crop)
and the argmax is compared with the data set's labels mapped to model classes. So Dice and APD are
measured on the native pixel grid in millimetres (PixelSpacing), as the paper's Sunnybrook figures.

Per class c >= 1 and scoring unit u (a Sunnybrook slice, an ACDC volume):
Dice_c(u) = 2 |P_c ∩ T_c| / (|P_c| + |T_c|) over the unit's slices (1 when both are empty);
``dice_mean`` = mean over foreground classes of mean_u Dice_c(u). APD_c (mm) per slice where both
contours exist (``metrics.average_perpendicular_distance``, predicted contour -> expert contour),
averaged over those slices; ``apd_mm_mean`` = mean over foreground classes; nan without spacing
(``apd_px_mean`` is the same in native pixels).
"""

from __future__ import annotations

import dataclasses
import math
from collections import defaultdict
from typing import Any, Iterator, Sequence

import numpy as np
import torch
from torch import nn

from medinterp_widgets import metrics
from medinterp_widgets.data.preprocessing import (
    Preprocessing,
    from_checkpoint,
    keep_largest_component,
    map_labels,
    prepare,
    restore_probabilities,
)
from medinterp_widgets.devices import resolve_device
from medinterp_widgets.models.test_time import predict_softmax

from .cases import LvCase, load_cases

GOOD_CONTOUR_MM = 5.0  # the Sunnybrook challenge's "good contour": APD below 5 mm


def native_probabilities(model: nn.Module, spec: Preprocessing, cases: Sequence[LvCase], *, device=None,
                         batch_size: int = 8) -> Iterator[torch.Tensor]:
    """Softmax probabilities (C, H, W) of each case on its native grid, in order (eval mode, no gradients)."""
    device = resolve_device(device)
    model = model.to(device).eval()
    batch_size = batch_size if spec.size is not None else 1  # native-size crops differ in size
    with torch.no_grad():
        for start in range(0, len(cases), batch_size):
            prepared = [prepare(spec, case.image) for case in cases[start:start + batch_size]]
            x = torch.from_numpy(np.stack([p.x for p in prepared])).to(device)  # (b, C_in, h, w)
            probabilities = predict_softmax(model, x, spec.test_time).cpu()  # (b, C, h, w)
            for item, probs in zip(prepared, probabilities):
                yield restore_probabilities(probs, item.geometry)


def predict_native(model: nn.Module, spec: Preprocessing, cases: Sequence[LvCase], *, device=None,
                   batch_size: int = 8) -> list[np.ndarray]:
    """Predicted model classes (H, W) uint8 of each case on its native grid (argmax of
    ``native_probabilities``), post-processed per scoring unit when ``spec.largest_component`` (``postprocess``)."""
    masks = [probs.argmax(dim=0).numpy().astype(np.uint8)
             for probs in native_probabilities(model, spec, cases, device=device, batch_size=batch_size)]
    return postprocess(masks, spec, cases)


def postprocess(masks: list[np.ndarray], spec: Preprocessing, cases: Sequence[LvCase]) -> list[np.ndarray]:
    """Step 6 of the Preprocessing (largest component) on each scoring unit's slices stacked (3-D)."""
    if not spec.largest_component:
        return masks
    units: dict[str, list[int]] = defaultdict(list)
    for index, case in enumerate(cases):
        units[case.unit].append(index)
    out = list(masks)
    for indices in units.values():
        shapes = {masks[i].shape for i in indices}
        if len(shapes) > 1:  # slices of different sizes cannot stack: each on its own
            for i in indices:
                out[i] = keep_largest_component(masks[i])
            continue
        kept = keep_largest_component(np.stack([masks[i] for i in indices]))  # (S, H, W)
        for position, i in enumerate(indices):
            out[i] = kept[position]
    return out


def case_rows(predictions: Sequence[np.ndarray], spec: Preprocessing, cases: Sequence[LvCase],
              n_classes: int = 2) -> list[dict[str, Any]]:
    """One row per case: per-class overlap counts, Dice, APD (mm and px), pixel accuracy, LV share."""
    rows = []
    for index, (pred, case) in enumerate(zip(predictions, cases)):
        truth = map_labels(case.label, spec.label_map(case.kind))
        row: dict[str, Any] = {"slice": index, "case": case.case_id, "unit": case.unit, "group": case.group,
                               "accuracy": float(np.mean(pred == truth)), "lv_fraction": float(np.mean(truth == 1))}
        for c in range(n_classes):
            p, t = pred == c, truth == c
            row[f"counts_{c}"] = (int(np.sum(p & t)), int(p.sum()), int(t.sum()))
            row[f"dice_{c}"] = metrics.dice(p, t)
            if c:
                row[f"apd_px_{c}"] = metrics.average_perpendicular_distance(p, t, 1.0)
                row[f"apd_mm_{c}"] = (metrics.average_perpendicular_distance(p, t, case.spacing)
                                      if case.spacing else math.nan)
        rows.append(row)
    return rows


def summarise(rows: Sequence[dict[str, Any]], n_classes: int = 2) -> dict[str, Any]:
    """Unit-level Dice per class, APD per class (mm, px), their foreground means and the counts (module doc)."""
    units: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        units[row["unit"]].append(row)
    summary: dict[str, Any] = {"n": len(units), "slices": len(rows)}
    for c in range(n_classes):
        summary[f"dice_{c}"] = float(np.mean([_unit_dice(members, c) for members in units.values()]))
    for c in range(1, n_classes):
        for unit in ("mm", "px"):
            values = [r[f"apd_{unit}_{c}"] for r in rows if not math.isnan(r[f"apd_{unit}_{c}"])]
            summary[f"apd_{unit}_{c}"] = float(np.mean(values)) if values else math.nan
        summary[f"apd_slices_{c}"] = sum(not math.isnan(r[f"apd_px_{c}"]) for r in rows)
    foreground = range(1, n_classes)
    summary["dice_mean"] = float(np.mean([summary[f"dice_{c}"] for c in foreground]))
    summary["apd_mm_mean"] = _nan_mean([summary[f"apd_mm_{c}"] for c in foreground])
    summary["apd_px_mean"] = _nan_mean([summary[f"apd_px_{c}"] for c in foreground])
    summary["dice_slice_mean"] = float(np.mean([r[f"dice_{c}"] for r in rows for c in foreground]))
    summary["pixel_accuracy_mean"] = float(np.mean([r["accuracy"] for r in rows]))
    good = [r["apd_mm_1"] < GOOD_CONTOUR_MM for r in rows if not math.isnan(r.get("apd_mm_1", math.nan))]
    summary["good_contours"] = float(np.mean(good)) if good else math.nan
    return summary


def _unit_dice(members: list[dict], c: int) -> float:
    overlap, predicted, true = (sum(r[f"counts_{c}"][i] for r in members) for i in range(3))
    return 1.0 if predicted + true == 0 else 2.0 * overlap / (predicted + true)


def _nan_mean(values: list[float]) -> float:
    finite = [v for v in values if not math.isnan(v)]
    return float(np.mean(finite)) if finite else math.nan


def score_cases(model: nn.Module, spec: Preprocessing, cases: Sequence[LvCase], *, device=None,
                batch_size: int = 8) -> tuple[dict[str, Any], list[dict[str, Any]], list[np.ndarray]]:
    """(summary, per-case rows, native predictions) of ``model`` on ``cases`` (module docstring)."""
    if not cases:
        raise ValueError("score_cases: no cases to score")
    predictions = predict_native(model, spec, cases, device=device, batch_size=batch_size)
    n_classes = int(getattr(model, "init_kwargs", {}).get("n_classes", 2))
    rows = case_rows(predictions, spec, cases, n_classes)
    return summarise(rows, n_classes), rows, predictions


def first_units(cases: Sequence[LvCase], limit: int | None) -> list[LvCase]:
    """The cases of the first ``limit`` scoring units (all when None)."""
    if limit is None:
        return list(cases)
    keep = list(dict.fromkeys(case.unit for case in cases))[:limit]
    return [case for case in cases if case.unit in set(keep)]


def evaluate_checkpoint(checkpoint, root, kind: str, *, device=None, split: str | None = None, size=None,
                        batch_size: int = 8, limit: int | None = None) -> dict[str, Any]:
    """``medinterp evaluate`` for Sunnybrook / ACDC: an LV checkpoint scored with its stored preprocessing.

    A checkpoint without a stored ``Preprocessing`` (not an LV pipeline model) goes to the generic
    evaluator. ``split``: an ACDC list name (None: test.list, else val.list, else every file); Sunnybrook
    reads every study of ``link.csv`` (a contour whose DICOM is missing or unreadable is skipped with a
    warning and counted in ``skipped``). ``size`` (H, W) overrides the stored model input size (square).
    """
    from medinterp_widgets.training.checkpoints import load_checkpoint, model_from_checkpoint

    payload = load_checkpoint(checkpoint)
    spec = from_checkpoint(payload, str(checkpoint))
    if spec is None:
        from medinterp_widgets.training.evaluate import evaluate_checkpoint as generic

        return generic(checkpoint, root, kind, device=device, split=split or "val", size=size,
                       batch_size=batch_size, limit=limit)
    if size is not None:
        spec = dataclasses.replace(spec, size=int(size[0]))
    skipped: list = []
    cases = first_units(load_cases(kind, root, split, skipped), limit)
    summary, _, _ = score_cases(model_from_checkpoint(payload), spec, cases, device=device, batch_size=batch_size)
    return {"checkpoint": str(checkpoint), "model_class": payload["model_class"], "dataset": kind, "data": str(root),
            "epoch": payload.get("epoch"), "task": "segmentation", **summary, "skipped": len(skipped),
            "skipped_examples": [f"{path}: {reason}" for path, reason in skipped[:3]], "preprocessing": spec.to_dict()}
