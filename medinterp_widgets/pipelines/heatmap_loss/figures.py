"""Figures of the heatmap-loss report (matplotlib Agg): per-group distributions and map overlays."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from .data import StudyData  # noqa: E402
from .study import ModelResult  # noqa: E402

METRIC_LABELS = {"heart_overlap": "heatmap-heart overlap", "marker_overlap": "heatmap-marker overlap",
                 "test_accuracy": "test accuracy"}


def distribution_figure(groups: dict[str, list[ModelResult]], metric: str, title: str):
    """Box plot per group of the per-model ``metric`` (kept models), each model drawn as a jittered dot."""
    names = list(groups)
    values = [[getattr(r, metric) for r in groups[n] if r.kept and np.isfinite(getattr(r, metric))] for n in names]
    figure, axes = plt.subplots(figsize=(1.2 + 1.6 * len(names), 3.2))
    axes.boxplot([v if v else [np.nan] for v in values], widths=0.5, showfliers=False)
    axes.set_xticks(range(1, len(names) + 1), [f"{n}\n(n={len(v)})" for n, v in zip(names, values)])
    jitter = np.random.default_rng(0)
    for position, group_values in enumerate(values, start=1):
        xs = position + jitter.uniform(-0.12, 0.12, len(group_values))
        axes.scatter(xs, group_values, s=22, alpha=0.8, zorder=3)
    axes.set_ylabel(METRIC_LABELS.get(metric, metric))
    if metric == "marker_overlap":  # a few pixels: values sit near 0, so let the axis zoom in
        axes.set_ylim(bottom=0)
    else:
        axes.set_ylim(-0.02, 1.02)
    axes.set_title(title)
    axes.grid(axis="y", alpha=0.3)
    return figure


def overlay_figure(data: StudyData, groups: dict[str, list[ModelResult]], n_images: int = 4):
    """Rows: groups (their first model); columns: test images with the map, heart (white) and marker (cyan)."""
    names = [n for n in groups if groups[n] and groups[n][0].maps.size]
    n_images = min(n_images, *(groups[n][0].maps.shape[0] for n in names)) if names else 0
    figure, axes = plt.subplots(max(1, len(names)), max(1, n_images), squeeze=False,
                                figsize=(2.1 * max(1, n_images), 2.2 * max(1, len(names))))
    for row, name in enumerate(names):
        maps = groups[name][0].maps
        for col in range(n_images):
            ax = axes[row, col]
            ax.imshow(data.test.images[col, 0].numpy(), cmap="gray")
            heat = maps[col] / (maps[col].max() or 1.0)
            ax.imshow(np.ma.masked_less(heat, 0.05), cmap="jet", alpha=0.5, vmin=0, vmax=1)
            ax.contour(data.test.heart[col].numpy(), levels=[0.5], colors="white", linewidths=0.7)
            if data.test.marker[col].any():
                ax.contour(data.test.marker[col].numpy(), levels=[0.5], colors="cyan", linewidths=0.7)
            label = data.class_names[int(data.test.labels[col])]
            ax.set_title(f"{name} | {label}" if col == 0 else label, fontsize=8)
    for ax in axes.ravel():
        ax.axis("off")
    figure.tight_layout()
    return figure
