"""Per-slice evaluation: predictions, Dice vs pixel accuracy, APD in mm, and CAM maps via `attribute`."""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from medinterp_widgets import metrics
from medinterp_widgets.attribution import attribute
from medinterp_widgets.devices import resolve_device

LV = 1


def predict(model: nn.Module, dataset, device=None, batch_size: int = 8) -> np.ndarray:
    """Predicted LV masks (N, H, W) uint8 (argmax over the 2 classes), model in eval mode, no gradients."""
    device = resolve_device(device)
    model = model.to(device).eval()
    masks = []
    with torch.no_grad():
        for start in range(0, len(dataset), batch_size):
            x = torch.stack([dataset[i][0] for i in range(start, min(start + batch_size, len(dataset)))])
            masks.append(model(x.to(device)).argmax(dim=1).cpu().numpy().astype(np.uint8))  # (B, H, W)
    return np.concatenate(masks)


def per_slice_metrics(predictions: np.ndarray, dataset) -> list[dict[str, float]]:
    """One row per slice: Dice, IoU, pixel accuracy, APD (mm; nan if a mask is empty), LV pixel share."""
    rows = []
    for index, (pred, item) in enumerate(zip(predictions, dataset.slices)):
        rows.append({
            "slice": index,
            "group": item.group,
            "dice": metrics.dice(pred, item.mask),
            "iou": metrics.iou(pred, item.mask),
            "accuracy": metrics.pixel_accuracy(pred, item.mask),
            "apd_mm": metrics.average_perpendicular_distance(pred, item.mask, item.spacing),
            "lv_fraction": float(item.mask.mean()),
        })
    return rows


def summarise(rows: list[dict[str, float]]) -> dict[str, float]:
    """Means over slices (APD over slices where both contours exist) and the count it used."""
    apd = [r["apd_mm"] for r in rows if not math.isnan(r["apd_mm"])]
    return {
        "dice_mean": float(np.mean([r["dice"] for r in rows])),
        "dice_std": float(np.std([r["dice"] for r in rows])),
        "iou_mean": float(np.mean([r["iou"] for r in rows])),
        "pixel_accuracy_mean": float(np.mean([r["accuracy"] for r in rows])),
        "apd_mm_mean": float(np.mean(apd)) if apd else math.nan,
        "apd_slices": len(apd),
        "slices": len(rows),
    }


def accuracy_vs_dice(predictions: np.ndarray, dataset) -> list[dict[str, float]]:
    """Why accuracy misleads under class imbalance: our model beside trivial predictors.

    For the all-background predictor, accuracy = 1 - LV share (high) while Dice = 0.
    """
    truths = np.stack([s.mask for s in dataset.slices])  # (N, H, W)
    candidates = {
        "GapFCN (ours)": predictions,
        "all background": np.zeros_like(truths),
        "all LV": np.ones_like(truths),
    }
    table = []
    for name, preds in candidates.items():
        table.append({
            "predictor": name,
            "pixel_accuracy": metrics.pixel_accuracy(preds, truths),
            "dice_mean": float(np.mean([metrics.dice(p, t) for p, t in zip(preds, truths)])),
            "lv_pixel_share": float(truths.mean()),
        })
    return table


def cam_maps(model: nn.Module, dataset, indices, device=None, batch_size: int = 16) -> np.ndarray:
    """CAM of the LV class on the GAP layer, sum_k w_(LV,k) A_k (``attribute(method="cam")``), upsampled,
    (n, H, W), min-max scaled to 0..1 per image without ReLU: the area term puts the LV logit's mean
    near logit(LV share) < 0, so the raw map is mostly negative and only its relative height matters."""
    device = resolve_device(device)
    model = model.to(device).eval()
    indices = list(indices)
    maps = []
    for start in range(0, len(indices), batch_size):
        x = torch.stack([dataset[i][0] for i in indices[start:start + batch_size]]).to(device)  # (b, 1, H, W)
        maps.append(attribute(model, x, method="cam", target=LV, relu=False, normalize="minmax").detach().cpu().numpy())  # (b, H, W)
    return np.concatenate(maps)


def cam_localisation(maps: np.ndarray, dataset, indices) -> dict[str, float]:
    """How well the CAM points at the LV: mean share of its mass inside the mask (``metrics.heatmap_overlap``),
    the LV's area share (what a flat map would score), and the share of maps whose peak lies in the LV."""
    masks = [dataset.slices[i].mask.astype(bool) for i in indices]
    inside = [metrics.heatmap_overlap(m, mask) for m, mask in zip(maps, masks)]
    peaks = [mask.flat[int(np.argmax(m))] for m, mask in zip(maps, masks)]
    return {"mass_inside_lv": float(np.nanmean(inside)) if not np.all(np.isnan(inside)) else math.nan,
            "lv_area_share": float(np.mean([mask.mean() for mask in masks])),
            "peak_in_lv": float(np.mean(peaks))}
