"""Model-grid views for the report: predictions, CAM maps via `attribute`, CAM localisation, accuracy vs Dice."""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import torch
from torch import nn

from medinterp_widgets import metrics
from medinterp_widgets.attribution import attribute
from medinterp_widgets.devices import resolve_device

LV = 1


def predict(model: nn.Module, dataset, device=None, batch_size: int = 8) -> np.ndarray:
    """Predicted LV masks (N, H, W) uint8 on the model grid (argmax over the classes), eval mode, no gradients."""
    device = resolve_device(device)
    model = model.to(device).eval()
    masks = []
    with torch.no_grad():
        for start in range(0, len(dataset), batch_size):
            x = torch.stack([dataset[i][0] for i in range(start, min(start + batch_size, len(dataset)))])
            masks.append((model(x.to(device)).argmax(dim=1) == LV).cpu().numpy().astype(np.uint8))  # (B, H, W)
    return np.concatenate(masks)


def accuracy_vs_dice(predictions: Sequence[np.ndarray], truths: Sequence[np.ndarray]) -> list[dict[str, float]]:
    """Why accuracy misleads under class imbalance: our model beside trivial predictors (native masks).

    Pixel accuracy pools every pixel of every slice; Dice is the mean over slices. For the
    all-background predictor, accuracy = 1 - LV share (high) while Dice = 0.
    """
    truths = [np.asarray(t, bool) for t in truths]
    candidates = {
        "GapFCN (ours)": [np.asarray(p, bool) for p in predictions],
        "all background": [np.zeros_like(t) for t in truths],
        "all LV": [np.ones_like(t) for t in truths],
    }
    pixels = sum(t.size for t in truths)
    share = sum(int(t.sum()) for t in truths) / pixels
    return [{"predictor": name,
             "pixel_accuracy": sum(int((p == t).sum()) for p, t in zip(preds, truths)) / pixels,
             "dice_mean": float(np.mean([metrics.dice(p, t) for p, t in zip(preds, truths)])),
             "lv_pixel_share": share} for name, preds in candidates.items()]


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
        cam = attribute(model, x, method="cam", target=LV, relu=False, normalize="minmax")
        maps.append(cam.detach().cpu().numpy())  # (b, H, W)
    return np.concatenate(maps)


def cam_localisation(maps: np.ndarray, masks: np.ndarray) -> dict[str, float]:
    """How well the CAM points at the LV: mean share of its mass inside the mask (``metrics.heatmap_overlap``),
    the LV's area share (what a flat map would score), and the share of maps whose peak lies in the LV."""
    masks = np.asarray(masks).astype(bool)
    inside = [metrics.heatmap_overlap(m, mask) for m, mask in zip(maps, masks)]
    peaks = [mask.flat[int(np.argmax(m))] for m, mask in zip(maps, masks)]
    return {"mass_inside_lv": float(np.nanmean(inside)) if not np.all(np.isnan(inside)) else math.nan,
            "lv_area_share": float(np.mean([mask.mean() for mask in masks])),
            "peak_in_lv": float(np.mean(peaks))}
