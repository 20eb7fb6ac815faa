import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from medinterp_widgets.data import DicomReadError, Volume, read_dicom


def _raw(path):
    return pydicom.dcmread(path).pixel_array


def test_single_frame_mr_keeps_integer_dtype_and_geometry(testdata):
    volume = read_dicom(testdata("MR_small.dcm"))
    assert volume.axes == ("y", "x") and volume.array.dtype == np.int16
    assert volume.spacing == pytest.approx((0.3125, 0.3125))
    np.testing.assert_array_equal(volume.array, _raw(testdata("MR_small.dcm")))
    meta = volume.metadata
    assert meta["Modality"] == "MR" and meta["PhotometricInterpretation"] == "MONOCHROME2"
    assert {"SeriesInstanceUID", "SOPInstanceUID", "PatientID", "InstanceNumber"} <= set(meta)
    assert meta["windows"] == [{"center": 600.0, "width": 1600.0, "name": "preset 1"}]
    assert meta["display_inverted"] is False


def test_rescale_gives_float32_hounsfield(testdata):
    path = testdata("CT_small.dcm")
    dataset = pydicom.dcmread(path)
    volume = read_dicom(path)
    assert volume.array.dtype == np.float32
    expected = dataset.pixel_array * float(dataset.RescaleSlope) + float(dataset.RescaleIntercept)
    np.testing.assert_allclose(volume.array, expected)
    row, col = np.asarray(dataset.ImageOrientationPatient[:3]), np.asarray(dataset.ImageOrientationPatient[3:])
    np.testing.assert_allclose(volume.direction[:, :2], np.column_stack([row, col]))
    assert volume.origin == pytest.approx(tuple(float(v) for v in dataset.ImagePositionPatient))


def test_multivalued_windows_keep_their_explanations(testdata):
    windows = read_dicom(testdata("MR-SIEMENS-DICOM-WithOverlays.dcm")).window_presets
    assert [w["name"] for w in windows] == ["WINDOW1", "WINDOW2"]
    assert windows[0]["center"] == 450.0 and windows[1]["width"] == 443.0


def test_enhanced_ct_uses_functional_groups_and_sorts_frames_by_position(testdata):
    path = testdata("eCT_Supplemental.dcm")
    raw = _raw(path)  # (2, 512, 512) stored at z = -159 then -149, normal = (0, 0, -1)
    volume = read_dicom(path)
    assert volume.axes == ("z", "y", "x") and volume.array.shape == (2, 512, 512)
    assert volume.spacing == pytest.approx((10.0, 0.388672, 0.388672))
    np.testing.assert_allclose(volume.array, raw[::-1] - 1024.0)  # per-frame RescaleIntercept -1024
    assert volume.window_presets[0]["center"] == 49.0
    assert volume.origin == pytest.approx((99.5, -301.5, -149.0))


def test_enhanced_per_frame_rescale_is_applied_per_frame(testdata, tmp_path):
    dataset = pydicom.dcmread(testdata("eCT_Supplemental.dcm"))
    override = Dataset()  # a per-frame group overrides the shared one (slope 1, intercept -1024)
    override.RescaleSlope, override.RescaleIntercept, override.RescaleType = 2, -1024, "US"
    dataset.PerFrameFunctionalGroupsSequence[0].PixelValueTransformationSequence = Sequence([override])
    dataset.save_as(tmp_path / "slope.dcm")
    raw = dataset.pixel_array
    volume = read_dicom(tmp_path / "slope.dcm")
    np.testing.assert_allclose(volume.array[1], raw[0] * 2.0 - 1024.0)  # frame 0 is the second slice
    np.testing.assert_allclose(volume.array[0], raw[1] - 1024.0)


def test_missing_pixel_spacing_is_named_unless_assumed(testdata):
    path = testdata("emri_small.dcm")  # enhanced MR, 10 frames, geometry stripped
    with pytest.raises(DicomReadError, match="missing PixelSpacing") as caught:
        read_dicom(path)
    assert path in str(caught.value)
    volume = read_dicom(path, require_spacing=False)
    assert volume.array.shape == (10, 64, 64) and volume.axes == ("t", "y", "x")
    assert "spacing_assumed" in volume.metadata


