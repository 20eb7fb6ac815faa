"""Shared fixtures. Real data is read from $MEDINTERP_DATA; tests that need it skip cleanly without it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

torch.set_num_threads(min(2, os.cpu_count() or 1))


def _data_root() -> Path | None:
    value = os.environ.get("MEDINTERP_DATA")
    if not value:
        return None
    root = Path(value)
    return root if root.is_dir() else None


@pytest.fixture(scope="session")
def data_root() -> Path:
    """The real-data root; skips the test when $MEDINTERP_DATA is unset or not a folder."""
    root = _data_root()
    if root is None:
        pytest.skip("real data not available: set MEDINTERP_DATA to the shared data folder")
    return root


@pytest.fixture(scope="session")
def real_dataset(data_root):
    """Factory: ``real_dataset("sunnybrook")`` returns that set's folder or skips if it is absent."""

    def get(name: str) -> Path:
        folder = data_root / name
        if not folder.is_dir():
            pytest.skip(f"{name} not present under {data_root}")
        return folder

    return get
