"""Mutated real files: the reader returns a Volume or raises DicomReadError naming the file, nothing else."""

import numpy as np
import pydicom
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydicom.data import get_testdata_file

from medinterp_widgets.data import DicomReadError, Volume, read_dicom

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")  # pydicom complains about the mutated values
SOURCE = get_testdata_file("MR_small.dcm")
SOURCE_BYTES = open(SOURCE, "rb").read()
FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
HEADER_FIELDS = ["Rows", "Columns", "BitsAllocated", "BitsStored", "PixelRepresentation", "SamplesPerPixel",
                 "NumberOfFrames", "PixelSpacing", "ImageOrientationPatient", "ImagePositionPatient",
                 "RescaleSlope", "RescaleIntercept", "WindowCenter", "PhotometricInterpretation"]  # fmt: skip


INTERNALS = ("has no attribute", "cannot reshape", "could not convert", "not supported between")  # leaks


def _read_checked(path) -> None:
    try:
        volume = read_dicom(path)
    except DicomReadError as error:
        assert str(path) in str(error) and error.path == str(path)
        assert not any(text in error.problem for text in INTERNALS), error.problem
        return
    assert isinstance(volume, Volume) and volume.array.ndim >= 2


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz")


@FUZZ
@given(cut=st.integers(min_value=0, max_value=len(SOURCE_BYTES) - 1))
def test_truncated_bytes(fuzz_dir, cut):
    path = fuzz_dir / "truncated.dcm"
    path.write_bytes(SOURCE_BYTES[:cut])
    _read_checked(path)


@FUZZ
@given(flips=st.lists(st.tuples(st.integers(0, len(SOURCE_BYTES) - 1), st.integers(0, 255)), min_size=1, max_size=12))
def test_flipped_bytes(fuzz_dir, flips):
    data = bytearray(SOURCE_BYTES)
    for offset, value in flips:
        data[offset] = value
    path = fuzz_dir / "flipped.dcm"
    path.write_bytes(bytes(data))
    _read_checked(path)


@FUZZ
@given(
    dropped=st.sets(st.sampled_from([e.tag for e in pydicom.dcmread(SOURCE)]), max_size=4),
    changed=st.dictionaries(st.sampled_from(HEADER_FIELDS),
                            st.one_of(st.integers(-3, 70000), st.just("x"), st.just([0, 0])), max_size=3),
)
def test_dropped_or_changed_elements(fuzz_dir, dropped, changed):
    dataset = pydicom.dcmread(SOURCE)
    for tag in dropped:
        del dataset[tag]
    for keyword, value in changed.items():
        try:
            setattr(dataset, keyword, value)
        except Exception:  # noqa: BLE001 - pydicom refuses some values up front; that mutation is moot
            continue
    path = fuzz_dir / "edited.dcm"
    try:
        dataset.save_as(path, enforce_file_format=False)
    except Exception:  # noqa: BLE001 - unwritable mutation, nothing to read
        return
    _read_checked(path)


@pytest.mark.data
def test_mutated_sunnybrook_file(real_dataset, tmp_path):
    source = real_dataset("sunnybrook") / "dicoms" / "SCD0000101" / "1.dcm"
    data = source.read_bytes()
    rng = np.random.default_rng(0)
    for trial in range(30):
        mutated = bytearray(data[: int(rng.integers(0, len(data)))] if trial % 2 else data)
        for offset in rng.integers(0, len(mutated), size=4 if mutated else 0):
            mutated[offset] = int(rng.integers(0, 256))
        path = tmp_path / f"m{trial}.dcm"
        path.write_bytes(bytes(mutated))
        _read_checked(path)
