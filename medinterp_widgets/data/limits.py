"""Size limits checked from a file's header before anything is allocated.

One array a reader makes from one file (DICOM frames, NIfTI image, HDF5 dataset, PNG/JPEG pixels,
a DICOM series) may take at most ``MEDINTERP_MAX_ARRAY_MB`` MiB (default 512); a checkpoint file at
most ``MEDINTERP_MAX_CHECKPOINT_MB`` MiB (default 4096, also uncompressed) and ``MAX_CHECKPOINT_ENTRIES``
tensors (``check_torch_file``, before ``torch.load``).
Set the environment variable (a number of MiB) to raise a limit. A refusal is a `DataTooLargeError`
naming the file, the field and the declared size.
"""

from __future__ import annotations

import math
import os
import zipfile
from typing import Sequence

from medinterp_widgets.data.errors import DataFormatError, DataTooLargeError

ARRAY_LIMIT_ENV = "MEDINTERP_MAX_ARRAY_MB"
CHECKPOINT_LIMIT_ENV = "MEDINTERP_MAX_CHECKPOINT_MB"
DEFAULT_ARRAY_MB = 512
DEFAULT_CHECKPOINT_MB = 4096
MAX_CHECKPOINT_ENTRIES = 100_000
MIB = 2**20


def _limit_bytes(variable: str, default_mb: float) -> int:
    text = os.environ.get(variable, "").strip()
    if not text:
        return int(default_mb * MIB)
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{variable}={text!r}: expected a number of MiB") from None
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{variable}={text!r}: expected a positive number of MiB")
    return int(value * MIB)


def max_array_bytes() -> int:
    """The per-array limit in bytes (``MEDINTERP_MAX_ARRAY_MB``, default 512 MiB)."""
    return _limit_bytes(ARRAY_LIMIT_ENV, DEFAULT_ARRAY_MB)


def max_checkpoint_bytes() -> int:
    """The checkpoint size limit in bytes (``MEDINTERP_MAX_CHECKPOINT_MB``, default 4096 MiB)."""
    return _limit_bytes(CHECKPOINT_LIMIT_ENV, DEFAULT_CHECKPOINT_MB)


def _mib(count: int) -> str:
    return f"{count / MIB:.1f} MiB"


def check_array_size(path, field: str, shape: Sequence[int], itemsize: int,
                     error: type[DataTooLargeError] = DataTooLargeError) -> int:
    """Bytes of an array of ``shape`` x ``itemsize``; ``error`` (a `DataTooLargeError`) above ``max_array_bytes()``."""
    dims = [int(d) for d in shape]
    if any(d < 0 for d in dims):
        raise error(path, f"{field}: declared shape {tuple(dims)} has a negative size")
    size = math.prod(dims) * int(itemsize)
    limit = max_array_bytes()
    if size > limit:
        raise error(path, f"{field}: declared shape {tuple(dims)} x {itemsize} bytes = {_mib(size)}, "
                                      f"above the limit of {_mib(limit)} (raise it with {ARRAY_LIMIT_ENV})")
    return size


def check_file_size(path, field: str, size: int, limit: int, variable: str,
                    error: type[DataTooLargeError] = DataTooLargeError) -> None:
    """``error`` when ``size`` bytes exceed ``limit`` (the message names ``variable``)."""
    if size > limit:
        raise error(path, f"{field}: {_mib(size)}, above the limit of {_mib(limit)} "
                                      f"(raise it with {variable})")


def check_torch_file(path) -> None:
    """A torch file within ``max_checkpoint_bytes()``: its size and, for the zip format, the uncompressed
    size and entry (tensor) count, read from the zip directory before ``torch.load``."""
    limit = max_checkpoint_bytes()
    check_file_size(path, "checkpoint file size", os.path.getsize(path), limit, CHECKPOINT_LIMIT_ENV)
    if not zipfile.is_zipfile(path):
        return
    try:
        with zipfile.ZipFile(path) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        raise DataFormatError(path, f"not a readable torch checkpoint (zip: {error})") from error
    check_file_size(path, "checkpoint contents (uncompressed)", sum(e.file_size for e in entries), limit,
                    CHECKPOINT_LIMIT_ENV)
    if len(entries) > MAX_CHECKPOINT_ENTRIES:
        raise DataTooLargeError(path, f"checkpoint holds {len(entries)} entries (tensors), above the limit of "
                                      f"{MAX_CHECKPOINT_ENTRIES}")
