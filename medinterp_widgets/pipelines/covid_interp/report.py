"""`CovidReport` (a Report that also writes ``arrays.npz``) and how a run's results fill it.

The arrays are what an interactive view needs and JSON should not hold: the embeddings
(``embedding/<lbp|deep>/<pca|kpca-linear|kpca-rbf|tsne>/<2|3>d`` (n, d), ``features.embedding_key``)
of the features they came from (``embedding_features/<lbp|deep>`` (n, f) float32) with ``embedding_labels``,
``embedding_thumbnails`` (n, 32, 32) uint8 and ``embedding_index`` (rows of the image set), the Grad-CAM
overlays (``gradcam_images``/``gradcam_maps`` (n, H, W)) and the lesion slices (``lesion_images``,
``lesion_masks``, ``lesion_cams``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from medinterp_widgets.metrics.embedding import EMBEDDING_METHODS
from medinterp_widgets.pipelines.report import Report

from . import features, figures, tables
from .config import Config

ARRAYS_FILE = "arrays.npz"


@dataclass
class CovidReport(Report):
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    faithfulness: dict = field(default_factory=dict)  # tables.faithfulness_summary: report.json's "faithfulness"

    def to_json(self) -> dict:
        return {**super().to_json(), "faithfulness": self.faithfulness}

    def write(self, out_dir) -> Path:
        """Report.write, plus ``arrays.npz`` beside report.json."""
        page = super().write(out_dir)
        np.savez_compressed(Path(out_dir) / ARRAYS_FILE, **self.arrays)
        return page


def load_arrays(folder) -> dict[str, np.ndarray]:
    """The arrays a written CovidReport left in ``folder`` (empty dict when there are none)."""
    path = Path(folder) / ARRAYS_FILE
    if not path.is_file():
        return {}
    with np.load(path) as stored:
        return {key: stored[key] for key in stored.files}


def fill_report(report: CovidReport, config: Config, sets: dict, trained: dict, found: dict, arrays: dict,
                folds, cpu_seconds: dict[str, float]) -> None:
    """Metrics, comparisons with the paper, tables, figures, arrays, checkpoints and notes of one run."""
    images, lesions = sets["net"], sets["lesions"]
    labels = images.labels.numpy()
    report.metrics.update({"data": images.source, "lesion_data": lesions.source, "n_images": len(images),
                           "n_covid": int(labels.sum()), "n_groups": len(set(images.groups)),
                           "folds_run": len(folds), "folds": config.folds, "n_lesion_slices": len(lesions),
                           "n_lesion_untouched": len(found["untouched"])})
    summary = tables.method_summary(trained)
    report.metrics.update(tables.flat_metrics(summary, trained, found, cpu_seconds))
    tables.add_comparisons(report, summary, report.metrics)
    report.tables.update(tables.all_tables(config, summary, trained, found, lesions, folds, cpu_seconds))
    report.faithfulness = tables.faithfulness_summary(config, found)
    report.tables["Embedding separation (silhouette, 2-D)"] = _separation_rows(arrays)
    report.arrays.update(arrays)
    best = found["best_fold"]
    report.arrays.update({"lesion_images": lesions.images[:, 0].numpy(), "lesion_masks": lesions.masks,
                          "lesion_cams": found["lesions"]["cams"],
                          "gradcam_images": lesions.images[found["shown"], 0].numpy(),
                          "gradcam_maps": found["lesions"]["cams"][found["shown"]]})
    figures.add_all(report, config, trained, found, arrays, lesions)
    _add_checkpoints(report, trained, best)
    report.notes.extend(tables.notes(config, images, trained, found))


def _add_checkpoints(report: Report, trained: dict, best: int) -> None:
    """One explained-classifier checkpoint per fold (the best fold named); the baselines go to a table."""
    for fold, result in enumerate(trained["explained"]["final"]):
        label = " (best fold)" if fold == best else ""
        report.add_checkpoint(f"explained classifier fold {fold}{label}", result["checkpoint"],
                              ("covid-ct", "covid-lesions"),
                              "last epoch, BatchNorm re-estimated on clean training images; preprocessing, decision "
                              "threshold and LBP texture term (when on) stored")
    report.metrics["best_fold_checkpoint"] = str(Path(trained["explained"]["final"][best]["checkpoint"]).resolve())


def _separation_rows(arrays: dict) -> list[dict]:
    labels = arrays["embedding_labels"]
    rows = []
    for name in features.FEATURE_SETS:
        row = {"features": name}
        for method in EMBEDDING_METHODS:
            row[method] = features.separation(arrays[features.embedding_key(name, method, 2)], labels)
        rows.append(row)
    return rows
