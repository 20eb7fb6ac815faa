import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.distance import directed_hausdorff
from skimage.draw import ellipse

from medinterp_widgets.data import DataFormatError, contour_to_mask, mask_to_contour, read_contour_file

SHAPE = (48, 48)
QUICK = settings(max_examples=60, deadline=None)


def _iou(a, b):
    return (a & b).sum() / max((a | b).sum(), 1)


def _hausdorff(a, b):
    return max(directed_hausdorff(a, b)[0], directed_hausdorff(b, a)[0])


def _densify(closed_xy, step=0.1):
    """Points every ``step`` px along a closed polygon (so Hausdorff measures the curve, not the vertices)."""
    points = [closed_xy[i] + f * (closed_xy[i + 1] - closed_xy[i])
              for i in range(len(closed_xy) - 1)
              for f in np.linspace(0, 1, max(2, int(np.linalg.norm(closed_xy[i + 1] - closed_xy[i]) / step)),
                                   endpoint=False)]
    return np.array(points)


def test_pixel_centre_convention():
    square = np.array([[1.0, 1.0], [4.0, 1.0], [4.0, 2.0], [1.0, 2.0]])  # x 1..4, y 1..2, edges through centres
    mask = contour_to_mask(square, (4, 6))
    assert mask.sum() == 8 and mask[1:3, 1:5].all()  # centres on the boundary count as inside


def test_mask_to_contour_runs_between_pixel_centres():
    mask = np.zeros((6, 6), bool)
    mask[1:4, 2:5] = True
    contour = mask_to_contour(mask)
    np.testing.assert_array_equal(contour[0], contour[-1])  # closed
    assert contour[:, 0].min() == 1.5 and contour[:, 0].max() == 4.5  # x: columns 2..4 +- 0.5
    assert contour[:, 1].min() == 0.5 and contour[:, 1].max() == 3.5  # y: rows 1..3 +- 0.5


def test_diagonal_neighbours_are_one_component():
    mask = np.eye(6, dtype=bool)
    contours = mask_to_contour(mask, all_components=True)
    assert len(contours) == 1
    np.testing.assert_array_equal(contour_to_mask(contours[0], mask.shape), mask)


def test_components_holes_edges_and_empty():
    mask = np.zeros((20, 20), bool)
    mask[0:8, 0:8] = True  # touches the image edge
    mask[3:5, 3:5] = False  # a hole: not an outer boundary
    mask[12:15, 12:15] = True
    contours = mask_to_contour(mask, all_components=True)
    assert len(contours) == 2
    expected = np.pad(np.ones((8, 8), bool), ((0, 12), (0, 12)))
    np.testing.assert_array_equal(contour_to_mask(contours[0], mask.shape), expected)
    assert mask_to_contour(np.zeros((5, 5), bool)).shape == (0, 2)
    assert mask_to_contour(np.zeros((5, 5), bool), all_components=True) == []


@QUICK
@given(
    center=st.tuples(st.floats(12, 36), st.floats(12, 36)),
    radii=st.tuples(st.floats(1.5, 11), st.floats(1.5, 11)),
    angle=st.floats(0, np.pi),
)
def test_mask_contour_mask_is_exact_for_convex_blobs(center, radii, angle):
    mask = np.zeros(SHAPE, bool)
    mask[ellipse(center[0], center[1], radii[0], radii[1], shape=SHAPE, rotation=angle)] = True
    if not mask.any():
        return
    assert len(mask_to_contour(mask, all_components=True)) == 1  # thin diagonal runs stay one component
    again = contour_to_mask(mask_to_contour(mask), SHAPE)
    assert _iou(mask, again) == 1.0


@QUICK
@given(
    n=st.integers(5, 20),
    radius=st.floats(4, 15),
    jitter=st.lists(st.floats(-0.15, 0.15), min_size=40, max_size=40),
    start=st.floats(0, 2 * np.pi),
)
def test_contour_mask_contour_stays_within_a_pixel(n, radius, jitter, start):
    angles = start + np.linspace(0, 2 * np.pi, n, endpoint=False) + np.array(jitter[:n]) * (2 * np.pi / n)
    radii = radius * (1 + np.array(jitter[-n:]))
    polygon = np.column_stack([24 + radii * np.cos(angles), 24 + radii * np.sin(angles)])
    contour = mask_to_contour(contour_to_mask(polygon, SHAPE))
    closed = np.vstack([polygon, polygon[:1]])
    assert _hausdorff(_densify(closed), _densify(contour)) <= 1.0


@pytest.mark.parametrize("bad", [np.zeros((2, 2)), np.zeros((4, 3)), np.array([[0, 0], [1, np.nan], [2, 2]])])
def test_bad_polygons_are_refused(bad):
    with pytest.raises(ValueError):
        contour_to_mask(bad, SHAPE)


def test_contour_file_reader(tmp_path):
    good = tmp_path / "IM-0001-0048-icontour-manual.txt"
    good.write_text("120.50 137.50\n121.00 136.50\n\n125.0 140.0\n")
    np.testing.assert_allclose(read_contour_file(good), [[120.5, 137.5], [121.0, 136.5], [125.0, 140.0]])
    cases = {"text.txt": ("1 2\n3 four\n5 6\n", "line 2"), "short.txt": ("1 2\n3 4\n", "at least 3"),
             "three.txt": ("1 2 3\n", "line 1")}
    for name, (text, expected) in cases.items():
        (tmp_path / name).write_text(text)
        with pytest.raises(DataFormatError, match=expected) as caught:
            read_contour_file(tmp_path / name)
        assert name in str(caught.value)
    with pytest.raises(DataFormatError, match="cannot read"):
        read_contour_file(tmp_path / "absent.txt")
