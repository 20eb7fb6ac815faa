"""Matplotlib (Agg) figures of the covid-interp report: curves, embeddings, filters, neurons, Grad-CAM."""

from __future__ import annotations

import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from medinterp_widgets import render  # noqa: E402
from medinterp_widgets.metrics.embedding import EMBEDDING_METHODS  # noqa: E402

from . import features  # noqa: E402

# The colours the covid-interp app's EmbeddingViewer gives these classes, so both views agree.
CLASS_COLOURS = {0: (render.LABEL_COLORS[1], "non-COVID"), 1: (render.LABEL_COLORS[0], "COVID")}


def fold_curves(histories: list[list[dict]], title: str, marks: list[int] | None = None):
    """Loss and the five rates per epoch, train vs test: mean over folds with a +/- 1 sd band (Figs. 4-5).

    ``marks``: each fold's reported epoch, drawn as ticks on the x axis."""
    epochs = min(len(history) for history in histories)
    x = np.arange(1, epochs + 1)
    fig, axes = plt.subplots(2, 3, figsize=(12, 6.5))
    for ax, key in zip(axes.ravel(), ("loss", *features.RATES)):
        for split, label in (("train", "train"), ("val", "test")):
            values = np.array([[h[split][key] for h in history[:epochs]] for history in histories], dtype=float)
            with warnings.catch_warnings():  # an epoch where no fold defines PPV / NPV stays a gap
                warnings.simplefilter("ignore", RuntimeWarning)
                mean, sd = np.nanmean(values, axis=0), np.nanstd(values, axis=0)
            ax.plot(x, mean, label=label)
            ax.fill_between(x, mean - sd, mean + sd, alpha=0.2)
        for epoch in marks or []:
            ax.axvline(epoch, color="grey", lw=0.6, ls=":")
        ax.set_title(key)
        ax.set_xlabel("epoch")
        ax.legend(fontsize=8)
    fig.suptitle(f"{title}: mean ± sd over {len(histories)} folds" + (" (dotted: reported epochs)" if marks else ""))
    fig.tight_layout()
    return fig


def _scatter(ax, points: np.ndarray, labels: np.ndarray) -> None:
    for label, (colour, name) in CLASS_COLOURS.items():
        chosen = labels == label
        ax.scatter(*points[chosen].T, s=8, c=colour, label=name, alpha=0.7)


def embedding_grid(arrays: dict, dims: int):
    """Rows LBP / deep features, columns PCA, kernel PCA (linear, RBF), t-SNE."""
    labels = arrays["embedding_labels"]
    fig = plt.figure(figsize=(14, 7))
    for row, name in enumerate(features.FEATURE_SETS):
        for col, method in enumerate(EMBEDDING_METHODS):
            kwargs = {"projection": "3d"} if dims == 3 else {}
            ax = fig.add_subplot(2, 4, 4 * row + col + 1, **kwargs)
            _scatter(ax, arrays[features.embedding_key(name, method, dims)], labels)
            ax.set_title(f"{'LBP' if name == 'lbp' else 'AlexNet'}: {method}", fontsize=9)
            ax.tick_params(labelsize=6)
    fig.axes[0].legend(fontsize=8)
    fig.suptitle(f"{dims}-D embeddings of LBP vs deep features")
    fig.tight_layout()
    return fig


def filter_grid(filters: np.ndarray):
    """First-layer kernels (out, k, k), each min-max scaled, in a square grid."""
    n = len(filters)
    cols = int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 0.9, rows * 0.9), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, kernel in zip(axes.ravel(), filters):
        ax.imshow(kernel, cmap="gray")
    fig.suptitle("First-layer filters", fontsize=9)
    return fig


