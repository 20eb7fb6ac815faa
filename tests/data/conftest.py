"""Fixtures for the data-layer tests: small synthetic DICOM series written from pydicom's MR_small."""

from __future__ import annotations

import random
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.uid import generate_uid

# Oblique-free but non-axial geometry: rows along +y, columns along -z, so the slice normal is -x.
ORIENTATION = [0.0, 1.0, 0.0, 0.0, 0.0, -1.0]
MR_SMALL_SPACING = 0.3125


def pixel_code(slice_index: int, phase: int) -> int:
    """The constant pixel value written into slice ``slice_index``, phase ``phase``."""
    return 100 * slice_index + phase


def write_frame(path: Path, *, slice_index: int, phase: int, gap: float = 5.0,
                series_uid: str = "1.2.826.0.1.3680043.8.498.1", rows: int = 64, n_phases: int = 1) -> Path:
    """One single-frame MR file at slice ``slice_index`` (position along the normal) and ``phase``."""
    dataset = pydicom.dcmread(get_testdata_file("MR_small.dcm"))
    dataset.ImageOrientationPatient = ORIENTATION
    dataset.ImagePositionPatient = [-gap * slice_index, 10.0, 20.0]  # s = position . (-1, 0, 0) = gap * k
    dataset.InstanceNumber = slice_index * n_phases + phase + 1
    dataset.TriggerTime = 40.0 * phase + 0.5 * slice_index  # per-slice jitter as in real cine studies
    dataset.SeriesInstanceUID = series_uid
    dataset.SOPInstanceUID = generate_uid()
    dataset.Rows = dataset.Columns = rows
    dataset.PixelData = np.full((rows, rows), pixel_code(slice_index, phase), dtype=np.int16).tobytes()
    dataset.save_as(path, enforce_file_format=True)
    return path


@pytest.fixture
def make_series(tmp_path):
    """Factory: a folder of ``n_slices`` x ``n_phases`` files written in shuffled order with opaque names."""

    def make(n_slices: int = 3, n_phases: int = 4, *, name: str = "series", **kwargs) -> Path:
        folder = tmp_path / name
        folder.mkdir()
        cells = [(z, t) for z in range(n_slices) for t in range(n_phases)]
        random.Random(0).shuffle(cells)
        for number, (z, t) in enumerate(cells):
            write_frame(folder / f"f{number:03d}.dcm", slice_index=z, phase=t, n_phases=n_phases, **kwargs)
        return folder

    return make


@pytest.fixture
def testdata():
    """Path of a file bundled with pydicom / pydicom-data, by name."""

    def get(name: str) -> str:
        path = get_testdata_file(name, download=False)  # pydicom-data or pydicom itself; never the network
        if path is None:
            pytest.skip(f"pydicom test file {name} not installed")
        return path

    return get


@pytest.fixture
def series_tools():
    """The helpers above for tests (conftest modules are not importable under --import-mode=importlib)."""
    return SimpleNamespace(write_frame=write_frame, pixel_code=pixel_code, spacing=MR_SMALL_SPACING)
