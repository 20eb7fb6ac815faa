import numpy as np
import pytest

from medinterp_widgets.data import Volume


def test_axes_default_and_slices():
    vol = Volume(np.arange(2 * 3 * 4).reshape(2, 3, 4), spacing=(5.0, 1.5, 1.0))
    assert vol.axes == ("z", "y", "x") and vol.is_3d and not vol.has_time
    image, spacing = vol.slice2d("y", 1)
    assert image.shape == (2, 4) and spacing == (5.0, 1.0)


def test_cine_volume_frames():
    vol = Volume(np.zeros((20, 8, 16, 16)), spacing=(8.0, 1.367, 1.367), axes=("t", "z", "y", "x"))
    assert vol.n_frames == 20 and vol.spatial_shape == (8, 16, 16)
    assert vol.frame(3).axes == ("z", "y", "x")


def test_index_to_mm_uses_direction_and_spacing():
    direction = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    vol = Volume(np.zeros((3, 4, 5)), spacing=(2.0, 0.5, 0.25), origin=(10, 20, 30), direction=direction)
    # index (z=1, y=2, x=4) -> steps x=1.0 mm, y=1.0 mm, z=2.0 mm
    np.testing.assert_allclose(vol.index_to_mm((1, 2, 4)), [10 + 1.0, 20 + 1.0, 30 + 2.0])


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(array=np.zeros((4, 4)), spacing=(1.0,)),
        dict(array=np.zeros((4, 4)), spacing=(1.0, 0.0)),
        dict(array=np.zeros(4), spacing=(1.0,)),
        dict(array=np.zeros((2, 4, 4)), spacing=(1.0, 1.0), axes=("y", "t", "x")),
    ],
)
def test_bad_geometry_is_refused(kwargs):
    with pytest.raises(ValueError):
        Volume(**kwargs)
