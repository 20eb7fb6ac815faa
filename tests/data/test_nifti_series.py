"""NIfTI files that are not plain 3-D: a trailing length-1 dim reads as 3-D; a 4-D series is refused
with the file and its dims unless one volume is asked for; the workbench shows the first volume."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest

from medinterp_widgets.data.errors import DataFormatError
from medinterp_widgets.data.nifti import count_volumes, read_nifti, volume_from_nifti


def _save(path, array):
    nib.save(nib.Nifti1Image(array, np.diag([0.5, 0.5, 2.0, 1.0])), path)
    return path


def test_trailing_singleton_dim_reads_as_3d(tmp_path):
    array = np.arange(24, dtype=np.float32).reshape(2, 3, 4, 1)
    read, zooms, _ = read_nifti(_save(tmp_path / "one.nii.gz", array))
    assert read.shape == (2, 3, 4) and zooms == (0.5, 0.5, 2.0)
    np.testing.assert_array_equal(read, array[..., 0])
    assert count_volumes(tmp_path / "one.nii.gz") == 1


def test_4d_series_is_refused_by_name_or_read_one_volume(tmp_path):
    series = np.stack([np.full((2, 3, 4), t, np.float32) for t in range(3)], axis=-1)  # (x, y, z, t)
    path = _save(tmp_path / "series.nii.gz", series)
    with pytest.raises(DataFormatError, match=r"series\.nii\.gz.*4-D image \(2, 3, 4, 3\).*volume="):
        read_nifti(path)
    second, _, affine = read_nifti(path, volume=1)
    assert second.shape == (2, 3, 4) and np.all(second == 1)
    assert count_volumes(path) == 3
    with pytest.raises(DataFormatError, match="volume 3 of a 4-D image"):
        read_nifti(path, volume=3)
    # RAS+ -> LPS+: x and y axes change sign, z keeps it
    volume = volume_from_nifti(second, (0.5, 0.5, 2.0), affine)
    np.testing.assert_allclose(np.abs(volume.direction), np.eye(3)[:, ::-1])


def test_workbench_opens_the_first_volume_of_a_series(tmp_path):
    from medinterp_widgets.apps.cases import open_in_root

    series = np.stack([np.full((4, 5, 6), t, np.float32) for t in range(2)], axis=-1)
    _save(tmp_path / "series.nii.gz", series)
    case = open_in_root(tmp_path, "series.nii.gz")
    assert case.volume.array.shape == (4, 5, 6) and np.all(case.volume.array == 0)
    assert "volume 1 of 2" in case.name
