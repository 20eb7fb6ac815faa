"""Hand-crafted vs learned features: uniform LBP histograms, AlexNet hidden-layer features, SVMs, embeddings.

- ``lbp_histogram``: skimage ``local_binary_pattern(P=8, R=1, method="nri_uniform")`` gives
  P * (P - 1) + 3 = 59 codes; the feature is the normalised 59-bin histogram h_k = #{code == k} / #pixels.
- ``deep_features``: the flattened output of one module of a trained model (``attribution.LayerOutput``).
- ``svm_scores``: scale (``SVM_SCALINGS``), fit an SVM on the training fold, score the test fold with
  ``metrics.confusion_metrics`` (accuracy, sensitivity, specificity, PPV, NPV). With a grid of C values
  and the training images' groups, C is chosen by an inner grouped cross-validation on the training
  fold only (``GridSearchCV`` over ``StratifiedGroupKFold``, accuracy), so no test image informs it.
- embeddings (PCA, kernel PCA, t-SNE) come from ``metrics.embedding``; ``separation`` scores them.
"""

from __future__ import annotations

import numpy as np
import torch
from skimage.feature import local_binary_pattern
from sklearn.model_selection import GridSearchCV, StratifiedGroupKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import Normalizer, StandardScaler
from sklearn.svm import SVC
from torch import nn

from medinterp_widgets import metrics
from medinterp_widgets.attribution import LayerOutput
from medinterp_widgets.models.modes import eval_mode

RATES = ("accuracy", "sensitivity", "specificity", "ppv", "npv")
# feature scaling before an SVM: "standard" z-scores each dimension (fitted on the training fold); "l2" divides
# each row by its Euclidean norm, x / ||x||_2, the usual scaling of CNN activations fed to a (linear) SVM
SVM_SCALINGS = {"standard": StandardScaler, "l2": Normalizer}
SVM_KERNELS = ("linear", "rbf", "poly", "sigmoid")  # sklearn SVC kernels
FEATURE_SETS = ("lbp", "deep")  # LBP histograms, AlexNet hidden-layer features


def embedding_key(feature_set: str, method: str, dims: int) -> str:
    """The arrays.npz key of one saved embedding: ``embedding/<feature_set>/<method>/<dims>d``."""
    return f"embedding/{feature_set}/{method}/{dims}d"


def lbp_bins(points: int = 8) -> int:
    """Number of non-rotation-invariant uniform LBP codes: P (P - 1) + 3 (59 for P = 8)."""
    return points * (points - 1) + 3


def lbp_histogram(image: np.ndarray, points: int = 8, radius: float = 1.0,
                  mask: np.ndarray | None = None) -> np.ndarray:
    """(H, W) grey image in 0..1 -> (P (P - 1) + 3,) float64 histogram of uniform LBP codes (sums to 1), over the
    pixels of the (H, W) bool ``mask`` when one is given and not empty (codes still read their full neighbourhood)."""
    grey = np.clip(np.rint(np.asarray(image, dtype=np.float64) * 255.0), 0, 255).astype(np.uint8)
    codes = local_binary_pattern(grey, points, radius, method="nri_uniform").astype(np.int64)  # (H, W)
    chosen = codes[mask] if mask is not None and mask.any() else codes.ravel()
    counts = np.bincount(chosen, minlength=lbp_bins(points))
    return counts / counts.sum()


def lbp_features(images: torch.Tensor, points: int = 8, radius: float = 1.0,
                 masks: np.ndarray | None = None) -> np.ndarray:
    """(N, 1, H, W) -> (N, 59) LBP histograms (each over its (H, W) bool mask of ``masks`` (N, H, W) if given)."""
    pictures = images.cpu()
    return np.stack([lbp_histogram(pictures[i, 0].numpy(), points, radius, None if masks is None else masks[i])
                     for i in range(len(pictures))])


