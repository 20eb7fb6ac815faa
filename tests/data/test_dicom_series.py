import shutil
import warnings

import numpy as np
import pytest

from medinterp_widgets.data import DicomReadError, read_dicom_series


def test_cine_stack_is_sorted_along_the_normal_and_by_phase(make_series, series_tools):
    volume = read_dicom_series(make_series(n_slices=3, n_phases=4))
    assert volume.axes == ("t", "z", "y", "x") and volume.array.shape == (4, 3, 64, 64)
    assert volume.spacing == pytest.approx((5.0, series_tools.spacing, series_tools.spacing))
    codes = volume.array[:, :, 0, 0]
    expected = np.array([[series_tools.pixel_code(z, t) for z in range(3)] for t in range(4)])
    np.testing.assert_array_equal(codes, expected)
    np.testing.assert_allclose(volume.direction[:, 2], [-1.0, 0.0, 0.0])
    assert volume.origin == (0.0, 10.0, 20.0) and volume.metadata["skipped"] == []
    assert len(volume.metadata["files"]) == 4 and len(volume.metadata["files"][0]) == 3


def test_single_phase_gives_zyx_and_single_slice_gives_tyx(make_series, series_tools):
    stack = read_dicom_series(make_series(n_slices=4, n_phases=1, name="stack"))
    assert stack.axes == ("z", "y", "x") and stack.array.shape == (4, 64, 64)
    cine = read_dicom_series(make_series(n_slices=1, n_phases=5, name="cine"))
    assert cine.axes == ("t", "y", "x") and cine.spacing == pytest.approx((series_tools.spacing,) * 2)


def test_mixed_series_names_files_and_series_uid_picks_one(make_series, series_tools):
    folder = make_series(n_slices=2, n_phases=2)
    other = series_tools.write_frame(folder / "zz_other.dcm", slice_index=0, phase=0, series_uid="1.2.3.4")
    with pytest.raises(DicomReadError, match="mixed series") as caught:
        read_dicom_series(folder)
    assert str(folder) in str(caught.value) and other.name in str(caught.value)
    assert read_dicom_series(folder, series_uid="1.2.3.4").axes == ("y", "x")
    with pytest.raises(DicomReadError, match="no file has SeriesInstanceUID"):
        read_dicom_series(folder, series_uid="9.9")


def test_different_image_sizes_in_one_series_are_refused(make_series, series_tools):
    folder = make_series(n_slices=2, n_phases=1)
    odd = series_tools.write_frame(folder / "odd.dcm", slice_index=2, phase=0, rows=32)
    with pytest.raises(DicomReadError, match="image size") as caught:
        read_dicom_series(folder)
    assert odd.name in str(caught.value)


def test_uneven_phase_counts_are_refused(make_series):
    folder = make_series(n_slices=2, n_phases=3)
    sorted(folder.iterdir())[0].unlink()
    with pytest.raises(DicomReadError, match="different numbers of phases"):
        read_dicom_series(folder)


def test_skip_bad_reports_unreadable_files(make_series, series_tools):
    folder = make_series(n_slices=2, n_phases=2)
    (folder / "notes.txt").write_text("not an image\n")
    broken = series_tools.write_frame(folder / "broken.dcm", slice_index=5, phase=0)
    broken.write_bytes(broken.read_bytes()[:-300])  # PixelData cut short
    with pytest.raises(DicomReadError) as caught:
        read_dicom_series(folder)
    assert str(folder) in str(caught.value)
    with pytest.warns(UserWarning, match="skipped 2"):
        volume = read_dicom_series(folder, skip_bad=True, series_uid=None)
    skipped = dict(volume.metadata["skipped"])
    assert set(skipped) == {str(folder / "notes.txt"), str(folder / "broken.dcm")}
    assert volume.array.shape == (2, 2, 64, 64)


def test_file_of_another_series_is_not_silently_mixed_in(make_series, testdata):
    folder = make_series(n_slices=1, n_phases=2)
    shutil.copy(testdata("MR_truncated.dcm"), folder / "other.dcm")  # its own SeriesInstanceUID
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(DicomReadError, match="mixed series"):
            read_dicom_series(folder, skip_bad=True)


@pytest.mark.parametrize("make_path", [lambda tmp: tmp / "missing", lambda tmp: tmp])
def test_missing_or_empty_folder(tmp_path, make_path):
    target = make_path(tmp_path)
    with pytest.raises(DicomReadError) as caught:
        read_dicom_series(target)
    assert str(target) in str(caught.value)
