"""Segmentation with a trained U-Net and the paper's tables (rows WM/GM/CSF, columns the measures)."""

from __future__ import annotations

import numpy as np
import torch
from skimage.registration import phase_cross_correlation
from torch import nn

from medinterp_widgets.metrics import dice_per_class, one_vs_rest_metrics

TISSUES = {1: "WM", 2: "GM", 3: "CSF"}
N_CLASSES = 4


def segment(model: nn.Module, images: np.ndarray, device: torch.device, batch_size: int = 8) -> np.ndarray:
    """argmax labels (N, H, W) uint8 of images (N, H, W); the model is used in eval mode and left as found."""
    was_training = model.training
    model.eval()
    labels = []
    try:
        with torch.no_grad():
            for start in range(0, len(images), batch_size):
                x = torch.from_numpy(np.ascontiguousarray(images[start:start + batch_size]))[:, None].to(device)
                labels.append(model(x).argmax(1).cpu().numpy().astype(np.uint8))  # (B, 4, H, W) -> (B, H, W)
    finally:
        model.train(was_training)
    return np.concatenate(labels)


def tissue_rows(pred: np.ndarray, truth: np.ndarray, condition: str) -> list[dict]:
    """One row per tissue: accuracy, specificity, sensitivity (one-vs-rest over every pixel) and DSC."""
    rates = one_vs_rest_metrics(truth, pred, labels=list(range(N_CLASSES)))
    dsc = dice_per_class(pred, truth, N_CLASSES)
    return [{"condition": condition, "tissue": name, "accuracy": rates[c]["accuracy"],
             "specificity": rates[c]["specificity"], "sensitivity": rates[c]["sensitivity"], "DSC": float(dsc[c])}
            for c, name in TISSUES.items()]


def saliency_shift(moved: np.ndarray, reference: np.ndarray) -> tuple[float, float]:
    """(dy, dx) that carries the ``reference`` saliency map onto ``moved`` (phase correlation of |maps|);
    (nan, nan) when either map is all zero (no predicted brain, nothing to follow)."""
    if not (np.any(moved) and np.any(reference)):
        return float("nan"), float("nan")
    shift, _, _ = phase_cross_correlation(np.abs(moved), np.abs(reference), normalization=None)
    return float(shift[0]), float(shift[1])
