"""The covid-interp run: pretraining, per-fold training of both models, the SVM baselines, ablations,
embeddings, interpretation and the report.

``run(config, *, callbacks=()) -> CovidReport``. Folds are grouped by source (``data.splits``:
StratifiedGroupKFold over the loader's group keys), so no paper or scan is on both sides. Per fold:
the paper's AlexNet (baseline row; pool5 features -> SVM), 59-bin LBP -> SVM, and the explained
classifier (fine-tuned from the SimCLR encoder that all folds share) plus its ablation variants.
The interpretation uses the best fold of each model (highest validation AUC).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from medinterp_widgets.data.splits import patient_folds, select_indices
from medinterp_widgets.metrics.embedding import EMBEDDING_DIMS, EMBEDDING_METHODS, embed, subsample_indices
from medinterp_widgets.pipelines.dry_run import dry_run_note

from . import baseline, classifier, features, interpretation
from .config import Config
from .data import ImageSet, load_image_set, load_lesion_set, split_lesions, thumbnails
from .interpretation import best_fold
from .report import CovidReport, fill_report
from .tables import METHOD_NAMES
from .texture import texture_features

LBP_SVM, DEEP_SVM, POOLED_SVM = METHOD_NAMES["lbp"], METHOD_NAMES["deep"], METHOD_NAMES["pooled"]


class Clock:
    """Process CPU seconds per named stage (what the presets' budgets are measured in)."""

    def __init__(self):
        self.seconds: dict[str, float] = {}
        self._start = time.process_time()

    def lap(self, name: str) -> None:
        now = time.process_time()
        self.seconds[name] = self.seconds.get(name, 0.0) + now - self._start
        self._start = now


def fold_indices(images: ImageSet, config: Config) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train, validation) row indices of the folds to run (grouped by source, stratified by class)."""
    groups, labels = images.groups, images.labels.tolist()
    folds = patient_folds(groups, k=config.folds, seed=config.seed, strata=labels)
    folds = folds[:config.folds_to_run] if config.folds_to_run else folds
    return [(np.array(select_indices(groups, train)), np.array(select_indices(groups, val))) for train, val in folds]


def load_sets(config: Config) -> dict:
    """The image set at each size a step needs (read once per size) and the lesion slices."""
    sizes = {"net": config.image_size, "alexnet": config.alexnet_size, "lbp": config.lbp_size}
    loaded: dict[int, ImageSet] = {}
    for size in sorted(set(sizes.values())):
        loaded[size] = load_image_set(config.data_root, size, max_images=config.max_images,
                                      synthetic_images=config.synthetic_images, seed=config.seed)
    lesions = {size: load_lesion_set(config.data_root, size, max_slices=config.max_lesion_slices, seed=config.seed)
               for size in {config.image_size, config.alexnet_size}}
    return {**{name: loaded[size] for name, size in sizes.items()}, "lesions": lesions[config.image_size],
            "lesions_alexnet": lesions[config.alexnet_size]}


def svm_rows(config: Config, named: dict[str, np.ndarray], labels: np.ndarray, groups: list[str], train, val) -> dict:
    """Each feature set (name -> (N, D)) -> scaling + SVC fitted on ``train``, scored on ``val``; C chosen by
    inner grouped CV on ``train`` (``features.svm_scores``). AlexNet's pool5 takes ``config.deep_svm_scaling``
    / ``deep_svm_kernel``, the others StandardScaler + ``config.svm_kernel``."""
    svm = dict(c=config.svm_c, seed=config.seed, groups=[groups[i] for i in train])
    settings = {DEEP_SVM: dict(scaling=config.deep_svm_scaling, kernel=config.deep_svm_kernel)}
    return {name: features.svm_scores(values[train], labels[train], values[val], labels[val], **svm,
                                      **settings.get(name, dict(scaling="standard", kernel=config.svm_kernel)))
            for name, values in named.items()}


def train_all(config: Config, sets: dict, folds, run_dir: Path, clock: Clock, callbacks=()) -> dict:
    """SimCLR once (when the final model or an ablation row uses it), then per fold: AlexNet + SVMs, the
    explained classifier and its ablation rows (``Config.variant``)."""
    net, lesions = sets["net"], sets["lesions"]
    dev, _ = split_lesions(lesions.case_ids, config.lesion_dev_fraction, config.seed)
    lbp = features.lbp_features(sets["lbp"].images, config.lbp_points, config.lbp_radius)  # (N, 59)
    texture = texture_features(sets["lbp"].images, config.lbp_points, config.texture_radii, config.texture_region)
    clock.lap("load + LBP")
    variants = {name: config.variant(name) for name in ("final", *config.ablations)}
    pretrained: dict[tuple, tuple[dict, list[dict]]] = {}
    for variant in variants.values():
        key = pretraining_key(variant)
        if key and key not in pretrained:
            pretrained[key] = pretrain(variant, net, lesions.images[dev])
    clock.lap("pretraining")
    labels = net.labels.numpy()
    alexnet, svms, explained = [], [], {name: [] for name in variants}
    for fold, (train, val) in enumerate(folds):
        result = baseline.train_alexnet_fold(config, sets["alexnet"], train, val, fold, run_dir, callbacks)
        alexnet.append(result)
        clock.lap("paper AlexNet")
        for name, variant in variants.items():
            init = pretrained[pretraining_key(variant)][0] if pretraining_key(variant) else None
            explained[name].append(classifier.train_classifier_fold(variant, net, train, val, fold, run_dir,
                                                                    init_state=init, name=name, callbacks=callbacks,
                                                                    lesions=lesions.subset(dev), texture=texture))
            clock.lap("explained classifier" if name == "final" else "ablations")
        pooled = classifier.pooled_features(explained["final"][-1], net.images)
        svms.append(svm_rows(config, {LBP_SVM: lbp, DEEP_SVM: result["deep"],
                                      POOLED_SVM: pooled}, labels, net.groups, train, val))
        clock.lap("SVMs")
    histories = {f"{key[0]} ({key[1]} epochs)": rows for key, (_, rows) in pretrained.items()}
    return {"lbp": lbp, "pretraining": histories, "alexnet": alexnet, "svms": svms, "explained": explained,
            "dev": dev, "unlabeled_count": len(net) + len(dev)}


def pretraining_key(variant: Config) -> tuple | None:
    """Which pretraining a variant starts from: ("simclr", epochs, ...), ("simulated lesions", epochs, ...)
    or None (from scratch); variants with equal keys share one pretraining."""
    if variant.ssl_epochs > 0 and variant.lesion_pretrain:
        raise ValueError("Config: choose SimCLR (ssl_epochs) or simulated-lesion pretraining, not both")
    shape = (variant.image_size, variant.intensity, tuple(variant.widths), variant.pooling, variant.lung_gate)
    if variant.ssl_epochs > 0:
        return ("simclr", variant.ssl_epochs, *shape)
    if variant.lesion_pretrain:
        return ("simulated lesions", variant.lesion_pretrain_epochs, variant.lesion_pretrain_images, *shape)
    return None


def pretrain(variant: Config, net: ImageSet, lesion_images: torch.Tensor) -> tuple[dict, list[dict]]:
    """SimCLR on every UCSD image + the MedSeg dev half (labels never read), or simulated-lesion pretraining."""
    if variant.ssl_epochs > 0:
        prep = classifier.preprocess_of(variant)
        return classifier.pretrain(variant, torch.cat([prep.apply(net.images), prep.apply(lesion_images)]))
    return classifier.pretrain_on_simulated_lesions(variant)


def embeddings(config: Config, images: ImageSet, lbp: np.ndarray, deep: np.ndarray) -> dict[str, np.ndarray]:
    """``embedding/<lbp|deep>/<method>/<2|3>d`` (n, d), ``embedding_features/<lbp|deep>`` (n, f), labels,
    thumbnails, of a stratified subsample of ``config.embedding_points`` images (all when None)."""
    labels = images.labels.numpy()
    chosen = subsample_indices(len(images), config.embedding_points or len(images), config.seed, labels)
    arrays = {"embedding_index": chosen, "embedding_labels": labels[chosen],
              "embedding_thumbnails": thumbnails(images.images[chosen])}
    for name, values in zip(features.FEATURE_SETS, (lbp, deep)):
        arrays[f"embedding_features/{name}"] = values[chosen].astype(np.float32)  # (n, f)
        for method in EMBEDDING_METHODS:
            for dims in EMBEDDING_DIMS:
                arrays[features.embedding_key(name, method, dims)] = embed(values[chosen], method, dims, config.seed)
    return arrays


def run(config: Config, *, callbacks=()) -> CovidReport:
    """Reproduce the paper's pipeline at the scale of ``config``; returns the report (not yet written)."""
    torch.manual_seed(config.seed)
    clock = Clock()
    sets = load_sets(config)
    folds = fold_indices(sets["net"], config)
    with tempfile.TemporaryDirectory(prefix="covid-interp-") as scratch:
        run_dir = Path(config.out_dir) if config.out_dir else Path(scratch)
        trained = train_all(config, sets, folds, run_dir, clock, callbacks)
        found = interpretation.explain(config, sets, trained, folds)
        clock.lap("interpretation")
        alexnet_best = best_fold(trained["alexnet"])
        arrays = embeddings(config, sets["lbp"], trained["lbp"], trained["alexnet"][alexnet_best]["deep"])
        clock.lap("embeddings")
        report = CovidReport(name="covid-interp", title="COVID-19 CT interpretation (Wan et al., Entropy 2021)",
                             config=config.to_dict())
        fill_report(report, config, sets, trained, found, arrays, folds, clock.seconds)
        report.notes += dry_run_note(config.limit_steps)
        if not config.out_dir:  # checkpoints in a temporary folder are gone after the run
            report.checkpoints.clear()
    return report
