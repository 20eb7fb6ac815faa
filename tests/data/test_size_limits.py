"""Bombs: small files that declare huge arrays are refused from their headers, under a memory cap.

One child process reads every bomb with ``RLIMIT_AS`` set to its size after the imports + 300 MiB, so
a reader that allocates what the header declares dies with MemoryError (or worse) instead of passing.
"""

from __future__ import annotations

import gzip
import json
import struct
import subprocess
import sys
import textwrap
import zlib
from pathlib import Path

import cv2
import h5py
import nibabel as nib
import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file

from medinterp_widgets.data import DataTooLargeError, read_grey_image
from medinterp_widgets.data.limits import ARRAY_LIMIT_ENV

ROOT = Path(__file__).resolve().parents[2]
CHILD = textwrap.dedent("""
    import json, resource, sys
    from medinterp_widgets.data import read_acdc_h5, read_dicom, read_grey_image
    from medinterp_widgets.data.mouse_brain import read_nifti
    readers = {"h5": read_acdc_h5, "png": read_grey_image, "jpg": read_grey_image, "nii.gz": read_nifti,
               "dcm": read_dicom}
    size = int(open("/proc/self/statm").read().split()[0]) * resource.getpagesize()
    cap = size + 300 * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    results = {}
    for path in sys.argv[1:]:
        kind = path.split("bomb.", 1)[1]
        try:
            readers[kind](path)
            results[kind] = ["ok", ""]
        except BaseException as error:
            results[kind] = [type(error).__name__, str(error)]
    print(json.dumps(results))
""")


def _png_bomb(path: Path, side: int = 20000) -> None:
    """An 8-bit grey PNG of side x side zeros (~0.4 MB on disk, 400 MB decoded, 1.6 GB as float32)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    packer = zlib.compressobj(9)
    row = bytes(side + 1)  # filter byte 0 + zeros
    body = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()
    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b""))


def _jpeg_bomb(path: Path) -> None:
    """A real 16 x 16 JPEG whose SOF0 header claims 60000 x 60000 pixels."""
    data = bytearray(cv2.imencode(".jpg", np.zeros((16, 16, 3), np.uint8))[1].tobytes())
    sof = data.index(b"\xff\xc0")
    data[sof + 5:sof + 9] = struct.pack(">HH", 60000, 60000)
    path.write_bytes(bytes(data))


def _hdf5_bomb(path: Path) -> None:
    """1.6 KB on disk: 20000 x 20000 chunked float32 datasets that were never written (fill value)."""
    with h5py.File(path, "w") as handle:
        for key, dtype in (("image", np.float32), ("label", np.uint8)):
            handle.create_dataset(key, shape=(20000, 20000), dtype=dtype, chunks=(1000, 1000), compression="gzip")


def _nifti_bomb(path: Path, side: int = 700) -> None:
    """A gzipped int16 NIfTI of side^3 zeros (654 MiB decoded), written in slabs."""
    header = nib.Nifti1Header()
    header.set_data_shape((side, side, side))
    header.set_data_dtype(np.int16)
    header.set_zooms((1.0, 1.0, 1.0))
    header["vox_offset"] = 352
    slab = bytes(side * side * 2 * 50)
    with gzip.open(path, "wb", compresslevel=1) as handle:
        handle.write(header.binaryblock + b"\0" * 4)
        for _ in range(side // 50):
            handle.write(slab)


def _dicom_bomb(path: Path) -> None:
    dataset = pydicom.dcmread(get_testdata_file("MR_small.dcm"))
    dataset.Rows = dataset.Columns = 30000
    dataset.NumberOfFrames = 10
    dataset.save_as(path, enforce_file_format=False)


BOMBS = {"h5": _hdf5_bomb, "png": _png_bomb, "jpg": _jpeg_bomb, "nii.gz": _nifti_bomb, "dcm": _dicom_bomb}


@pytest.fixture(scope="module")
def bomb_results(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bombs")
    paths = []
    for kind, make in BOMBS.items():
        paths.append(folder / f"bomb.{kind}")
        make(paths[-1])
    done = subprocess.run([sys.executable, "-c", CHILD, *map(str, paths)], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1]), {p.name.split("bomb.", 1)[1]: p for p in paths}


@pytest.mark.parametrize("kind", list(BOMBS))
def test_bomb_is_refused_from_its_header_under_a_memory_cap(bomb_results, kind):
    results, paths = bomb_results
    error, message = results[kind]
    assert error in ("DataTooLargeError", "DicomTooLargeError"), f"{kind}: {error}: {message}"
    assert str(paths[kind]) in message and "declared" in message and ARRAY_LIMIT_ENV in message


def test_the_limit_is_a_setting(tmp_path, monkeypatch):
    path = tmp_path / "small.png"
    cv2.imwrite(str(path), np.zeros((300, 200), np.uint8))
    monkeypatch.setenv(ARRAY_LIMIT_ENV, "0.1")  # MiB: 300 x 200 x 4 bytes = 0.23 MiB
    with pytest.raises(DataTooLargeError, match=r"small.png: PNG pixels .*declared shape \(300, 200, 1\)"):
        read_grey_image(path)
    monkeypatch.setenv(ARRAY_LIMIT_ENV, "1")
    assert read_grey_image(path).shape == (300, 200)
    monkeypatch.setenv(ARRAY_LIMIT_ENV, "lots")
    with pytest.raises(ValueError, match=ARRAY_LIMIT_ENV):
        read_grey_image(path)
