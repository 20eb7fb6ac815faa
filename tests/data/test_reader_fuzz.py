"""Mutated small files for the HDF5, PNG/JPEG, NIfTI and contour readers (seeded, a few hundred in all).

Each read must return the reader's result or raise a `DataError` naming the file: no foreign exception
(h5py OSError, cv2.error, nibabel errors, numpy MemoryError ...) and no hang (5 s alarm per read).
"""

from __future__ import annotations

import contextlib
import gzip
import io
import signal
import struct
import zlib

import cv2
import h5py
import nibabel as nib
import numpy as np
import pytest

from medinterp_widgets.data import DataError, read_acdc_h5, read_contour_file, read_grey_image
from medinterp_widgets.data.covid_lesions import read_binary_mask
from medinterp_widgets.data.mouse_brain import read_nifti

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")  # repaired voxels warn, by design
HANG_S = 5


@contextlib.contextmanager
def no_hang(seconds: int = HANG_S):
    def fail(_signum, _frame):
        raise AssertionError(f"reader took more than {seconds} s (hang)")

    previous = signal.signal(signal.SIGALRM, fail)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def read_checked(reader, path) -> str:
    """'ok' or the named error's class; anything else fails the test with the mutation's file."""
    with no_hang():
        try:
            reader(path)
        except DataError as error:
            assert str(path) in str(error), f"{type(error).__name__} without the file name: {error}"
            return type(error).__name__
        except FileNotFoundError:
            raise AssertionError(f"{path}: the file exists; got FileNotFoundError") from None
    return "ok"


def mutations(data: bytes, count: int, seed: int):
    """Truncations and 1..12 random byte changes, alternating (seeded)."""
    rng = np.random.default_rng(seed)
    for trial in range(count):
        mutated = bytearray(data[: int(rng.integers(0, len(data)))] if trial % 2 else data)
        for offset in rng.integers(0, len(mutated), size=int(rng.integers(1, 13)) if mutated else 0):
            mutated[offset] = int(rng.integers(0, 256))
        yield bytes(mutated)


def fuzz(reader, tmp_path, name: str, data: bytes, count: int, seed: int) -> dict[str, int]:
    outcomes: dict[str, int] = {}
    for k, mutated in enumerate(mutations(data, count, seed)):
        path = tmp_path / f"{k:03d}-{name}"
        path.write_bytes(mutated)
        outcome = read_checked(reader, path)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
        path.unlink()
    return outcomes


# -- HDF5 (ACDC layout) -----------------------------------------------------------------------------
def _h5_bytes(chunked: bool = True, compression: str | None = "gzip") -> bytes:
    rng = np.random.default_rng(0)
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as handle:
        options = dict(chunks=(4, 5), compression=compression) if chunked else {}
        handle.create_dataset("image", data=rng.random((8, 10), dtype=np.float32), **options)
        handle.create_dataset("label", data=rng.integers(0, 4, (8, 10), dtype=np.uint8), **options)
    return buffer.getvalue()


def test_mutated_hdf5(tmp_path):
    outcomes = {}
    for seed, data in enumerate((_h5_bytes(), _h5_bytes(chunked=False))):
        for key, value in fuzz(read_acdc_h5, tmp_path, "slice.h5", data, 60, seed).items():
            outcomes[key] = outcomes.get(key, 0) + value
    assert outcomes.get("DataFormatError", 0) > 0  # the mutations do break files


@pytest.mark.parametrize("image, label", [
    (np.zeros((0, 0), np.float32), np.zeros((0, 0), np.uint8)),            # empty
    (np.float32(0.5), np.uint8(1)),                                         # 0-D
    (np.array(["a", "b"], dtype="S1"), np.zeros(2, np.uint8)),             # strings
    (np.full((4, 4), np.nan, np.float32), np.zeros((4, 4), np.uint8)),     # NaN image
    (np.zeros((4, 4), np.float32), np.zeros((5, 4), np.uint8)),            # label of another shape
    (np.zeros((4, 4), np.float32), np.full((4, 4), 7, np.uint8)),          # label out of range
])
def test_structurally_wrong_hdf5_is_named(tmp_path, image, label):
    path = tmp_path / "odd.h5"
    with h5py.File(path, "w") as handle:
        handle["image"], handle["label"] = image, label
    assert read_checked(read_acdc_h5, path) == "DataFormatError"


