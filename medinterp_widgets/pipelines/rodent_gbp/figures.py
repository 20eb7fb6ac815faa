"""Matplotlib (Agg) figures: tissue ground truth, Fig. 5 histograms, GBP panels, Figs. 3 and 4, training.

Slices are sagittal (H = anterior-posterior, W = inferior-superior); they are drawn transposed with the
origin at the bottom so the brain sits upright.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.colors import ListedColormap  # noqa: E402

from .gbp import STEP_NAMES, enhancement_steps  # noqa: E402

TISSUE_CMAP = ListedColormap(["black", "#f0f0f0", "#8a8a8a", "#3b7dd8"])  # bg, WM, GM, CSF
LABELS = dict(cmap=TISSUE_CMAP, vmin=0, vmax=3, interpolation="nearest")
MASK_COLOURS = {"true": "lime", "paper": "yellow", "multi": "red"}


def _show(axis, image, title="", **kwargs):
    axis.imshow(np.asarray(image).T, origin="lower", **kwargs)
    axis.set_title(title, fontsize=8)
    axis.axis("off")


def tissue_figure(animals, slices_per_animal: int = 1) -> plt.Figure:
    """Rows: animals; columns: image, tissue from the structure labels (old), mixture-model tissue (new)."""
    figure, axes = plt.subplots(len(animals), 3, figsize=(7.5, 1.9 * len(animals)), squeeze=False)
    for row, animal in enumerate(animals):
        index = int(np.argmax(animal.mask.reshape(len(animal.mask), -1).sum(1)))
        old = animal.label_tissue if animal.label_tissue is not None else np.zeros_like(animal.tissue)
        for column, (image, title, style) in enumerate([
                (animal.image[index], f"{animal.subject_id} slice {index}", dict(cmap="gray")),
                (old[index], "structure labels (old)", LABELS), (animal.tissue[index], "mixture model (new)", LABELS)]):
            _show(axes[row, column], image, title if row == 0 or column == 0 else "", **style)
    figure.tight_layout()
    return figure


def enhancement_histograms(gradient: np.ndarray, mask: np.ndarray, config) -> plt.Figure:
    """Fig. 5: each enhancement step's image and its histogram (brain pixels vs the rest) for one slice."""
    steps = enhancement_steps(gradient, expand_max=config.expand_max, centre=config.bump_centre,
                              width=config.bump_width)
    figure, axes = plt.subplots(2, len(STEP_NAMES) + 1, figsize=(13, 4.6))
    _show(axes[0, 0], np.abs(gradient), "|guided backprop|", cmap="magma")
    axes[1, 0].hist(gradient.ravel(), bins=80, color="0.4")
    axes[1, 0].set_title("raw gradient", fontsize=8)
    for column, name in enumerate(STEP_NAMES, start=1):
        values = steps[name]
        _show(axes[0, column], values, name, cmap="magma")
        axes[1, column].hist([values[mask].ravel(), values[~mask].ravel()], bins=60, stacked=True,
                             color=["tab:red", "0.6"], label=["brain", "outside"])
        axes[1, column].set_title(name, fontsize=8)
    axes[1, -1].set_yscale("log")  # f(z) is near 0 almost everywhere
    axes[1, -1].legend(fontsize=7)
    figure.tight_layout()
    return figure