def deep_features(model: nn.Module, images: torch.Tensor, layer: str, *, batch_size: int = 64) -> np.ndarray:
    """(N, C, H, W) -> (N, D): the flattened output of ``model.<layer>`` in eval mode (``LayerOutput``).

    The model's training flag is restored afterwards.
    """
    probe = LayerOutput(model, layer)
    device = next(model.parameters()).device
    with eval_mode(model):
        with torch.no_grad():
            batches = [probe(images[start:start + batch_size].to(device)).flatten(1).cpu()  # (b, D)
                       for start in range(0, len(images), batch_size)]
    return torch.cat(batches).numpy()  # (N, D)


def svm_scores(train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray, test_y: np.ndarray, *,
               kernel: str = "rbf", c: float | tuple[float, ...] = 1.0, seed: int = 0, groups=None,
               inner_folds: int = 3, scaling: str = "standard") -> dict[str, float]:
    """Fit ``scaling`` (``SVM_SCALINGS``) + SVC on the training fold; the test fold's accuracy/sens/spec/PPV/NPV
    and the C used. A tuple ``c`` with ``groups`` (one per training row): C by inner grouped CV (module docstring)."""
    if scaling not in SVM_SCALINGS:
        raise ValueError(f"svm_scores: scaling {scaling!r}, expected one of {sorted(SVM_SCALINGS)}")
    classifier = make_pipeline(SVM_SCALINGS[scaling](), SVC(kernel=kernel, C=1.0, random_state=seed))
    chosen = grouped_choice(classifier, "svc__C", c, train_x, train_y, groups, scoring="accuracy",
                            inner_folds=inner_folds, seed=seed, caller="svm_scores")
    classifier.set_params(svc__C=chosen).fit(train_x, train_y)
    rates = metrics.confusion_metrics(np.asarray(test_y), classifier.predict(test_x), positive=1)
    return {**{name: float(rates[name]) for name in RATES}, "c": float(classifier.get_params()["svc__C"])}


def grouped_choice(estimator, parameter: str, values, x: np.ndarray, y: np.ndarray, groups, *, scoring: str,
                   inner_folds: int = 3, seed: int = 0, caller: str = "grouped_choice") -> float:
    """One value of ``parameter`` for ``estimator`` on the training rows (x, y): a single value as it is; a
    tuple chosen by ``inner_folds``-fold cross-validation grouped by ``groups`` (``StratifiedGroupKFold``,
    ``scoring``), so rows of one source are never on both sides and no test row informs it."""
    grid = tuple(values) if isinstance(values, (tuple, list)) else (float(values),)
    if len(grid) == 1:
        return float(grid[0])
    if groups is None:
        raise ValueError(f"{caller}: a grid of {parameter} values needs the training rows' groups for the inner CV")
    inner = StratifiedGroupKFold(n_splits=inner_folds, shuffle=True, random_state=seed)
    search = GridSearchCV(estimator, {parameter: list(grid)}, cv=inner, scoring=scoring)
    return float(search.fit(x, y, groups=np.asarray(groups)).best_params_[parameter])


def summarise_folds(per_fold: list[dict[str, float]]) -> dict[str, tuple[float, float]]:
    """Per rate: (mean, sample standard deviation over folds; 0 for one fold), NaN folds ignored."""
    summary = {}
    for name in RATES:
        values = np.array([fold[name] for fold in per_fold], dtype=float)
        values = values[np.isfinite(values)]
        mean = float(values.mean()) if values.size else float("nan")
        sd = float(values.std(ddof=1)) if values.size > 1 else 0.0
        summary[name] = (mean, sd)
    return summary


def separation(points: np.ndarray, labels: np.ndarray) -> float:
    """Silhouette score of the two classes in an embedding (-1..1; higher = better separated)."""
    from sklearn.metrics import silhouette_score

    if len(np.unique(labels)) < 2:
        return float("nan")
    return float(silhouette_score(points, labels))
