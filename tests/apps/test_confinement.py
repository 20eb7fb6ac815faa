"""The data root cannot be escaped: what is actually opened (series members, label siblings, checkpoints)
is resolved and checked, and the pickers list only what will open. Label maps are checked too."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pydicom
import pytest
import torch
from pydicom.data import get_testdata_file

from medinterp_widgets.apps import cases
from medinterp_widgets.apps.cases import OutsideDataRootError, open_in_root
from medinterp_widgets.apps.demo_model import find_checkpoints, load_model
from medinterp_widgets.data import DataError, DataFormatError, read_dicom_series
from medinterp_widgets.data.dicom import _io as dicom_io

AFFINE = np.diag([0.5, 0.5, 2.0, 1.0])


def _dicom(path, slice_index: int):
    dataset = pydicom.dcmread(get_testdata_file("MR_small.dcm"))
    dataset.ImageOrientationPatient = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
    dataset.ImagePositionPatient = [0.0, 0.0, 5.0 * slice_index]
    dataset.SeriesInstanceUID = "1.2.3.4"
    dataset.SOPInstanceUID = pydicom.uid.generate_uid()
    dataset.save_as(path, enforce_file_format=True)
    return path


def _nifti(path, array):
    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(nib.Nifti1Image(np.asarray(array), AFFINE), path)
    return path


@pytest.fixture
def layout(tmp_path):
    """root/ with a series holding a symlink out, and an 'outside' folder next to it."""
    root, outside = tmp_path / "root", tmp_path / "outside"
    series = root / "study" / "series"
    series.mkdir(parents=True)
    outside.mkdir()
    _dicom(series / "1.dcm", 0)
    _dicom(series / "2.dcm", 1)
    _dicom(outside / "secret.dcm", 2)
    (series / "3.dcm").symlink_to(outside / "secret.dcm")
    return root, outside


@pytest.fixture
def opened(monkeypatch):
    """Paths pydicom was asked to open (resolved)."""
    seen = []
    real = dicom_io.pydicom.dcmread

    def spy(path, *args, **kwargs):
        seen.append(str(path))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(dicom_io.pydicom, "dcmread", spy)
    return seen


def test_series_member_symlinked_out_of_the_root_is_not_opened(layout, opened):
    root, outside = layout
    with pytest.warns(UserWarning, match="skipped 1 files"):
        case = open_in_root(root, "study/series")
    assert case.volume.array.shape[0] == 2  # the two real slices, not the outside one
    assert not any("secret" in path for path in opened)
    assert any("outside the data root" in reason for _, reason in case.volume.metadata["skipped"])
    with pytest.raises(OutsideDataRootError, match="3.dcm: series member outside"):
        read_dicom_series(root / "study" / "series")  # direct call: confined to the folder by default


def test_nifti_at_the_top_of_the_root_reads_no_labels_from_its_parent(tmp_path):
    root = tmp_path / "root"
    _nifti(root / "vol.nii.gz", np.zeros((4, 5, 6), np.float32))
    _nifti(tmp_path / "label" / "vol.nii.gz", np.ones((4, 5, 6), np.float32))  # <root>/../label/
    assert open_in_root(root, "vol.nii.gz").masks is None


def test_symlinked_label_file_is_refused_and_not_listed(tmp_path):
    root = tmp_path / "root"
    _nifti(root / "template" / "m1.nii.gz", np.zeros((4, 5, 6), np.float32))
    _nifti(tmp_path / "elsewhere" / "m1.nii.gz", np.ones((4, 5, 6), np.float32))
    (root / "label").mkdir()
    (root / "label" / "m1.nii.gz").symlink_to(tmp_path / "elsewhere" / "m1.nii.gz")
    with pytest.raises(OutsideDataRootError, match="label file outside the data root"):
        open_in_root(root, "template/m1.nii.gz")
    assert "template/m1.nii.gz" not in cases.scan_data_root(root)


@pytest.mark.filterwarnings("ignore:.*skipped 1 files")
def test_picker_lists_only_what_opens(layout, tmp_path):
    root, outside = layout
    _nifti(outside / "x.nii.gz", np.zeros((4, 5, 6), np.float32))
    (root / "evil.nii.gz").symlink_to(outside / "x.nii.gz")
    (root / "only_links").mkdir()
    (root / "only_links" / "a.dcm").symlink_to(outside / "secret.dcm")
    _nifti(root / "fine.nii.gz", np.zeros((4, 5, 6), np.float32))
    listed = cases.scan_data_root(root)
    assert listed == ["fine.nii.gz", "study/series"]
    for entry in listed:
        assert open_in_root(root, entry) is not None


@pytest.mark.parametrize("labels, problem", [
    (np.zeros((4, 5, 7), np.float32), "shape"),
    (np.full((4, 5, 6), np.nan, np.float32), "non-finite"),
    (np.full((4, 5, 6), 1e300), "values"),
    (np.full((4, 5, 6), 0.5, np.float32), "fractional"),
])
def test_bad_label_sibling_is_refused(tmp_path, labels, problem):
    root = tmp_path / "root"
    _nifti(root / "template" / "m1.nii.gz", np.zeros((4, 5, 6), np.float32))
    _nifti(root / "label" / "m1.nii.gz", labels)
    with pytest.raises(DataFormatError, match=f"label/m1.nii.gz: label (values|map): .*{problem}"):
        open_in_root(root, "template/m1.nii.gz")


@pytest.mark.parametrize("shape", [(), (7,), (2, 3, 4, 5), (0, 0)])
def test_hdf5_of_the_wrong_dimensionality_names_the_file(tmp_path, shape):
    import h5py

    root = tmp_path / "root"
    root.mkdir()
    with h5py.File(root / "odd.h5", "w") as handle:
        handle["image"] = np.zeros(shape, np.float32)
        handle["label"] = np.zeros(shape, np.uint8)
    with pytest.raises(DataError, match="odd.h5"):
        open_in_root(root, "odd.h5")


def test_checkpoint_symlinked_out_is_neither_listed_nor_loaded(tmp_path):
    from medinterp_widgets.models import GapFCN
    from medinterp_widgets.training import atomic_save, checkpoint_payload

    runs, outside = tmp_path / "runs", tmp_path / "outside"
    runs.mkdir()
    model = GapFCN(base_channels=2, depth=1, convs_per_stage=1, max_channels=4)
    atomic_save(checkpoint_payload(model), runs / "good.pt")
    atomic_save(checkpoint_payload(model), outside / "elsewhere.pt")
    (runs / "link.pt").symlink_to(outside / "elsewhere.pt")
    assert find_checkpoints(runs) == [runs / "good.pt"]
    with pytest.raises(OutsideDataRootError):
        load_model(runs / "link.pt", [runs])
    assert isinstance(load_model(runs / "good.pt", [runs]), torch.nn.Module)
