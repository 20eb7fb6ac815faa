"""Low-dimensional embeddings of feature vectors: PCA, kernel PCA (linear / RBF) and t-SNE.

Every method first standardises each feature, z = (x - mean) / sd (scikit-learn ``StandardScaler``;
constant features keep sd = 1), then projects with scikit-learn:

- ``pca``: the top ``dims`` principal components of z (SVD of the centred matrix).
- ``kpca-linear``: kernel PCA with k(a, b) = a·b; equals PCA up to the sign of each axis.
- ``kpca-rbf``: kernel PCA with k(a, b) = exp(-gamma ||a - b||²), gamma = 1 / n_features.
- ``tsne``: Barnes-Hut t-SNE (O(n log n) per step; PCA initialisation, learning rate "auto"),
  perplexity min(30, (n - 1) / 3) so that small sets work. Up to ``SERIAL_TSNE_MAX`` samples it runs
  on one OpenMP thread (``threadpoolctl``, restored afterwards): for small sets the threads' spin-up
  costs more than they save, 40x more on a busy 2-core machine (60 points: 0.8 s vs 39 s).
  Callers that show large sets subsample first (``subsample_indices``) and say so.

Signs of every axis are fixed (its largest-magnitude coordinate is positive) so repeated
calls and different machines agree.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.decomposition import PCA, KernelPCA
from sklearn.manifold import TSNE
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from medinterp_widgets.metrics._arrays import to_numpy

EMBEDDING_METHODS = ("pca", "kpca-linear", "kpca-rbf", "tsne")
EMBEDDING_DIMS = (2, 3)
MAX_PERPLEXITY = 30.0
SERIAL_TSNE_MAX = 1000


def embed(features: Any, method: str = "pca", dims: int = 2, seed: int = 0, *,
          standardise: bool = True) -> np.ndarray:
    """Embed ``features`` (n, ...) — flattened to (n, d) — into (n, dims) float32 coordinates.

    ``method`` is one of ``EMBEDDING_METHODS``; ``seed`` fixes t-SNE (and any randomised solver).
    The input is never mutated. Raises ValueError naming the argument on a bad method, dims,
    too few samples or non-finite values.
    """
    matrix = _feature_matrix(features, dims)
    if method not in EMBEDDING_METHODS:
        raise ValueError(f"method: expected one of {EMBEDDING_METHODS}, got {method!r}")
    if standardise:
        matrix = StandardScaler().fit_transform(matrix)  # (n, d), a new array
    coords = _PROJECTORS[method](matrix, dims, seed)  # (n, dims)
    return _fix_signs(np.asarray(coords, dtype=np.float64)).astype(np.float32)


def subsample_indices(n: int, limit: int, seed: int = 0, labels: Any = None) -> np.ndarray:
    """Sorted indices of at most ``limit`` of ``n`` samples, drawn without replacement.

    With ``labels`` the draw is stratified: each class keeps about its share (at least one sample).
    Returns ``arange(n)`` when ``n <= limit``.
    """
    if limit < 1:
        raise ValueError(f"limit: expected a positive sample count, got {limit}")
    if n <= limit:
        return np.arange(n)
    rng = np.random.default_rng(seed)
    if labels is None:
        return np.sort(rng.choice(n, size=limit, replace=False))
    labels = to_numpy(labels, "labels").reshape(-1)
    if labels.shape[0] != n:
        raise ValueError(f"labels: expected {n} labels, got {labels.shape[0]}")
    picked = []
    for value in np.unique(labels):
        members = np.flatnonzero(labels == value)
        share = max(1, int(round(limit * members.size / n)))
        picked.append(rng.choice(members, size=min(share, members.size), replace=False))
    return np.sort(np.concatenate(picked))


def _feature_matrix(features: Any, dims: int) -> np.ndarray:
    """A float64 (n, d) copy of the features, validated for the requested dims."""
    if dims not in EMBEDDING_DIMS:
        raise ValueError(f"dims: expected one of {EMBEDDING_DIMS}, got {dims!r}")
    array = to_numpy(features, "features")
    if array.ndim < 2:
        raise ValueError(f"features: expected shape (n_samples, n_features, ...), got {array.shape}")
    matrix = array.reshape(array.shape[0], -1).astype(np.float64)  # (n, d)
    n, d = matrix.shape
    if n < dims + 2:
        raise ValueError(f"features: expected at least {dims + 2} samples for a {dims}-D embedding, got {n}")
    if d < dims:
        raise ValueError(f"features: expected at least {dims} features for a {dims}-D embedding, got {d}")
    if not np.isfinite(matrix).all():
        raise ValueError("features: expected finite values, found NaN or inf")
    return matrix


def _pca(matrix: np.ndarray, dims: int, seed: int) -> np.ndarray:
    return PCA(n_components=dims, svd_solver="full").fit_transform(matrix)


def _kpca(kernel: str):
    def project(matrix: np.ndarray, dims: int, seed: int) -> np.ndarray:
        gamma = 1.0 / matrix.shape[1] if kernel == "rbf" else None
        model = KernelPCA(n_components=dims, kernel=kernel, gamma=gamma, eigen_solver="dense",
                          random_state=seed)
        return model.fit_transform(matrix)
    return project


def _tsne(matrix: np.ndarray, dims: int, seed: int) -> np.ndarray:
    perplexity = min(MAX_PERPLEXITY, (matrix.shape[0] - 1) / 3.0)
    model = TSNE(n_components=dims, perplexity=perplexity, init="pca", learning_rate="auto", random_state=seed)
    threads = 1 if matrix.shape[0] <= SERIAL_TSNE_MAX else None  # None: leave the thread count alone
    with threadpool_limits(limits=threads, user_api="openmp"):
        return model.fit_transform(matrix)


_PROJECTORS = {"pca": _pca, "kpca-linear": _kpca("linear"), "kpca-rbf": _kpca("rbf"), "tsne": _tsne}


def _fix_signs(coords: np.ndarray) -> np.ndarray:
    """Flip each axis so that its largest-magnitude coordinate is positive (a deterministic sign)."""
    pivot = coords[np.argmax(np.abs(coords), axis=0), np.arange(coords.shape[1])]  # (dims,)
    return coords * np.where(pivot < 0, -1.0, 1.0)
