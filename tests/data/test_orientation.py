"""Views named from the geometry, shown in radiological convention with anatomical markers: synthetic
volumes of known geometry, a NIfTI written like the mouse template (RAS, first axis left-right), a DICOM
series, HDF5 without geometry, and the shared mouse brain and Sunnybrook data."""

from __future__ import annotations

import warnings

import nibabel as nib
import numpy as np
import pytest

from medinterp_widgets.apps.cases import open_in_root
from medinterp_widgets.data import read_dicom_series
from medinterp_widgets.data.nifti import read_nifti, volume_from_nifti
from medinterp_widgets.data.orientation import axis_codes, direction_letters, view_slice, views
from medinterp_widgets.data.volume import Volume
from medinterp_widgets.widgets.slice_browser import SliceBrowser

LETTER_VECTORS = {"L": (1, 0, 0), "R": (-1, 0, 0), "P": (0, 1, 0), "A": (0, -1, 0), "S": (0, 0, 1), "I": (0, 0, -1)}


def _check_markers_match_positions(volume: Volume) -> None:
    """For every view: one column to the right moves the patient position towards the right marker, one
    row down towards the bottom marker (positions from ``Volume.index_to_mm`` of the voxel shown)."""
    browser = SliceBrowser(volume)
    for axis, view in browser.views.items():
        browser.axis = axis
        mm = lambda r, c: np.asarray(browser.probe_at(r, c)["mm"])  # noqa: E731
        right, down = mm(1, 2) - mm(1, 1), mm(2, 1) - mm(1, 1)
        assert np.dot(right, LETTER_VECTORS[view.markers["right"][0]]) > 0.5 * np.linalg.norm(right), (axis, view)
        assert np.dot(down, LETTER_VECTORS[view.markers["bottom"][0]]) > 0.5 * np.linalg.norm(down), (axis, view)
        assert {view.markers["left"][0], view.markers["right"][0]} <= set("LRAP")  # never S/I sideways


def _ras_nifti(tmp_path, shape=(6, 8, 4)):
    """Like the mouse template: RAS, axis 0 runs to the patient's right, 1 to anterior, 2 to superior."""
    array = np.zeros(shape, np.float32)
    array[0, 0, 2] = 7.0  # the most left, most posterior voxel of slice k = 2
    path = tmp_path / "ras.nii.gz"
    nib.save(nib.Nifti1Image(array, np.diag([0.5, 0.5, 0.5, 1.0])), path)
    return volume_from_nifti(*read_nifti(path))


def test_ras_nifti_views_are_named_and_turned_radiologically(tmp_path):
    volume = _ras_nifti(tmp_path)
    assert axis_codes(volume) == "RAS"
    found = views(volume)
    assert {axis: view.name for axis, view in found.items()} == {"x": "axial", "y": "coronal", "z": "sagittal"}
    assert list(found) == ["x", "y", "z"]  # display order axial, coronal, sagittal
    axial = found["x"]
    assert axial.markers == {"top": "A", "bottom": "P", "left": "R", "right": "L"}
    assert found["y"].markers == {"top": "S", "bottom": "I", "left": "R", "right": "L"}
    assert found["z"].markers == {"top": "S", "bottom": "I", "left": "A", "right": "P"}
    plane, spacing = view_slice(volume, axial, 2)
    assert plane.shape == (8, 6) and spacing == (0.5, 0.5)  # rows: A -> P (8), columns: R -> L (6)
    assert plane[-1, -1] == 7.0  # patient left on the screen's right, posterior at the bottom
    _check_markers_match_positions(volume)


def test_slice_browser_names_views_and_draws_markers(tmp_path):
    browser = SliceBrowser(_ras_nifti(tmp_path))
    assert browser.controls.axis.options == (("axial", "x"), ("coronal", "y"), ("sagittal", "z"))
    assert browser.view.name == "sagittal"  # array axis z runs left-right: its slices are sagittal
    axes = browser.image.marker_axes
    assert (axes["top"].axis_label, axes["left"].axis_label) == ("S", "A")
    browser.axis = "x"
    assert {side: axis.axis_label for side, axis in axes.items()} == {"top": "A", "bottom": "P", "left": "R",
                                                                     "right": "L"}
    assert axes["bottom"].major_label_text_font_size == "0px"  # no numbers on the axes, only the markers
    assert "NIfTI affine" in browser.controls.orientation.value and "R, A, S" in browser.controls.orientation.value


