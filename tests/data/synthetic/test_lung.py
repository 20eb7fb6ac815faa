import numpy as np
import pytest

from medinterp_widgets.data import Volume, synthetic_covid_ct, synthetic_lung_ct


@pytest.fixture(scope="module")
def slice_with_lesions():
    return synthetic_lung_ct(2, size=128, n_lesions=(3, 3), consolidation_prob=0.5)


def test_types_shapes_and_windows(slice_with_lesions):
    volume, lungs, lesions = slice_with_lesions
    assert isinstance(volume, Volume) and volume.axes == ("y", "x") and volume.array.shape == (128, 128)
    assert volume.array.dtype == np.int16 and lungs.dtype == bool and lesions.dtype == np.uint8
    windows = {w["name"]: (w["center"], w["width"]) for w in volume.window_presets}
    assert windows["lung"] == (-600, 1500) and windows["mediastinum"] == (40, 400)
    assert volume.spacing[0] == volume.spacing[1] > 0


def test_hounsfield_values_of_tissues(slice_with_lesions):
    volume, lungs, lesions = slice_with_lesions
    hu = volume.array.astype(float)
    assert -1050 < np.median(hu[:3, :]) < -950  # air above the body
    assert -900 < np.median(hu[lungs & (lesions == 0)]) < -780
    assert hu.max() > 500  # bone
    body_soft = (hu > -50) & (hu < 120)
    assert body_soft.mean() > 0.1


def test_lesions_inside_lungs_and_brighter(slice_with_lesions):
    volume, lungs, lesions = slice_with_lesions
    hu = volume.array.astype(float)
    assert lesions.any() and not (lesions > 0)[~lungs].any()
    assert set(np.unique(lesions)) <= {0, 1, 2}
    if (lesions == 1).any():
        assert -700 < np.median(hu[lesions == 1]) < -200
    if (lesions == 2).any():
        assert np.median(hu[lesions == 2]) > -350
    assert np.median(hu[lesions > 0]) > np.median(hu[lungs & (lesions == 0)]) + 200


def test_lesion_free_and_reproducible():
    a = synthetic_lung_ct(4, size=96, n_lesions=(0, 0))
    b = synthetic_lung_ct(4, size=96, n_lesions=(0, 0))
    c = synthetic_lung_ct(5, size=96, n_lesions=(0, 0))
    assert not a[2].any()
    np.testing.assert_array_equal(a[0].array, b[0].array)
    assert not np.array_equal(a[0].array, c[0].array)
    with pytest.raises(ValueError, match="n_lesions"):
        synthetic_lung_ct(0, n_lesions=(3, 1))


def test_covid_toy_set():
    images, labels, masks = synthetic_covid_ct(12, seed=3, size=64)
    assert images.shape == masks.shape == (12, 64, 64) and labels.shape == (12,)
    assert images.dtype == np.float32 and 0 <= images.min() and images.max() <= 1
    assert labels.dtype == np.int64 and labels.sum() == 6
    has_lesion = masks.reshape(12, -1).any(axis=1)
    np.testing.assert_array_equal(has_lesion, labels == 1)
    again = synthetic_covid_ct(12, seed=3, size=64)
    np.testing.assert_array_equal(images, again[0])
