"""Silent garbage is refused or repaired with a warning: overflowing rescale, NaN geometry, pixdim 0,
non-finite voxels; DICOM messages name the field instead of passing library internals through."""

from __future__ import annotations

import struct

import nibabel as nib
import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file

from medinterp_widgets.data import DataFormatError, DataRepairWarning, DicomReadError, Volume, read_dicom
from medinterp_widgets.data.mouse_brain import read_nifti

SOURCE = get_testdata_file("MR_small.dcm")
INTERNALS = ("has no attribute", "cannot reshape", "could not convert", "not supported between")


def _edited(tmp_path, **values):
    dataset = pydicom.dcmread(SOURCE)
    for keyword, value in values.items():
        setattr(dataset, keyword, value)
    path = tmp_path / "edited.dcm"
    dataset.save_as(path, enforce_file_format=False)
    return path


def _read_error(path) -> str:
    with pytest.raises(DicomReadError) as info:
        read_dicom(path)
    message = str(info.value)
    assert str(path) in message and not any(text in message for text in INTERNALS), message
    return message


def test_rescale_that_overflows_float32_is_refused(tmp_path):
    assert "RescaleSlope/RescaleIntercept: 1e+39 x stored" in _read_error(_edited(tmp_path, RescaleSlope=1e39))


def test_pixel_count_mismatch_names_the_fields(tmp_path):
    message = _read_error(_edited(tmp_path, Rows=1, Columns=1))
    assert "PixelData: holds 4096 values; NumberOfFrames x Rows x Columns x SamplesPerPixel = 1 x 1 x 1" in message


def test_unparsable_geometry_names_the_field(tmp_path):
    data = bytearray(_edited(tmp_path).read_bytes())
    tag = data.index(b"\x20\x00\x32\x00DS")  # ImagePositionPatient, explicit VR little endian
    length = struct.unpack("<H", data[tag + 6:tag + 8])[0]
    data[tag + 8:tag + 8 + length] = b"x\\0\\0".ljust(length)
    path = tmp_path / "ipp.dcm"
    path.write_bytes(bytes(data))
    assert "ImagePositionPatient: ['x', '0', '0'] are not numbers" in _read_error(path)


def test_transfer_syntax_read_as_text_is_still_understood(tmp_path):
    data = bytearray(open(SOURCE, "rb").read())
    tag = data.index(b"\x02\x00\x10\x00UI")
    data[tag + 4:tag + 6] = b"LO"  # the meta element arrives as plain text, not a UID
    path = tmp_path / "ts.dcm"
    path.write_bytes(bytes(data))
    np.testing.assert_array_equal(read_dicom(path).array, read_dicom(SOURCE).array)  # the same pixels


def _nifti(tmp_path, array=None, **header):
    image = nib.Nifti1Image(np.zeros((4, 5, 6), np.float32) if array is None else array, np.diag([0.5, 0.5, 2, 1]))
    data = bytearray(image.to_bytes())
    for offset, (layout, values) in header.items():
        data[int(offset):int(offset) + struct.calcsize(layout)] = struct.pack(layout, *values)
    path = tmp_path / "v.nii"
    path.write_bytes(bytes(data))
    return path


def test_nifti_pixdim_zero_is_refused_not_turned_into_1mm(tmp_path):
    path = _nifti(tmp_path, **{"76": ("<4f", (1, 0, 0.5, 2))})
    with pytest.raises(DataFormatError, match=r"v.nii: .*header pixdim: voxel sizes \(0.0, 0.5, 2.0\)"):
        read_nifti(path)


def test_nifti_nan_sform_is_refused(tmp_path):
    path = _nifti(tmp_path, **{"280": ("<4f", (float("nan"), 0, 0, 0)), "254": ("<h", (1,))})
    with pytest.raises(DataFormatError, match="v.nii: .*header sform/qform: the affine has non-finite"):
        read_nifti(path)


def test_nifti_non_finite_voxels_are_repaired_with_a_warning(tmp_path):
    array = np.ones((4, 5, 6), np.float32)
    array[0, 0, :2] = [np.nan, np.inf]
    with pytest.warns(DataRepairWarning, match="v.nii: voxel values: 2 non-finite values"):
        voxels, _, _ = read_nifti(_nifti(tmp_path, array))
    assert voxels[0, 0, 0] == 0 and voxels[0, 0, 1] == 0 and np.isfinite(voxels).all()


@pytest.mark.parametrize("changes, field", [
    ({"origin": (float("nan"), 0, 0)}, "origin"), ({"direction": np.full((3, 3), np.inf)}, "direction"),
    ({"array": np.zeros((0, 0))}, "empty"),
])
def test_volume_refuses_non_finite_geometry_and_empty_arrays(changes, field):
    values = {"array": np.zeros((2, 2)), "spacing": (1.0, 1.0), **changes}
    with pytest.raises(ValueError, match=field):
        Volume(**values)
