"""Matplotlib (Agg) figures of the LV pipeline; each function returns a Figure for ``Report.add_figure``."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def training_curves(epochs: list[dict], steps: list[dict], title: str = "GapFCN"):
    """Loss, pixel accuracy and LV Dice per epoch (train / tune: the Trainer's "val" split) and the LR per step."""
    fig, axes = plt.subplots(1, 4, figsize=(15, 3.2))
    x = [row["epoch"] for row in epochs]
    for ax, name in zip(axes[:3], ("loss", "accuracy", "dice_mean")):
        for split, style in (("train", "-o"), ("val", "--s")):
            ax.plot(x, [row.get(f"{split}_{name}", math.nan) for row in epochs], style, ms=3,
                    label="tune" if split == "val" else split)
        ax.set(xlabel="epoch", title=f"{title}: {name}")
        ax.legend()
    axes[3].plot([s["step"] for s in steps], [s["lr"] for s in steps])
    axes[3].set(xlabel="step", title="learning rate (exponential decay)")
    fig.tight_layout()
    return fig


def accuracy_vs_dice(table: list[dict]):
    """Grouped bars: pixel accuracy vs Dice for our model and the trivial predictors."""
    fig, ax = plt.subplots(figsize=(6.5, 3.4))
    names = [row["predictor"] for row in table]
    positions = np.arange(len(names))
    ax.bar(positions - 0.2, [row["pixel_accuracy"] for row in table], 0.4, label="pixel accuracy")
    ax.bar(positions + 0.2, [row["dice_mean"] for row in table], 0.4, label="Dice (LV)")
    ax.set_xticks(positions, names)
    ax.set(ylim=(0, 1.05), title=f"class imbalance: LV is {100 * table[0]['lv_pixel_share']:.1f}% of pixels")
    ax.legend(loc="upper right")
    fig.tight_layout()
    return fig


def per_slice_distributions(rows_by_model: dict[str, list[dict]]):
    """Box plots of per-slice Dice and APD (mm) for each model."""
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4))
    names = list(rows_by_model)
    for ax, key, label in ((axes[0], "dice_1", "Dice"), (axes[1], "apd_mm_1", "APD (mm)")):
        values = [[r[key] for r in rows_by_model[n] if not math.isnan(r[key])] for n in names]
        ax.boxplot(values, showmeans=True)
        ax.set_xticks(range(1, len(names) + 1), names)
        ax.set(title=f"per-slice {label} (validation, native resolution)")
    fig.tight_layout()
    return fig


def cam_overlays(images: list[np.ndarray], cams: np.ndarray, truths: list[np.ndarray], predictions: np.ndarray):
    """Per example: the image with truth (green) / prediction (red) contours, and the LV CAM overlaid."""
    n = len(images)
    fig, axes = plt.subplots(2, n, figsize=(2.6 * n, 5.4), squeeze=False)
    for column, (image, cam, truth, pred) in enumerate(zip(images, cams, truths, predictions)):
        top, bottom = axes[0, column], axes[1, column]
        top.imshow(image, cmap="gray")
        top.contour(truth, levels=[0.5], colors="lime", linewidths=1)
        if pred.any():
            top.contour(pred, levels=[0.5], colors="red", linewidths=1)
        bottom.imshow(image, cmap="gray")
        bottom.imshow(cam, cmap="jet", alpha=0.45, vmin=0, vmax=1)
        bottom.contour(truth, levels=[0.5], colors="white", linewidths=0.8)
        for ax in (top, bottom):
            ax.set_axis_off()
    axes[0, 0].set_title("truth (green) / predicted (red)", fontsize=8, loc="left")
    axes[1, 0].set_title("CAM of the LV class (GAP layer)", fontsize=8, loc="left")
    fig.tight_layout()
    return fig


def layer_gradients(grad_norms: dict[str, float]):
    """Horizontal bars: mean gradient L2 norm per layer (log scale), in forward order."""
    names = list(grad_norms)
    fig, ax = plt.subplots(figsize=(7, 0.22 * len(names) + 1.2))
    values = [grad_norms[n] if grad_norms[n] > 0 else math.nan for n in names]
    ax.barh(range(len(names)), values)
    ax.set_yticks(range(len(names)), names, fontsize=7)
    ax.invert_yaxis()
    ax.set(xscale="log", xlabel="mean gradient L2 norm", title="per-layer gradient norms (LayerStats)")
    fig.tight_layout()
    return fig


def sweep_trials(rows: list[dict]):
    """Tuning Dice of each trial against its initial LR (colour: decay rate)."""
    done = [r for r in rows if r.get("tune_dice") is not None]
    fig, ax = plt.subplots(figsize=(5, 3.3))
    points = ax.scatter([r["lr"] for r in done], [r["tune_dice"] for r in done],
                        c=[r["decay_rate"] for r in done], cmap="viridis", vmin=0.5, vmax=1.0)
    fig.colorbar(points, ax=ax, label="decay rate")
    ax.set(xscale="log", xlabel="initial learning rate", ylabel="best tuning Dice", title="Optuna search")
    fig.tight_layout()
    return fig