@pytest.mark.parametrize("name", ["MR_small_bigendian.dcm", "MR_small_RLE.dcm", "MR_small_jp2klossless.dcm",
                                  "MR_small_implicit.dcm"])
def test_other_encodings_decode_to_the_same_pixels(testdata, name):
    reference = read_dicom(testdata("MR_small.dcm"))
    volume = read_dicom(testdata(name))
    np.testing.assert_array_equal(volume.array, reference.array)
    assert volume.spacing == reference.spacing


def test_compressed_multiframe_rle_and_jpeg2000(testdata):
    reference = read_dicom(testdata("emri_small.dcm"), require_spacing=False).array
    for name in ("emri_small_RLE.dcm", "emri_small_jpeg_2k_lossless.dcm", "emri_small_big_endian.dcm"):
        np.testing.assert_array_equal(read_dicom(testdata(name), require_spacing=False).array, reference)


@pytest.mark.parametrize("name, syntax", [("MR_small_jpeg_ls_lossless.dcm", "JPEG-LS"),
                                          ("JPEG-LL.dcm", "JPEG Lossless")])
def test_compressed_without_decoder_names_syntax_and_plugin(testdata, name, syntax):
    pytest.importorskip("pydicom")
    from pydicom.pixels import get_decoder

    path = testdata(name)
    if get_decoder(pydicom.dcmread(path, stop_before_pixels=True).file_meta.TransferSyntaxUID).is_available:
        pytest.skip("a decoder for this syntax is installed here")
    with pytest.raises(DicomReadError) as caught:
        read_dicom(path)
    message = str(caught.value)
    assert path in message and syntax in message and "pylibjpeg" in message


@pytest.mark.parametrize("name", ["MR_truncated.dcm", "emri_small_jpeg_2k_lossless_too_short.dcm", "rtplan.dcm",
                                  "no_meta.dcm"])
def test_broken_or_non_image_files_raise_the_named_error(testdata, name):
    path = testdata(name)
    with pytest.raises(DicomReadError) as caught:
        read_dicom(path)
    assert caught.value.path == path and path in str(caught.value)


def test_not_dicom_missing_file_and_missing_pixel_data(testdata, tmp_path):
    text = tmp_path / "notes.dcm"
    text.write_text("hello\n")
    with pytest.raises(DicomReadError, match="not a DICOM file"):
        read_dicom(text)
    with pytest.raises(DicomReadError, match="no such file"):
        read_dicom(tmp_path / "absent.dcm")
    dataset = pydicom.dcmread(testdata("MR_small.dcm"))
    del dataset.PixelData
    dataset.save_as(tmp_path / "nopixels.dcm")
    with pytest.raises(DicomReadError, match="missing PixelData"):
        read_dicom(tmp_path / "nopixels.dcm")


def test_monochrome1_is_flagged_and_values_untouched(testdata, tmp_path):
    dataset = pydicom.dcmread(testdata("MR_small.dcm"))
    dataset.PhotometricInterpretation = "MONOCHROME1"
    dataset.save_as(tmp_path / "mono1.dcm")
    volume = read_dicom(tmp_path / "mono1.dcm")
    assert volume.metadata["display_inverted"] is True
    np.testing.assert_array_equal(volume.array, dataset.pixel_array)


def test_rgb_becomes_luminance_and_is_flagged(testdata):
    volume = read_dicom(testdata("SC_rgb.dcm"), require_spacing=False)
    assert isinstance(volume, Volume) and volume.axes == ("y", "x") and volume.array.dtype == np.float32
    assert "luminance" in volume.metadata["converted_to_gray"]


def test_classic_multiframe_with_grid_offsets_is_a_z_stack(testdata):
    volume = read_dicom(testdata("rtdose.dcm"))  # 15 frames, GridFrameOffsetVector 0, 5, ..., 70 mm
    assert volume.axes == ("z", "y", "x") and volume.array.shape == (15, 10, 10)
    assert volume.spacing == pytest.approx((5.0, 10.0, 10.0))
