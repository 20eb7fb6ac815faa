import numpy as np
import pytest

from medinterp_widgets.data import Volume, synthetic_brain, synthetic_brain_slices

SHAPE = (32, 48, 48)


@pytest.fixture(scope="module")
def noisy():
    return synthetic_brain(1, shape=SHAPE)


@pytest.fixture(scope="module")
def clean():
    return synthetic_brain(1, shape=SHAPE, artefacts=False)


def test_shapes_dtypes_and_labels(noisy):
    volume, labels, brain = noisy
    assert isinstance(volume, Volume) and volume.axes == ("z", "y", "x")
    assert volume.array.shape == SHAPE and volume.array.dtype == np.float32
    assert volume.spacing == (0.15, 0.15, 0.15)
    assert labels.shape == SHAPE and labels.dtype == np.uint8 and brain.dtype == bool
    assert set(np.unique(labels)) == {0, 1, 2, 3}
    np.testing.assert_array_equal(brain, labels > 0)  # every tissue label lies inside the brain mask
    assert 0.05 < brain.mean() < 0.5
    assert volume.window_presets and volume.metadata["labels"][3] == "CSF"


def test_default_shape():
    """Default 64 x 96 x 96 phantom: all three tissues inside the brain, brain a plausible share of the field."""
    volume, labels, brain = synthetic_brain(0)
    assert volume.array.shape == labels.shape == brain.shape == (64, 96, 96)
    assert set(np.unique(labels)) == {0, 1, 2, 3} and 0.05 < brain.mean() < 0.5
    np.testing.assert_array_equal(brain, labels > 0)


def test_reproducible_by_seed(noisy):
    again = synthetic_brain(1, shape=SHAPE)
    other = synthetic_brain(2, shape=SHAPE)
    np.testing.assert_array_equal(noisy[0].array, again[0].array)
    np.testing.assert_array_equal(noisy[1], again[1])
    assert not np.array_equal(noisy[1], other[1])


def test_artefacts_change_signal_not_anatomy(noisy, clean):
    np.testing.assert_array_equal(noisy[1], clean[1])
    assert not np.allclose(noisy[0].array, clean[0].array)


def test_t2_contrast_csf_gm_wm(clean):
    volume, labels, _ = clean
    image = volume.array
    wm, gm, csf = (np.median(image[labels == k]) for k in (1, 2, 3))
    assert csf > gm > wm


def test_artefacts_put_bright_signal_outside_the_brain(noisy, clean):
    for (volume, _, brain), expect_bright in ((noisy, True), (clean, False)):
        inside_high = np.percentile(volume.array[brain], 99)
        outside_bright = (volume.array[~brain] > inside_high).sum()
        assert (outside_bright > 20) == expect_bright


def test_slices_for_a_unet():
    images, labels, masks = synthetic_brain_slices(5, seed=4, size=48, slices_per_volume=3)
    assert images.shape == labels.shape == masks.shape == (5, 48, 48)
    assert images.dtype == np.float32 and images.min() >= 0 and images.max() <= 1
    np.testing.assert_array_equal(masks, labels > 0)
    assert all(m.any() for m in masks)
    again = synthetic_brain_slices(5, seed=4, size=48, slices_per_volume=3)
    np.testing.assert_array_equal(images, again[0])