def neuron_grid(probe: np.ndarray, neurons: list[dict]):
    """Guided backprop of random hidden neurons: one row per conv layer, the probe image first."""
    layers = list(dict.fromkeys(row["layer"] for row in neurons))
    per_layer = max(sum(row["layer"] == layer for row in neurons) for layer in layers)
    fig, axes = plt.subplots(len(layers), per_layer + 1, figsize=(1.8 * (per_layer + 1), 1.8 * len(layers)),
                             squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for r, layer in enumerate(layers):
        axes[r, 0].imshow(probe, cmap="gray")
        axes[r, 0].set_title(layer, fontsize=8)
        for c, row in enumerate([row for row in neurons if row["layer"] == layer], start=1):
            gradient = row["map"]
            limit = float(np.abs(gradient).max()) or 1.0
            axes[r, c].imshow(gradient, cmap="seismic", vmin=-limit, vmax=limit)
            axes[r, c].set_title(f"channel {row['channel']}", fontsize=7)
    fig.suptitle("Guided backprop of random hidden neurons", fontsize=10)
    fig.tight_layout()
    return fig


def _two_rows(count: int):
    """A figure with two rows of ``count`` (at least 1) empty axes, axis lines off."""
    n = max(count, 1)
    fig, axes = plt.subplots(2, n, figsize=(2.2 * n, 4.6), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    return fig, axes


def heatmap_overlays(images: np.ndarray, maps: np.ndarray, probabilities: np.ndarray, masks=None,
                     degrees=None, title: str = ""):
    """Image + Grad-CAM overlay per column; lesion contour (green) and consistent degree when given."""
    fig, axes = _two_rows(len(images))
    for i, (image, heat) in enumerate(zip(images, maps)):
        axes[0, i].imshow(image, cmap="gray")
        axes[1, i].imshow(image, cmap="gray")
        axes[1, i].imshow(heat, cmap="jet", alpha=0.45)
        label = f"P(COVID) {probabilities[i]:.2f}"
        if masks is not None:
            for ax in axes[:, i]:
                ax.contour(masks[i], levels=[0.5], colors="lime", linewidths=0.8)
            label += f"\nCD {degrees[i]:.2f}"
        axes[0, i].set_title(label, fontsize=7)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def layer_grid(images: np.ndarray, labels: np.ndarray, rows: list[dict]):
    """Fig. 10: one row per image (its class), then guided backprop of each conv layer's strongest neuron."""
    layers = list(dict.fromkeys(row["layer"] for row in rows))
    fig, axes = plt.subplots(len(images), len(layers) + 1, figsize=(1.7 * (len(layers) + 1), 1.7 * len(images)),
                             squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for index, image in enumerate(images):
        axes[index, 0].imshow(image, cmap="gray")
        axes[index, 0].set_title("COVID" if labels[index] == 1 else "non-COVID", fontsize=7)
        for column, layer in enumerate(layers, start=1):
            row = next(r for r in rows if r["image"] == index and r["layer"] == layer)
            _signed(axes[index, column], row["map"])
            if index == 0:
                axes[index, column].set_title(f"conv{column} ({layer})", fontsize=7)
    fig.suptitle("Guided backprop of each conv layer's most active neuron", fontsize=10)
    fig.tight_layout()
    return fig


def _signed(ax, gradient: np.ndarray) -> None:
    limit = float(np.abs(gradient).max()) or 1.0
    ax.imshow(gradient, cmap="seismic", vmin=-limit, vmax=limit)


def gradient_grid(images: np.ndarray, maps: np.ndarray, masks: np.ndarray, degrees: np.ndarray, title: str):
    """Image with its lesion contour above, the signed guided-backprop map below, per case."""
    fig, axes = _two_rows(len(images))
    for i, (image, gradient) in enumerate(zip(images, maps)):
        axes[0, i].imshow(image, cmap="gray")
        axes[0, i].contour(masks[i], levels=[0.5], colors="lime", linewidths=0.8)
        axes[0, i].set_title(f"CD {degrees[i]:.2f}", fontsize=7)
        _signed(axes[1, i], gradient)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def degree_histogram(degrees: np.ndarray, areas: np.ndarray, threshold: float):
    fig, ax = plt.subplots(figsize=(5, 3.2))
    bins = np.linspace(0, 1, 11)
    ax.hist(degrees[np.isfinite(degrees)], bins=bins, alpha=0.7, label="consistent degree")
    ax.hist(areas, bins=bins, alpha=0.5, label="support area (chance)")
    ax.set_xlabel(f"fraction (Grad-CAM >= {threshold})")
    ax.set_ylabel("lesion slices")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def add_all(report, config, trained: dict, found: dict, arrays: dict, lesions) -> None:
    """Render every figure into ``report`` (PNG bytes), named after the paper's figures."""
    alexnet = trained["alexnet"]
    report.add_figure("fig4_5_alexnet_training_curves", fold_curves(
        [r["history"] for r in alexnet], "Paper AlexNet training trends", [r["best_epoch"] for r in alexnet]))
    report.add_figure("explained_classifier_training_curves", fold_curves(
        [r["history"] for r in trained["explained"]["final"]], "Explained classifier training trends"))
    report.add_figure("fig6_embeddings_2d", embedding_grid(arrays, 2))
    report.add_figure("fig7_embeddings_3d", embedding_grid(arrays, 3))
    report.add_figure("fig8_first_layer_filters", filter_grid(found["filters"]))
    report.add_figure("fig9_hidden_neurons_guided_backprop", neuron_grid(found["probe"], found["neurons"]))
    report.add_figure("fig10_conv_layers_by_image", layer_grid(found["layer_images"], found["layer_labels"],
                                                               found["layer_maps"]))
    shown, lesion = found["shown"], found["lesions"]
    images, masks = lesions.images[shown, 0].numpy(), lesions.masks[shown]
    report.add_figure("fig11_gradcam_top_consistent_degree", heatmap_overlays(
        images, lesion["cams"][shown], lesion["p_covid"][shown], masks=masks, degrees=lesion["degrees"][shown],
        title=f"Grad-CAM ({config.cam_layer}) vs lesion (green): highest consistent degrees, untouched slices"))
    report.add_figure("fig12_guided_backprop_top_consistent_degree", gradient_grid(
        images, found["guided"], masks, lesion["degrees"][shown], "Guided backprop (COVID class), same cases"))
    report.add_figure("consistent_degree_histogram",
                      degree_histogram(lesion["degrees"], lesion["areas"], config.cam_threshold))
