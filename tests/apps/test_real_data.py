"""The workbench and slice browser on the real shared data (skip cleanly without MEDINTERP_DATA)."""

import numpy as np
import pytest

from medinterp_widgets.apps.cases import open_in_root, scan_data_root
from medinterp_widgets.widgets.slice_browser import SliceBrowser
from medinterp_widgets.widgets.transport import record_patches

pytestmark = pytest.mark.data


def test_sunnybrook_cine_series_browses_as_int16_with_mm_probe(real_dataset, data_root):
    real_dataset("sunnybrook")
    case = open_in_root(data_root, "sunnybrook/dicoms/SCD0000101")
    volume = case.volume
    assert volume.axes == ("t", "z", "y", "x") and volume.array.dtype == np.int16
    browser = SliceBrowser(volume)
    with record_patches(browser.image.figure) as log:
        browser.frame = 5
    rows, cols = volume.spatial_shape[1:]
    assert log.buffer_dtypes() == ["int16"] and log.buffer_bytes() == rows * cols * 2
    assert browser.image.figure.x_range.end == pytest.approx(cols * volume.spacing[2])
    assert case.masks is not None and "expert contours" in case.name  # contourfiles/ + link.csv under the root
    assert case.label_names[1] == "LV cavity" and set(np.unique(case.masks)) <= {0, 1, 2}
    probe = browser.probe_at(100, 120)
    voxel = browser.voxel_index(100, 120)  # the displayed (row, col) in array order (the view may turn it)
    assert probe["index"] == voxel and voxel[0] == browser.slice_index
    assert probe["value"] == int(volume.array[(5,) + voxel])
    assert np.allclose(probe["mm"], volume.index_to_mm(voxel), atol=1e-3)


def test_mouse_brain_nifti_opens_with_its_labels(real_dataset, data_root):
    real_dataset("mouse_brain")
    entries = scan_data_root(data_root)
    assert "mouse_brain/template/FVB_NCrl_in_vivo_1.nii.gz" in entries
    case = open_in_root(data_root, "mouse_brain/template/FVB_NCrl_in_vivo_1.nii.gz")
    assert case.masks is not None and case.masks.shape == case.volume.array.shape
    browser = SliceBrowser(case.volume, case.masks)
    assert browser.image.source.data["mask"][0].max() > 0

