import numpy as np
import pytest

from medinterp_widgets.data import Volume, synthetic_cine_lv
from medinterp_widgets.data.synthetic.cine import contraction_curve

SMALL = dict(n_phases=10, n_slices=4, size=64)


@pytest.fixture(scope="module")
def cine():
    return synthetic_cine_lv(3)


def test_shapes_dtypes_and_geometry(cine):
    volume, masks = cine
    assert isinstance(volume, Volume)
    assert volume.axes == ("t", "z", "y", "x") and volume.array.shape == (20, 8, 128, 128)
    assert volume.array.dtype == np.int16 and volume.array.min() >= 0
    assert volume.spacing == (8.0, 1.4, 1.4)
    assert masks.shape == volume.array.shape and masks.dtype == np.uint8
    assert set(np.unique(masks)) == {0, 1, 2, 3}
    assert {w["name"] for w in volume.window_presets} >= {"cine"}
    assert all(w["width"] > 0 for w in volume.window_presets)


def test_same_seed_same_arrays_other_seed_differs():
    a, ma = synthetic_cine_lv(7, **SMALL)
    b, mb = synthetic_cine_lv(7, **SMALL)
    c, mc = synthetic_cine_lv(8, **SMALL)
    np.testing.assert_array_equal(a.array, b.array)
    np.testing.assert_array_equal(ma, mb)
    assert not np.array_equal(a.array, c.array) and not np.array_equal(ma, mc)


def test_cavity_beats_and_myocardium_is_conserved(cine):
    volume, masks = cine
    cavity = (masks == 1).sum(axis=(1, 2, 3))
    myo = (masks == 2).sum(axis=(1, 2, 3))
    meta = volume.metadata
    assert meta["ed_phase"] == 0 and 4 <= meta["es_phase"] <= 10
    assert 0.35 < meta["ejection_fraction"] < 0.75
    np.testing.assert_allclose(meta["lv_volume_ml"], cavity * np.prod(volume.spacing) / 1000)
    assert myo.max() / myo.min() < 1.15  # wall thickens as the cavity shrinks


def test_base_to_apex_narrows(cine):
    _, masks = cine
    per_slice = (masks[0] == 1).sum(axis=(1, 2))
    assert per_slice[0] > per_slice[-2] and np.all(np.diff(per_slice) <= 0)


def test_intensities_follow_masks(cine):
    volume, masks = cine
    image = volume.array.astype(float)
    blood, myo = image[masks == 1].mean(), image[masks == 2].mean()
    assert 2.0 < blood / myo < 3.0  # Sunnybrook cine: ~2.3 (10-90 %: 2.0-2.7)


def test_contraction_curve_bounds():
    curve = contraction_curve(20)
    assert curve[0] == 0 and curve.max() == pytest.approx(1.0) and np.all((curve >= 0) & (curve <= 1))


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="n_phases"):
        synthetic_cine_lv(0, n_phases=1)
