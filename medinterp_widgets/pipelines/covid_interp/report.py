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

from . import features, figures
from .config import Config

ARRAYS_FILE = "arrays.npz"
# Table 1 of the paper (percent): the AlexNet model, and LBP + SVM as stated through the abstract's
# differences (94.75 - 8.30, 93.22 - 4.32, 96.69 - 13.33, 97.27 - 10.25, 91.88 - 6.19).
PAPER_RATES = {
    "AlexNet": dict(accuracy=94.75, sensitivity=93.22, specificity=96.69, ppv=97.27, npv=91.88),
    "LBP + SVM": dict(accuracy=86.45, sensitivity=88.90, specificity=83.36, ppv=87.02, npv=85.69),
}


@dataclass
class CovidReport(Report):
    arrays: dict[str, np.ndarray] = field(default_factory=dict)

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


def method_summary(results: list[dict]) -> dict[str, dict[str, tuple[float, float]]]:
    """method -> rate -> (mean, sd) over the folds that ran."""
    methods = results[0]["scores"].keys()
    return {m: features.summarise_folds([r["scores"][m] for r in results]) for m in methods}


def table1_rows(summary: dict) -> list[dict]:
    """The paper's table-1 layout: one row per method, 'mean ± sd' percent per rate."""
    return [{"method": method, **{rate: f"{100 * mean:.2f} ± {100 * sd:.2f}" for rate, (mean, sd) in rates.items()}}
            for method, rates in summary.items()]


def curve_rows(history: list[dict]) -> list[dict]:
    """Per epoch: train and test loss and rates (the paper's training-trend curves)."""
    rows = []
    for epoch, splits in enumerate(history, start=1):
        row = {"epoch": epoch}
        for split, name in (("train", "train"), ("val", "test")):
            row.update({f"{name}_{key}": splits[split][key] for key in ("loss", *features.RATES)})
        rows.append(row)
    return rows


def _add_comparisons(report: Report, summary: dict) -> None:
    for method, paper in PAPER_RATES.items():
        for rate, value in paper.items():
            note = "paper value derived from the abstract's differences" if method == "LBP + SVM" else ""
            report.compare(f"{method} {rate}", 100 * summary[method][rate][0], value, "%", note)


def fill_report(report: Report, config: Config, images, lesions, results: list[dict], arrays: dict,
                found: dict) -> None:
    summary = method_summary(results)
    labels = images.labels.numpy()
    report.metrics.update({"data": images.source, "lesion_data": lesions.source, "n_images": len(images),
                           "n_covid": int(labels.sum()), "n_groups": len(set(images.groups)),
                           "folds_run": len(results), "folds": config.folds})
    for method, rates in summary.items():
        for rate, (mean, sd) in rates.items():
            report.metrics[f"{method} {rate} mean"] = mean
            report.metrics[f"{method} {rate} sd"] = sd
    _add_comparisons(report, summary)
    degrees = found["degrees"]
    report.metrics.update({"consistent_degree_mean": float(np.nanmean(degrees)),
                           "consistent_degree_median": float(np.nanmedian(degrees)),
                           "support_area_mean (chance level)": float(np.mean(found["support_areas"])),
                           "lesion_p_covid_mean": float(np.mean(found["lesion_p"]))})
    report.compare("consistent degree (mean over lesion slices)", float(np.nanmean(degrees)), None, "",
                   f"Grad-CAM >= {config.cam_threshold} vs lesion mask; chance level = mean support area "
                   f"{np.mean(found['support_areas']):.3f}")
    report.tables["Table 1: test rates, mean ± sd over folds (%)"] = table1_rows(summary)
    report.tables["Per-fold test rates"] = [{"fold": f, "method": m, **r["scores"][m]}
                                            for f, r in enumerate(results) for m in r["scores"]]
    for fold, result in enumerate(results):
        report.tables[f"Training curves, fold {fold}"] = curve_rows(result["history"])
    report.tables["Consistent degree per lesion slice"] = [
        {"case": case, "consistent_degree": d, "support_area": a, "p_covid": p}
        for case, d, a, p in zip(lesions.case_ids, degrees, found["support_areas"], found["lesion_p"])]
    report.tables["Embedding separation (silhouette, 2-D)"] = _separation_rows(arrays)
    report.arrays.update(arrays)
    report.arrays.update({"gradcam_images": images.images[found["gradcam_index"], 0].numpy(),
                          "gradcam_maps": found["gradcam"], "lesion_images": lesions.images[:, 0].numpy(),
                          "lesion_masks": lesions.masks, "lesion_cams": found["lesion_cams"]})
    figures.add_all(report, results, arrays, found, lesions, config)
    report.notes.extend(_notes(config, images))
    report.notes.append(_degree_note(found))


def _separation_rows(arrays: dict) -> list[dict]:
    labels = arrays["embedding_labels"]
    rows = []
    for name in features.FEATURE_SETS:
        row = {"features": name}
        for method in EMBEDDING_METHODS:
            row[method] = features.separation(arrays[features.embedding_key(name, method, 2)], labels)
        rows.append(row)
    return rows


def _degree_note(found: dict) -> str:
    """Say whether Grad-CAM's support covers the lesions more than a region of the same size would by chance."""
    degree, chance = float(np.nanmean(found["degrees"])), float(np.mean(found["support_areas"]))
    verdict = "above" if degree > chance else "not above"
    return (f"Measured: mean consistent degree {degree:.3f}, {verdict} the chance level {chance:.3f}; the model "
            f"gives the lesion slices a mean P(COVID) of {float(np.mean(found['lesion_p'])):.2f}. A low value "
            "here means the from-scratch model's COVID evidence is not on the lesions of these out-of-domain "
            "slices (in the quick preset Grad-CAM often sits on the image border: UCSD images are crops "
            "of paper figures, whose framing differs between the classes).")


def _notes(config: Config, images) -> list[str]:
    start = (f"fine-tuned from {config.pretrained_weights}" if config.pretrained_weights
             else "trained from scratch")
    notes = [
        f"Data: {images.source}; {len(images)} images, {config.folds}-fold group cross-validation by source "
        f"paper / scan (no patient leaks across folds); {config.folds_to_run or config.folds} fold(s) trained.",
        f"The paper fine-tunes AlexNet at 224 x 224; here it is {start} "
        f"({config.image_size} x {config.image_size}, width {config.width}, hidden {config.hidden}, "
        f"{config.epochs} epochs, no augmentation), so our rates are expected below the paper's, most of "
        "all in the quick preset.",
        "AlexNet rates are those of the last epoch's model on the test fold; the deep-feature SVM uses "
        f"the trained model's '{config.feature_layer}' output; both SVMs are StandardScaler + "
        f"SVC({config.svm_kernel}, C={config.svm_c}).",
        "The paper's LBP + SVM rates are derived from the abstract (AlexNet rates minus the stated gains).",
        "Consistent degree is measured on the MedSeg lesion slices (full CT slices, unlike the cropped UCSD "
        "figures the model is trained on), with the first fold's model; the paper gives no number we "
        "could confirm, so only ours is reported, beside the chance level (support area fraction).",
        "Embeddings use the first fold's model on all images (training and test).",
        "After a short from-scratch run (quick preset) the first-layer filters still look like their random "
        "initialisation; the paper's pretrained AlexNet shows edge/colour-blob filters.",
    ]
    if images.source.startswith("synthetic"):
        notes.append("No real COVID-CT data was found: synthetic_covid_ct stands in, so numbers are not "
                     "comparable with the paper.")
    return notes