# -- PNG / JPEG ----------------------------------------------------------------------------------------
def _picture_bytes(suffix: str, channels: int) -> bytes:
    rng = np.random.default_rng(1)
    pixels = rng.integers(0, 256, (24, 20, channels) if channels > 1 else (24, 20), dtype=np.uint8)
    ok, encoded = cv2.imencode(suffix, pixels)
    assert ok
    return encoded.tobytes()


@pytest.mark.parametrize("suffix, channels, seed", [(".png", 1, 10), (".png", 4, 11), (".jpg", 3, 12)])
def test_mutated_pictures(tmp_path, suffix, channels, seed):
    outcomes = fuzz(read_grey_image, tmp_path, f"slice{suffix}", _picture_bytes(suffix, channels), 50, seed)
    assert outcomes.get("DataFormatError", 0) > 0


def test_mutated_mask_png(tmp_path):
    mask = (np.arange(24 * 20).reshape(24, 20) % 7 == 0).astype(np.uint8) * 255
    data = cv2.imencode(".png", mask)[1].tobytes()
    fuzz(read_binary_mask, tmp_path, "mask.png", data, 40, 13)


# -- NIfTI ---------------------------------------------------------------------------------------------
def _nifti_bytes(compressed: bool) -> bytes:
    image = nib.Nifti1Image(np.random.default_rng(2).random((6, 5, 4), dtype=np.float32), np.diag([0.5, 0.5, 2, 1]))
    raw = image.to_bytes()
    return gzip.compress(raw, mtime=0) if compressed else raw


@pytest.mark.parametrize("compressed, seed", [(False, 20), (True, 21)])
def test_mutated_nifti(tmp_path, compressed, seed):
    name = "vol.nii.gz" if compressed else "vol.nii"
    outcomes = fuzz(read_nifti, tmp_path, name, _nifti_bytes(compressed), 50, seed)
    assert outcomes.get("DataFormatError", 0) > 0


HEADER_EDITS = {  # offset in the NIfTI-1 header -> struct format (see nifti1.h)
    "dim": (40, "<8h"), "datatype": (70, "<h"), "pixdim": (76, "<8f"),
    "vox_offset": (108, "<f"), "scl_slope": (112, "<f"), "srow_x": (280, "<4f"),
}


@pytest.mark.parametrize("field, values", [
    ("dim", (3, 30000, 30000, 30000, 1, 1, 1, 1)), ("dim", (3, -6, 5, 4, 1, 1, 1, 1)),
    ("dim", (9, 6, 5, 4, 1, 1, 1, 1)), ("datatype", (999,)),
    ("pixdim", (1, 0, 0.5, 2, 1, 1, 1, 1)), ("pixdim", (1, float("nan"), 0.5, 2, 1, 1, 1, 1)),
    ("vox_offset", (1e9,)), ("scl_slope", (float("inf"),)), ("srow_x", (float("nan"), 0, 0, 0)),
])
def test_edited_nifti_header_is_named(tmp_path, field, values):
    data = bytearray(_nifti_bytes(False))
    offset, layout = HEADER_EDITS[field]
    data[offset:offset + struct.calcsize(layout)] = struct.pack(layout, *values)
    if field == "srow_x":
        data[254:256] = struct.pack("<h", 1)  # sform_code: use the sform
    path = tmp_path / "edited.nii"
    path.write_bytes(bytes(data))
    assert read_checked(read_nifti, path) != "ok" or field == "scl_slope"


# -- contour text ------------------------------------------------------------------------------------
def test_mutated_contours(tmp_path):
    text = "".join(f"{10 + 5 * np.cos(a):.2f} {12 + 4 * np.sin(a):.2f}\n" for a in np.linspace(0, 6, 30))
    outcomes = fuzz(read_contour_file, tmp_path, "i-contour.txt", text.encode(), 80, 30)
    assert outcomes.get("DataFormatError", 0) > 0


def test_png_header_claiming_over_2_to_the_30_pixels(tmp_path):
    """A valid PNG whose IHDR claims 40000 x 40000 (OpenCV would raise its own cv2.error)."""
    data = bytearray(_picture_bytes(".png", 1))
    data[16:24] = struct.pack(">II", 40000, 40000)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))  # keep the IHDR CRC valid
    path = tmp_path / "claims.png"
    path.write_bytes(bytes(data))
    assert read_checked(read_grey_image, path) == "DataTooLargeError"
