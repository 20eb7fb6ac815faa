"""Matplotlib (Agg) figures: the GBP panels per slice, the translation experiment, the training curve."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.colors import ListedColormap  # noqa: E402

TISSUE_CMAP = ListedColormap(["black", "#f0f0f0", "#8a8a8a", "#3b7dd8"])  # bg, WM, GM, CSF


def _show(axis, image, title, **kwargs):
    axis.imshow(image, **kwargs)
    axis.set_title(title, fontsize=8)
    axis.axis("off")


def gbp_panels(test, analysis, indices) -> plt.Figure:
    """Rows: slices; columns: input, GBP, enhanced, correlation, placed vs true mask, the three segmentations."""
    columns = ("input (unmasked)", "guided backprop", "enhanced f(z)", "correlation", "placed (red) / true (green)",
               "seg. unmasked", "seg. GBP mask", "seg. true mask", "truth")
    figure, axes = plt.subplots(len(indices), len(columns), figsize=(1.6 * len(columns), 1.8 * len(indices)),
                                squeeze=False)
    for row, i in enumerate(indices):
        gradient = analysis.gradients[i]
        limit = float(np.abs(gradient).max()) or 1.0
        panels = [(test.images[i], dict(cmap="gray")), (gradient, dict(cmap="RdBu_r", vmin=-limit, vmax=limit)),
                  (analysis.enhanced[i], dict(cmap="magma")), (analysis.correlations[i], dict(cmap="viridis")),
                  (test.images[i], dict(cmap="gray"))]
        panels += [(seg, dict(cmap=TISSUE_CMAP, vmin=0, vmax=3, interpolation="nearest"))
                   for seg in (analysis.seg_unmasked[i], analysis.seg_placed[i], analysis.seg_true_mask[i], test.labels[i])]
        for column, (image, style) in enumerate(panels):
            _show(axes[row, column], image, columns[column] if row == 0 else "", **style)
        axes[row, 4].contour(analysis.placed_masks[i], levels=[0.5], colors="red", linewidths=0.8)
        axes[row, 4].contour(test.masks[i], levels=[0.5], colors="lime", linewidths=0.8)
    figure.tight_layout()
    return figure


def translation_figure(rows, shifted) -> plt.Figure:
    """Top: the shifted inputs; bottom: their enhanced GBP maps, titled with true vs recovered shifts."""
    n = len(rows)
    figure, axes = plt.subplots(2, n, figsize=(1.8 * n, 3.8), squeeze=False)
    for k, row in enumerate(rows):
        _show(axes[0, k], shifted["images"][k], f"shift ({row['true dy']}, {row['true dx']})", cmap="gray")
        _show(axes[1, k], shifted["enhanced"][k], f"found ({row['recovered dy']}, {row['recovered dx']})", cmap="magma")
    figure.tight_layout()
    return figure


def loss_curve(history) -> plt.Figure:
    """Training soft-Dice loss per epoch."""
    figure, axis = plt.subplots(figsize=(4, 2.6))
    losses = [epoch["train"].get("loss", np.nan) for epoch in history]
    axis.plot(range(1, len(losses) + 1), losses, marker="o")
    axis.set_xlabel("epoch")
    axis.set_ylabel("soft Dice loss")
    axis.set_title("U-Net training (skull-stripped slices)", fontsize=9)
    figure.tight_layout()
    return figure
