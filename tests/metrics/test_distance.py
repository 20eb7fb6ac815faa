"""APD and Hausdorff in mm: concentric circles, shifted squares, anisotropic pixels, empty masks."""

import math

import numpy as np
import pytest
import torch

from medinterp_widgets.metrics.distance import (
    average_perpendicular_distance,
    hausdorff_distance,
    mask_contours,
    point_to_contour_distances,
)

ROWS, COLS = np.mgrid[:128, :128]


def disk(radius_mm, spacing=(1.0, 1.0), centre=(64, 64)):
    """A disk of the given radius in mm, rasterised on pixels of (dy, dx) mm."""
    dy, dx = spacing
    return ((ROWS - centre[0]) * dy) ** 2 + ((COLS - centre[1]) * dx) ** 2 <= radius_mm ** 2


@pytest.mark.parametrize("r1, r2", [(20, 25), (30, 12)])
@pytest.mark.parametrize("pixel", [1.0, 1.367])
def test_concentric_circles_give_radius_difference(r1, r2, pixel):
    apd = average_perpendicular_distance(disk(r1 * pixel, (pixel, pixel)), disk(r2 * pixel, (pixel, pixel)),
                                         (pixel, pixel))
    assert apd == pytest.approx(abs(r1 - r2) * pixel, abs=0.5 * pixel)  # within half a pixel
    hd = hausdorff_distance(disk(r1), disk(r2), 1.0)
    assert hd == pytest.approx(abs(r1 - r2), abs=0.5)


def test_anisotropic_pixels_use_spacing_per_axis():
    spacing = (1.0, 0.5)  # (dy, dx): circles in mm are ellipses in pixels
    pred, truth = disk(20, spacing), disk(28, spacing)
    assert average_perpendicular_distance(pred, truth, spacing) == pytest.approx(8, abs=0.5)
    swapped = average_perpendicular_distance(pred, truth, spacing[::-1])
    assert abs(swapped - 8) > 1  # (dx, dy) by mistake is visibly wrong


def test_shifted_square():
    truth = np.zeros((64, 64), bool)
    truth[10:50, 10:50] = True
    pred = np.roll(truth, 2, axis=1)  # 2 columns = 1 mm at dx = 0.5
    spacing = (2.0, 0.5)
    # left/right edges sit 1 mm from the expert's, top/bottom edges lie on it: mean ~ 0.5 mm
    assert average_perpendicular_distance(pred, truth, spacing) == pytest.approx(0.5, abs=0.05)
    assert hausdorff_distance(pred, truth, spacing) == pytest.approx(1.0)
    assert average_perpendicular_distance(truth, truth, spacing) == 0.0


def test_symmetric_and_directed_differ_for_nested_shapes():
    outer, inner = disk(20), disk(10)
    inner[60:68, 20:30] = True  # an extra blob: far from the expert contour only in one direction
    directed = average_perpendicular_distance(inner, outer, 1.0)
    symmetric = average_perpendicular_distance(inner, outer, 1.0, symmetric=True)
    assert directed != pytest.approx(symmetric)
    assert hausdorff_distance(inner, outer, 1.0, percentile=95) <= hausdorff_distance(inner, outer, 1.0)


def test_empty_masks_give_nan_and_bad_input_is_named():
    empty = np.zeros((16, 16), bool)
    some = empty.copy()
    some[4:8, 4:8] = True
    assert math.isnan(average_perpendicular_distance(empty, some, 1.0))
    assert math.isnan(average_perpendicular_distance(some, empty, 1.0))
    assert math.isnan(hausdorff_distance(empty, empty, 1.0))
    with pytest.raises(ValueError, match="spacing"):
        average_perpendicular_distance(some, some, (1.0, -1.0))
    with pytest.raises(ValueError, match="2-D"):
        mask_contours(np.ones((2, 3, 3), bool))


def test_border_touching_mask_and_tensor_input():
    mask = torch.zeros(10, 10, dtype=torch.bool)
    mask[:, :5] = True  # touches three borders
    (contour,) = mask_contours(mask)
    assert contour[:, 1].max() == pytest.approx(4.5) and contour[:, 0].min() == pytest.approx(-0.5)
    assert average_perpendicular_distance(mask, mask, 1.0) == 0.0


def test_point_to_contour_distance_is_perpendicular():
    square = [np.array([[0.0, 0.0], [0.0, 10.0], [10.0, 10.0], [10.0, 0.0]])]
    points = np.array([[5.0, 3.0], [-2.0, 5.0], [12.0, 13.0]])
    np.testing.assert_allclose(point_to_contour_distances(points, square, 1.0), [3.0, 2.0, math.hypot(2, 3)])
    np.testing.assert_allclose(point_to_contour_distances(points[:1], square, (2.0, 1.0)), [3.0])


def test_hausdorff_close_to_scipy_on_the_same_contour_vertices():
    from scipy.spatial.distance import directed_hausdorff

    pred, truth = disk(18, centre=(60, 66)), disk(25)
    pred_points, truth_points = (np.concatenate(mask_contours(m)) for m in (pred, truth))
    vertex_hd = max(directed_hausdorff(pred_points, truth_points)[0], directed_hausdorff(truth_points, pred_points)[0])
    ours = hausdorff_distance(pred, truth, 1.0)
    assert ours <= vertex_hd + 1e-9  # distances to segments never exceed distances to their vertices
    assert ours == pytest.approx(vertex_hd, abs=0.5)  # vertices are under a pixel apart
