"""The atlas-prior Gaussian mixture: priors, EM on a volume with known classes, missing voxels, MRF."""

import numpy as np
import pytest

from medinterp_widgets.data.mouse_brain import make_tissue, mixture_tissue_map
from medinterp_widgets.data.tissue_mixture import (
    MixtureSettings,
    denoise,
    fit_tissue_mixture,
    prior_maps,
    tissue_fractions,
)

GROUPS = {"wm": (1,), "gm": (2,), "csf": (3,)}


def _phantom(seed=0, noise=0.03):
    """A (12, 20, 20) cube of brain: GM background, a WM slab and a CSF block, intensities 0.5 / 0.65 / 0.9."""
    rng = np.random.default_rng(seed)
    labels = np.zeros((12, 20, 20), np.uint8)
    labels[1:11, 1:19, 1:19] = 2
    labels[3:9, 3:8, 3:17] = 1
    labels[3:9, 12:17, 8:13] = 3
    means = np.array([0.0, 0.5, 0.65, 0.9], np.float32)
    image = means[labels] + rng.normal(0, noise, labels.shape).astype(np.float32)
    return np.where(labels > 0, image, 0).astype(np.float32), labels > 0, labels


def test_prior_maps_sum_to_one_inside_the_mask_and_follow_the_table():
    _, mask, labels = _phantom()
    settings = MixtureSettings(prior_sigma=0.0)
    priors = prior_maps(labels, mask, GROUPS, settings)
    assert priors.shape == (3, *labels.shape) and np.allclose(priors.sum(0)[mask], 1) and not priors[:, ~mask].any()
    np.testing.assert_allclose(priors[:, 5, 5, 5], settings.priors["wm"])
    np.testing.assert_allclose(priors[:, 5, 14, 10], settings.priors["csf"])


def test_em_recovers_the_classes_of_a_clean_phantom():
    image, mask, labels = _phantom()
    fit = fit_tissue_mixture(image, mask, labels, GROUPS, MixtureSettings(edge_voxels=0, mrf_beta=0.0, image_sigma=0.0))
    assert fit.tissue.dtype == np.uint8 and not fit.tissue[~mask].any()
    assert np.mean(fit.tissue[mask] == labels[mask]) > 0.97
    wm, csf = fit.means[fit.owner == 0][0], fit.means[fit.owner == 2][0]
    assert wm < fit.means[fit.owner == 1].min() and csf > fit.means[fit.owner == 1].max()


def test_intensity_overrides_a_wrong_atlas_label():
    image, mask, labels = _phantom(noise=0.01)
    wrong = labels.copy()
    wrong[4:8, 12:16, 9:12] = 2  # CSF voxels labelled GM in the atlas: bright, so the mixture calls them CSF
    fit = fit_tissue_mixture(image, mask, wrong, GROUPS, MixtureSettings(edge_voxels=0, mrf_beta=0.0, image_sigma=0.0))
    assert np.mean(fit.tissue[4:8, 12:16, 9:12] == 3) > 0.9


def test_voxels_without_signal_take_their_prior():
    image, mask, labels = _phantom()
    image[5, 5, 5] = 0.0  # inside the WM slab: no intensity, so the WM prior decides
    image[5, 10, 10] = 0.0  # GM
    fit = fit_tissue_mixture(image, mask, labels, GROUPS, MixtureSettings(edge_voxels=0, mrf_beta=0.0, image_sigma=0.0))
    assert fit.tissue[5, 5, 5] == 1 and fit.tissue[5, 10, 10] == 2
    assert np.all(fit.tissue[mask] > 0)  # every mask voxel gets a tissue


def test_mrf_removes_isolated_voxels_and_fractions_sum_to_one():
    image, mask, labels = _phantom(noise=0.0)
    image[5, 4, 10] = 0.9  # one bright voxel inside the WM slab
    plain = fit_tissue_mixture(image, mask, labels, GROUPS,
                               MixtureSettings(edge_voxels=0, mrf_beta=0.0, image_sigma=0.0))
    smooth = fit_tissue_mixture(image, mask, labels, GROUPS,
                                MixtureSettings(edge_voxels=0, mrf_beta=1.0, image_sigma=0.0))
    assert plain.tissue[5, 4, 10] == 3 and smooth.tissue[5, 4, 10] == 1
    fractions = tissue_fractions(smooth.tissue)
    assert sum(fractions.values()) == pytest.approx(1.0)


def test_errors_and_the_labels_method():
    image, mask, labels = _phantom()
    with pytest.raises(ValueError, match="empty brain mask"):
        fit_tissue_mixture(image, np.zeros_like(mask), labels, GROUPS)
    with pytest.raises(ValueError, match="tissue method"):
        make_tissue(image, mask, labels, "kmeans")
    atlas = np.where(mask, 14, 0).astype(np.uint8)  # all neocortex: GM everywhere in the label method
    assert set(np.unique(make_tissue(image, mask, atlas, "labels"))) == {0, 2}
    assert set(np.unique(mixture_tissue_map(image, mask, atlas))) <= {0, 1, 2, 3}


def test_denoise_keeps_zeros_and_does_not_darken_the_edge():
    image = np.zeros((5, 9, 9))
    image[1:4, 2:7, 2:7] = 0.6
    out = denoise(image, 0.7)
    assert np.array_equal(out > 0, image > 0) and np.allclose(out[image > 0], 0.6)  # flat stays flat up to the edge
    noisy = image + np.where(image > 0, np.random.default_rng(0).normal(0, 0.05, image.shape), 0)
    assert denoise(noisy, 0.7)[image > 0].std() < noisy[image > 0].std() / 2
    assert denoise(noisy, 0.0) is noisy
