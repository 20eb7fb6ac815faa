"""embed: shapes, determinism, standardisation, agreement between PCA and linear kernel PCA."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from medinterp_widgets.metrics import EMBEDDING_METHODS, embed, subsample_indices


@pytest.fixture(scope="module")
def clusters() -> tuple[np.ndarray, np.ndarray]:
    """Three well-separated Gaussian clusters in 10-D, 20 samples each."""
    rng = np.random.default_rng(0)
    centres = rng.normal(0, 6, size=(3, 10))
    labels = np.repeat(np.arange(3), 20)
    return centres[labels] + rng.normal(0, 1, size=(60, 10)), labels


@pytest.mark.parametrize("method", EMBEDDING_METHODS)
@pytest.mark.parametrize("dims", [2, 3])
def test_shape_dtype_and_determinism(clusters, method, dims):
    features = clusters[0][::3]  # 20 samples keep t-SNE quick
    before = features.copy()
    first = embed(features, method, dims, seed=3)
    assert first.shape == (20, dims) and first.dtype == np.float32
    assert np.isfinite(first).all()
    np.testing.assert_array_equal(first, embed(features, method, dims, seed=3))
    np.testing.assert_array_equal(features, before)


@pytest.mark.parametrize("method", EMBEDDING_METHODS)
def test_clusters_stay_separated(clusters, method):
    """Nearest neighbour in the 2-D embedding shares the class for nearly every sample."""
    features, labels = clusters
    coords = embed(features, method, 2, seed=0)
    dist = np.linalg.norm(coords[:, None] - coords[None], axis=-1)
    np.fill_diagonal(dist, np.inf)
    assert (labels[dist.argmin(axis=1)] == labels).mean() > 0.95


def test_linear_kpca_matches_pca(clusters):
    features, _ = clusters
    np.testing.assert_allclose(embed(features, "kpca-linear"), embed(features, "pca"), atol=1e-3)


def test_standardisation_ignores_feature_scale(clusters):
    features, _ = clusters
    scaled = features * np.linspace(1, 1000, 10)
    np.testing.assert_allclose(embed(scaled, "pca"), embed(features, "pca"), atol=1e-3)


def test_accepts_tensors_and_images():
    """A (B, C, H, W) tensor embeds like its flattened numpy rows."""
    images = torch.rand(8, 1, 6, 6, generator=torch.Generator().manual_seed(0))
    from_tensor = embed(images, "pca", 3)
    assert from_tensor.shape == (8, 3)
    np.testing.assert_allclose(np.abs(from_tensor), np.abs(embed(images.reshape(8, -1).numpy(), "pca", 3)),
                               rtol=1e-5, atol=1e-6)  # PCA axes are defined up to sign


@pytest.mark.parametrize("kwargs, match", [
    ({"method": "umap"}, "method"), ({"dims": 4}, "dims"),
])
def test_bad_arguments_are_named(clusters, kwargs, match):
    with pytest.raises(ValueError, match=match):
        embed(clusters[0], **kwargs)


def test_bad_features_are_named():
    with pytest.raises(ValueError, match="at least 4 samples"):
        embed(np.ones((3, 5)), "pca", 2)
    with pytest.raises(ValueError, match="finite"):
        embed(np.full((6, 5), np.nan), "pca", 2)
    with pytest.raises(ValueError, match="n_samples"):
        embed(np.ones(6), "pca", 2)


def test_subsample_is_stratified_and_sorted():
    labels = np.array([0] * 90 + [1] * 10)
    picked = subsample_indices(100, 20, seed=1, labels=labels)
    assert np.all(np.diff(picked) > 0) and len(picked) == 20
    assert (labels[picked] == 1).sum() == 2
    np.testing.assert_array_equal(subsample_indices(5, 20), np.arange(5))
