import numpy as np
import pytest

from medinterp_widgets.data.synthetic.shapes import (
    bias_field,
    ellipse,
    fuzzy_blob,
    normalized_radius,
    rician_noise,
    smooth_noise,
    window_to_unit,
)


def test_ellipse_area_and_rotation():
    disk = ellipse((101, 101), (50, 50), (20, 20))
    assert disk.sum() == pytest.approx(np.pi * 400, rel=0.02)
    upright = ellipse((101, 101), (50, 50), (30, 10))  # long along y
    turned = ellipse((101, 101), (50, 50), (30, 10), angle=np.pi / 2)
    assert np.ptp(np.nonzero(upright)[0]) > 50 and np.ptp(np.nonzero(turned)[1]) > 50
    assert upright.sum() == pytest.approx(turned.sum(), rel=0.02)


def test_normalized_radius_3d_and_bad_lengths():
    rho = normalized_radius((5, 7, 9), (2, 3, 4), (2, 3, 4))
    assert rho[2, 3, 4] == 0 and rho[0, 3, 4] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="equal lengths"):
        normalized_radius((5, 5), (1, 1, 1), (1, 1))


def test_noise_fields_are_seeded_and_shaped():
    a = smooth_noise(np.random.default_rng(0), (32, 32), sigma=2)
    b = smooth_noise(np.random.default_rng(0), (32, 32), sigma=2)
    np.testing.assert_array_equal(a, b)
    assert a.std() == pytest.approx(1.0, rel=1e-3) and abs(a.mean()) < 1e-4
    field = bias_field(np.random.default_rng(1), (16, 20, 24), strength=0.3)
    assert field.shape == (16, 20, 24) and field.min() > np.exp(-0.31) and field.max() < np.exp(0.31)


def test_rician_noise_is_positive_and_does_not_touch_input():
    image = np.zeros((64, 64), np.float32)
    noisy = rician_noise(np.random.default_rng(2), image, 1.0)
    assert noisy.min() >= 0 and noisy.mean() == pytest.approx(np.sqrt(np.pi / 2), rel=0.05)  # Rayleigh mean
    assert not image.any()


def test_fuzzy_blob_and_window():
    blob = fuzzy_blob((48, 48), (24, 24), (8, 6), np.random.default_rng(3))
    assert 0 <= blob.min() and blob.max() <= 1 and blob[24, 24] > 0.9 and blob[0, 0] < 0.01
    np.testing.assert_allclose(window_to_unit(np.array([-1350, -600, 150, 500]), -600, 1500), [0, 0.5, 1, 1])
