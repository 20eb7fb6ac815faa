"""Cases: confinement to the data root, scanning, opening files, missing readers."""

import nibabel as nib
import numpy as np
import pytest

from medinterp_widgets.apps import cases
from medinterp_widgets.apps.cases import OutsideDataRootError, ReaderUnavailableError, open_in_root, resolve_in_root


@pytest.fixture
def root(tmp_path):
    """A data root with a DICOM-looking folder, a NIfTI file and an escape hatch via symlink."""
    base = tmp_path / "root"
    (base / "study" / "series").mkdir(parents=True)
    (base / "study" / "series" / "1.dcm").write_bytes(b"not really dicom")
    image = np.arange(4 * 5 * 6, dtype=np.float32).reshape(4, 5, 6)
    nib.save(nib.Nifti1Image(image, np.diag([0.5, 0.5, 2.0, 1.0])), base / "vol.nii.gz")
    outside = tmp_path / "secret"
    outside.mkdir()
    (outside / "x.nii").write_bytes(b"")
    (base / "link").symlink_to(outside, target_is_directory=True)
    return base


@pytest.mark.parametrize("bad", ["..", "../secret", "/etc", "study/../../secret", "link", "link/x.nii"])
def test_paths_outside_the_root_are_refused(root, bad):
    with pytest.raises(OutsideDataRootError, match="outside the data root"):
        resolve_in_root(root, bad)


def test_paths_inside_the_root_resolve(root):
    assert resolve_in_root(root, "study/series") == (root / "study" / "series").resolve()
    assert resolve_in_root(root, str(root / "vol.nii.gz")) == (root / "vol.nii.gz").resolve()


def test_scan_lists_openable_entries_and_does_not_follow_links(root):
    assert cases.scan_data_root(root) == ["study/series", "vol.nii.gz"]


def test_open_nifti_gives_a_volume_with_spacing(root):
    case = open_in_root(root, "vol.nii.gz")
    assert case.volume.array.shape == (4, 5, 6)
    assert case.volume.spacing == (0.5, 0.5, 2.0)


def test_open_reports_missing_unreadable_and_unknown(root):
    with pytest.raises(FileNotFoundError, match="nope"):
        open_in_root(root, "nope")
    with pytest.raises(ValueError, match="expected a DICOM series folder"):
        open_in_root(root, "study")
    with pytest.raises(Exception, match="1.dcm|series"):
        open_in_root(root, "study/series")


def test_missing_reader_is_named(monkeypatch):
    with pytest.raises(ReaderUnavailableError, match="reader not available"):
        cases._reader("medinterp_widgets.data", "read_something_that_does_not_exist")


def test_synthetic_cases_build():
    case = cases.SYNTHETIC_CASES["synthetic: cine LV"]()
    assert case.volume.axes == ("t", "z", "y", "x") and case.masks.shape == case.volume.array.shape
