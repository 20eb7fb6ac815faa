"""The covid-interp run: k-fold AlexNet training, LBP/deep-feature SVM baselines, embeddings, interpretation.

``run(config, *, callbacks=()) -> CovidReport``. Every fold trains a fresh AlexNetClassifier through
``training.Trainer`` (the callbacks see its events), then both SVM baselines are fitted on that fold's
training images and scored on its test images. The embeddings and the interpretation use the model
of the first fold.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Subset

from medinterp_widgets.data import fold_subsets
from medinterp_widgets.devices import resolve_device
from medinterp_widgets.metrics.embedding import EMBEDDING_DIMS, EMBEDDING_METHODS, embed, subsample_indices
from medinterp_widgets.models import AlexNetClassifier
from medinterp_widgets.pipelines.dry_run import dry_run_note
from medinterp_widgets.training import TrainConfig, Trainer
from medinterp_widgets.training.runs import BEST_CHECKPOINT
from medinterp_widgets.training.seeding import seed_everything

from . import features, interpret
from .config import Config
from .data import ImageSet, load_image_set, load_lesion_set, thumbnails
from .report import CovidReport, fill_report

METHODS = ("LBP + SVM", "AlexNet", "AlexNet features + SVM")


def build_model(config: Config) -> AlexNetClassifier:
    """A fresh 1-channel, 2-class AlexNet, or one started from ``config.pretrained_weights`` (never downloads)."""
    if config.pretrained_weights:
        return AlexNetClassifier.from_local_weights(config.pretrained_weights, in_channels=1, n_classes=2,
                                                    dropout=config.dropout)
    return AlexNetClassifier(in_channels=1, n_classes=2, width=config.width, hidden=config.hidden,
                             dropout=config.dropout)


def train_config(config: Config, run_dir: Path, fold: int) -> TrainConfig:
    return TrainConfig(epochs=config.epochs, batch_size=config.batch_size, lr=config.lr,
                       weight_decay=config.weight_decay, seed=config.seed + fold,
                       device=str(resolve_device(config.device)), task="classification", num_classes=2,
                       run_dir=str(run_dir / f"fold{fold}"), progress=False, max_steps=config.limit_steps,
                       extra={"paper": "covid-interp", "fold": fold,
                              "input_size": [config.image_size, config.image_size], "input_normalize": "zscore"})


def _indices(subset: Subset) -> np.ndarray:
    return np.asarray(subset.indices, dtype=np.int64)


def run_fold(config: Config, images: ImageSet, lbp: np.ndarray, train: Subset, test: Subset, fold: int,
             run_dir: Path, callbacks=()) -> dict:
    """Train one fold's AlexNet and score the three methods on its test images."""
    seed_everything(config.seed + fold)
    model = build_model(config)
    trainer = Trainer(model, train, test, train_config(config, run_dir, fold), callbacks=callbacks)
    history = trainer.fit()
    train_ids, test_ids = _indices(train), _indices(test)
    labels = images.labels.numpy()
    deep = features.deep_features(model, images.inputs, config.feature_layer)  # (N, D)
    svm = dict(kernel=config.svm_kernel, c=config.svm_c, seed=config.seed)
    scores = {
        "LBP + SVM": features.svm_scores(lbp[train_ids], labels[train_ids], lbp[test_ids], labels[test_ids], **svm),
        "AlexNet": {name: history[-1]["val"][name] for name in features.RATES},
        "AlexNet features + SVM": features.svm_scores(deep[train_ids], labels[train_ids], deep[test_ids],
                                                      labels[test_ids], **svm),
    }
    return {"model": model, "history": history, "scores": scores, "deep": deep, "test_ids": test_ids}


def embeddings(config: Config, images: ImageSet, lbp: np.ndarray, deep: np.ndarray) -> dict[str, np.ndarray]:
    """Arrays for an EmbeddingViewer: ``embedding/<lbp|deep>/<method>/<2|3>d`` (n, d), the embedded
    ``embedding_features/<lbp|deep>`` (n, f), labels, thumbnails.

    A stratified subsample of ``config.embedding_points`` images (all when None) is embedded.
    """
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


def interpretation(config: Config, model, images: ImageSet, test_ids: np.ndarray, lesions) -> dict:
    """Filters, hidden-neuron guided backprop, Grad-CAM on test COVID images, consistent degrees on lesions."""
    device = next(model.parameters()).device
    covid_test = [i for i in test_ids.tolist() if int(images.labels[i]) == interpret.COVID_CLASS]
    shown = np.array(covid_test[:config.gradcam_images], dtype=np.int64)
    cams, probabilities = interpret.gradcam_maps(model, images.inputs[shown])
    probe = images.inputs[shown[:1]] if len(shown) else images.inputs[:1]  # (1, 1, H, W)
    lesion_cams, lesion_p = interpret.gradcam_maps(model, lesions.inputs)
    degrees, areas = interpret.consistent_degrees(lesion_cams, lesions.masks, config.cam_threshold)
    return {
        "filters": interpret.first_layer_filters(model),
        "neurons": interpret.hidden_neuron_maps(model, probe.to(device), config.neurons_per_layer, seed=config.seed),
        "probe": probe[0, 0].cpu().numpy(),
        "gradcam_index": shown, "gradcam": cams, "gradcam_p": probabilities,
        "lesion_cams": lesion_cams, "lesion_p": lesion_p, "degrees": degrees, "support_areas": areas,
    }


def run(config: Config, *, callbacks=()) -> CovidReport:
    """Reproduce the paper's pipeline at the scale of ``config``; returns the report (not yet written)."""
    torch.manual_seed(config.seed)
    images = load_image_set(config.data_root, config.image_size, max_images=config.max_images,
                            synthetic_images=config.synthetic_images, seed=config.seed)
    lesions = load_lesion_set(config.data_root, config.image_size, max_slices=config.max_lesion_slices,
                              seed=config.seed)
    lbp = features.lbp_features(images.images, config.lbp_points, config.lbp_radius)  # (N, 59)
    folds = fold_subsets(images, k=config.folds, seed=config.seed, strata=images.labels.tolist())
    folds = folds[:config.folds_to_run] if config.folds_to_run else folds
    with tempfile.TemporaryDirectory(prefix="covid-interp-") as scratch:
        run_dir = Path(config.out_dir) if config.out_dir else Path(scratch)
        results = [run_fold(config, images, lbp, train, test, fold, run_dir, callbacks)
                   for fold, (train, test) in enumerate(folds)]
    first = results[0]
    arrays = embeddings(config, images, lbp, first["deep"])
    found = interpretation(config, first["model"], images, first["test_ids"], lesions)
    report = CovidReport(name="covid-interp", title="COVID-19 CT interpretation (Wan et al., Entropy 2021)",
                         config=config.to_dict())
    fill_report(report, config, images, lesions, results, arrays, found)
    report.notes += dry_run_note(config.limit_steps)
    for fold in range(len(results) if config.out_dir else 0):
        path = Path(config.out_dir) / f"fold{fold}" / BEST_CHECKPOINT
        if path.is_file():
            report.add_checkpoint(f"AlexNet fold {fold}", path, ("covid-ct",),
                                  "lowest validation loss of the fold; inputs z-scored per image")
    return report