def test_identity_and_oblique_geometry():
    array = np.arange(3 * 5 * 4, dtype=np.int16).reshape(3, 5, 4)
    axial = Volume(array, spacing=(2.0, 1.0, 1.0), origin=(1.0, 2.0, 3.0))  # LPS identity: a DICOM axial stack
    view = views(axial)["z"]
    assert view.name == "axial" and view.markers == {"top": "A", "bottom": "P", "left": "R", "right": "L"}
    assert np.array_equal(view_slice(axial, view, 1)[0], array[1])  # stored as displayed: nothing turned
    angle = np.radians(30)
    turn = np.array([[np.cos(angle), -np.sin(angle), 0], [np.sin(angle), np.cos(angle), 0], [0, 0, 1]])
    oblique = Volume(array, spacing=(2.0, 1.0, 1.0), direction=turn, metadata={"geometry": "test"})
    view = views(oblique)["z"]
    assert view.name == "axial" and view.oblique_deg == 0.0  # turned in plane only: still a true axial
    assert view.markers["right"] == "LP" and view.markers["left"] == "RA"
    tilted = Volume(array, spacing=(2.0, 1.0, 1.0), direction=np.array([[1, 0, 0], [0, np.cos(angle), -np.sin(angle)],
                                                                        [0, np.sin(angle), np.cos(angle)]]))
    assert views(tilted)["z"].label == "axial (oblique 30°)"
    _check_markers_match_positions(oblique)
    _check_markers_match_positions(tilted)
    assert direction_letters(np.array([0.9, -0.4, 0.0])) == "LA"


def test_dicom_series_views_come_from_image_orientation_patient(make_series):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        volume = read_dicom_series(make_series(n_slices=4, n_phases=1))  # rows +y, columns -z: sagittal
    assert volume.has_geometry and "ImageOrientationPatient" in volume.metadata["geometry"]
    assert views(volume)["z"].name == "sagittal"
    assert views(volume)["z"].markers == {"top": "S", "bottom": "I", "left": "A", "right": "P"}
    _check_markers_match_positions(volume)


def test_hdf5_without_geometry_says_so(tmp_path):
    import h5py

    with h5py.File(tmp_path / "case.h5", "w") as handle:
        handle["image"] = np.zeros((3, 16, 16), np.float32)
        handle["label"] = np.zeros((3, 16, 16), np.uint8)
    case = open_in_root(tmp_path, "case.h5")
    assert not case.volume.has_geometry
    browser = SliceBrowser(case.volume, case.masks)
    assert [view.name for view in browser.views.values()] == ["z", "y", "x"]
    assert all(axis.axis_label is None for axis in browser.image.marker_axes.values())
    assert "no patient geometry" in browser.controls.orientation.value
    browser._on_tap(2.5, 3.5)
    assert "no patient position" in browser.describe_probe()


def _mean_screen_position(volume, view, labels, ids) -> np.ndarray:
    """Mean (slice, row, column) on screen of the voxels labelled ``ids`` in ``view``."""
    stack = np.stack([view_slice(volume, view, i, array=labels)[0] for i in range(volume.spatial_shape[
        "zyx".index(view.axis)])])  # (slices, rows, cols) as displayed
    return np.argwhere(np.isin(stack, ids)).mean(axis=0)


@pytest.mark.data
def test_mouse_brain_anatomy_lands_where_the_markers_say(real_dataset, data_root):
    """Olfactory bulbs (16, 36) are anterior, cerebellum (8, 28) posterior, neocortex (14, 34) superior to the
    brain stem (17, 37): on screen they sit by the A / P / S / I markers of each view. (Left / right cannot be
    checked from anatomy: the atlas's "Left ..." labels lie where the file's RAS header puts the animal's
    right; the views follow the header.)"""
    real_dataset("mouse_brain")
    case = open_in_root(data_root, "mouse_brain/template/FVB_NCrl_in_vivo_1.nii.gz")
    volume, labels = case.volume, case.masks
    assert axis_codes(volume) == "RAS" and views(volume)[case.axis].name == "axial"
    found = {view.name: view for view in views(volume).values()}
    bulb, cerebellum = (16, 36), (8, 28)
    cortex, stem = (14, 34), (17, 37)
    axial, coronal, sagittal = found["axial"], found["coronal"], found["sagittal"]
    assert axial.markers["top"] == "A" and sagittal.markers["left"] == "A"
    assert _mean_screen_position(volume, axial, labels, bulb)[1] < _mean_screen_position(volume, axial, labels,
                                                                                           cerebellum)[1]
    assert _mean_screen_position(volume, sagittal, labels, bulb)[2] < _mean_screen_position(volume, sagittal, labels,
                                                                                              cerebellum)[2]
    assert coronal.markers["top"] == "S" and sagittal.markers["top"] == "S"
    for view in (coronal, sagittal):
        assert _mean_screen_position(volume, view, labels, cortex)[1] < _mean_screen_position(volume, view, labels,
                                                                                                stem)[1]
    _check_markers_match_positions(volume)


@pytest.mark.data
def test_sunnybrook_views_follow_image_orientation_patient(real_dataset, data_root):
    real_dataset("sunnybrook")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        case = open_in_root(data_root, "sunnybrook/dicoms/SCD0000101")
    browser = SliceBrowser(case.volume)
    assert sorted(v.name for v in browser.views.values()) == ["axial", "coronal", "sagittal"]
    assert "ImageOrientationPatient" in browser.controls.orientation.value
    assert all(browser.view.markers.values())
    _check_markers_match_positions(case.volume)
