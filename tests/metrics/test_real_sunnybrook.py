"""APD on the real Sunnybrook expert contours: rasterisation error, erosion, myocardial wall thickness."""

import csv

import numpy as np
import pydicom
import pytest
from scipy import ndimage
from skimage.draw import polygon

from medinterp_widgets.metrics import average_perpendicular_distance, mask_contours, point_to_contour_distances

pytestmark = pytest.mark.data


def _contour_pairs(root, limit=8):
    """(inner points (row, col), outer points, pixel spacing, image shape) for slices with both contours."""
    with open(root / "link.csv") as handle:
        links = {row["patient_id"]: row["original_id"] for row in csv.DictReader(handle)}
    pairs = []
    for patient, folder in sorted(links.items()):
        for inner_file in sorted((root / "contourfiles" / folder / "i-contours").glob("*.txt")):
            outer_file = inner_file.parent.parent / "o-contours" / inner_file.name.replace("icontour", "ocontour")
            if not outer_file.exists():
                continue
            number = int(inner_file.name.split("-")[2])
            header = pydicom.dcmread(root / "dicoms" / patient / f"{number}.dcm")
            spacing = tuple(float(v) for v in header.PixelSpacing)
            shape = (int(header.Rows), int(header.Columns))
            inner = np.loadtxt(inner_file)[:, ::-1]  # "x y" lines -> (row, col)
            outer = np.loadtxt(outer_file)[:, ::-1]
            pairs.append((inner, outer, spacing, shape))
    return pairs[:: max(1, len(pairs) // limit)][:limit]


def _fill(points, shape):
    mask = np.zeros(shape, bool)
    rows, cols = polygon(points[:, 0], points[:, 1], shape)
    mask[rows, cols] = True
    return mask


def test_apd_on_expert_contours(real_dataset):
    pairs = _contour_pairs(real_dataset("sunnybrook"))
    assert pairs
    for inner, outer, spacing, shape in pairs:
        inner_mask, outer_mask = _fill(inner, shape), _fill(outer, shape)
        pixel = max(spacing)
        raster_error = point_to_contour_distances(inner, mask_contours(inner_mask), spacing).mean()
        assert raster_error < 0.5 * pixel  # the mask boundary stays within half a pixel of the expert
        eroded = average_perpendicular_distance(ndimage.binary_erosion(inner_mask), inner_mask, spacing)
        assert 0.5 * pixel < eroded < 1.5 * pixel  # one pixel of erosion ~ one pixel of APD
        wall = average_perpendicular_distance(inner_mask, outer_mask, spacing)
        assert 3.0 < wall < 15.0  # endocardium to epicardium: LV wall thickness in mm
