"""Figures of the heatmap-loss report (matplotlib Agg): examples per class and sex, per-group
distributions, per-class HiResCAM examples of one model per group, ACDC out-of-fold predictions."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from .data import StudyData  # noqa: E402
from .study import ModelResult, example_indices  # noqa: E402

METRIC_LABELS = {"heart_overlap": "heatmap-heart overlap", "marker_overlap": "heatmap-marker overlap",
                 "test_accuracy": "test accuracy"}
SEX = ("female", "male")


def _overlay(ax, image, heart=None, marker=None, heat=None) -> None:
    ax.imshow(image, cmap="gray")
    if heat is not None:
        heat = heat / (heat.max() or 1.0)
        ax.imshow(np.ma.masked_less(heat, 0.05), cmap="jet", alpha=0.5, vmin=0, vmax=1)
    if heart is not None and heart.any():
        ax.contour(heart, levels=[0.5], colors="white", linewidths=0.7)
    if marker is not None and marker.any():
        ax.contour(marker, levels=[0.5], colors="cyan", linewidths=0.7)
    ax.axis("off")


def class_sex_figure(data: StudyData, title: str):
    """One test image per (sex, class): rows female / male, heart outlined, marker in cyan."""
    split, names = data.test, data.class_names
    figure, axes = plt.subplots(2, len(names), squeeze=False, figsize=(2.0 * len(names), 4.3))
    for sex in (0, 1):
        for c, name in enumerate(names):
            ax = axes[sex, c]
            hits = np.nonzero(((split.labels == c) & (split.sex == sex)).numpy())[0]
            if not hits.size:
                ax.axis("off")
                continue
            i = int(hits[0])
            _overlay(ax, split.images[i, 0].numpy(), split.heart[i].numpy(), split.marker[i].numpy())
            ax.set_title(f"{name}, {SEX[sex]}", fontsize=8)
    figure.suptitle(title, fontsize=9)
    figure.tight_layout()
    return figure


def distribution_figure(groups: dict[str, list[ModelResult]], metric: str, title: str):
    """Box plot per group of the per-model ``metric`` (kept models), each model drawn as a jittered dot."""
    names = list(groups)
    values = [[getattr(r, metric) for r in groups[n] if r.kept and np.isfinite(getattr(r, metric))] for n in names]
    figure, axes = plt.subplots(figsize=(1.2 + 1.6 * len(names), 3.2))
    axes.boxplot([v if v else [np.nan] for v in values], widths=0.5, showfliers=False)
    axes.set_xticks(range(1, len(names) + 1), [f"{n}\n(n={len(v)})" for n, v in zip(names, values)])
    jitter = np.random.default_rng(0)
    for position, group_values in enumerate(values, start=1):
        axes.scatter(position + jitter.uniform(-0.12, 0.12, len(group_values)), group_values, s=22, alpha=0.8,
                     zorder=3)
    axes.set_ylabel(METRIC_LABELS.get(metric, metric))
    if metric == "marker_overlap":  # a few pixels: values sit near 0, so let the axis zoom in
        axes.set_ylim(bottom=0)
    elif metric != "test_accuracy":
        axes.set_ylim(-0.02, 1.02)
    axes.set_title(title)
    axes.grid(axis="y", alpha=0.3)
    return figure


def overlay_figure(data: StudyData, groups: dict[str, list[ModelResult]], count: int):
    """Rows: groups (their first kept model); columns: example test images (two per class) with the
    model's HiResCAM map of the true class, heart (white) and marker (cyan)."""
    chosen = {n: next((m for m in models if m.kept), models[0]) for n, models in groups.items() if models}
    examples = example_indices(data.test.labels, count)
    names = [n for n in chosen if chosen[n].maps.shape[0] == len(examples)]
    figure, axes = plt.subplots(max(1, len(names)), max(1, len(examples)), squeeze=False,
                                figsize=(1.8 * max(1, len(examples)), 1.95 * max(1, len(names))))
    for row, name in enumerate(names):
        for col, i in enumerate(examples):
            ax = axes[row, col]
            _overlay(ax, data.test.images[i, 0].numpy(), data.test.heart[i].numpy(), data.test.marker[i].numpy(),
                     chosen[name].maps[col])
            label = data.class_names[int(data.test.labels[i])]
            ax.set_title(f"{name} #{chosen[name].model_id} | {label}" if col == 0 else label, fontsize=7)
    for ax in axes.ravel():
        ax.axis("off")
    figure.tight_layout()
    return figure


def acdc_figure(results: dict, diagnoses: list[str]):
    """Out-of-fold P(diseased) per patient, grouped by diagnosis, one panel per loss."""
    figure, axes = plt.subplots(1, max(1, len(results)), squeeze=False, figsize=(4.2 * max(1, len(results)), 3.0))
    order = ["NOR", "DCM", "HCM", "MINF", "RV"]
    for ax, (loss, result) in zip(axes[0], results.items()):
        for x, name in enumerate(order):
            values = [p for p, d in zip(result.probabilities, diagnoses) if d == name]
            ax.scatter(np.full(len(values), x) + np.random.default_rng(x).uniform(-0.15, 0.15, len(values)),
                       values, s=16, alpha=0.8)
        ax.axhline(0.5, color="grey", lw=0.7, ls="--")
        ax.set_xticks(range(len(order)), order)
        ax.set_ylim(-0.03, 1.03)
        ax.set_ylabel("out-of-fold P(diseased)")
        ax.set_title(f"ACDC {loss}: balanced acc. {result.cv['balanced_accuracy']:.2f}", fontsize=9)
    figure.tight_layout()
    return figure