def gbp_panels(animal, analysis, indices) -> plt.Figure:
    """Rows: slices; columns: input, GBP, enhanced, placed masks vs truth, the segmentations, truth."""
    segmentations = list(analysis.segmentations.items())
    columns = ["unmasked input", "guided backprop", "enhanced f(z)", "masks: true / paper / multi"]
    columns += [f"seg. {name}" for name, _ in segmentations] + ["ground truth"]
    figure, axes = plt.subplots(len(indices), len(columns), figsize=(1.7 * len(columns), 1.5 * len(indices)),
                                squeeze=False)
    for row, i in enumerate(indices):
        gradient = analysis.gradients[i]
        limit = float(np.abs(gradient).max()) or 1.0
        panels = [(animal.unmasked[i], dict(cmap="gray")), (gradient, dict(cmap="RdBu_r", vmin=-limit, vmax=limit)),
                  (analysis.enhanced[i], dict(cmap="magma")), (animal.unmasked[i], dict(cmap="gray"))]
        panels += [(seg[i], LABELS) for _, seg in segmentations] + [(animal.tissue[i], LABELS)]
        for column, (image, style) in enumerate(panels):
            _show(axes[row, column], image, columns[column] if row == 0 else "", **style)
        masks = {"true": animal.mask[i], **{name: placed.mask[i] for name, placed in analysis.placed.items()}}
        for name, mask in masks.items():
            if mask.any():
                axes[row, 3].contour(mask.T, levels=[0.5], colors=MASK_COLOURS[name], linewidths=0.7)
        axes[row, 0].set_ylabel(f"slice {i}", fontsize=7)
    figure.tight_layout()
    return figure


def translation_figure(rows, arrays) -> plt.Figure:
    """Fig. 3: the moved inputs (top), their GBP maps (middle) and enhanced maps with the placed mask."""
    n = len(rows)
    figure, axes = plt.subplots(3, n, figsize=(1.9 * n, 4.6), squeeze=False)
    for k, row in enumerate(rows):
        limit = float(np.abs(arrays["gradients"][k]).max()) or 1.0
        _show(axes[0, k], arrays["images"][k], f"shift ({row['true dy']}, {row['true dx']})", cmap="gray")
        _show(axes[1, k], arrays["gradients"][k], f"GBP moved ({row['saliency dy']:.0f}, {row['saliency dx']:.0f})",
              cmap="RdBu_r", vmin=-limit, vmax=limit)
        _show(axes[2, k], arrays["enhanced"][k], f"found ({row['recovered dy']}, {row['recovered dx']})", cmap="magma")
        axes[2, k].contour(arrays["masks"][k].T, levels=[0.5], colors="red", linewidths=0.7)
    figure.suptitle(f"translation, slice {arrays['slice']} (template: {arrays['reference']})", fontsize=9)
    figure.tight_layout()
    return figure


def noise_figure(rows, shown) -> plt.Figure:
    """Fig. 4: the noisy inputs and their enhanced maps, and the DSCs against the noise level."""
    n = len(rows)
    figure = plt.figure(figsize=(2.0 * n + 4, 4.2))
    grid = figure.add_gridspec(2, n + 2)
    for k, sigma in enumerate(shown["levels"]):
        _show(figure.add_subplot(grid[0, k]), shown["images"][k], f"noise {sigma}", cmap="gray")
        _show(figure.add_subplot(grid[1, k]), shown["enhanced"][k], "enhanced", cmap="magma")
    axis = figure.add_subplot(grid[:, n:])
    sigmas = [row["noise sigma"] for row in rows]
    for key in [k for k in rows[0] if k.endswith("DSC (GBP mask)") or k.endswith("DSC (true mask)")]:
        axis.plot(sigmas, [row[key] for row in rows], marker="o", label=key, linestyle="-" if "GBP" in key else "--")
    axis.set_xlabel("Rician noise sigma (input scale 0..1)")
    axis.set_ylabel("DSC (whole volume)")
    axis.legend(fontsize=6)
    figure.tight_layout()
    return figure


def training_curve(history) -> plt.Figure:
    """Training soft-Dice loss and validation Dice per epoch."""
    figure, axis = plt.subplots(figsize=(4.5, 2.8))
    epochs = range(1, len(history) + 1)
    axis.plot(epochs, [e["train"].get("loss", np.nan) for e in history], marker=".", label="train soft-Dice loss")
    if history and "val" in history[0]:
        axis.plot(epochs, [e["val"].get("dice_mean", np.nan) for e in history], marker=".",
                  label="val Dice (WM/GM/CSF)")
    axis.set_xlabel("epoch")
    axis.legend(fontsize=7)
    axis.set_title("U-Net training (skull-stripped slices)", fontsize=9)
    figure.tight_layout()
    return figure
