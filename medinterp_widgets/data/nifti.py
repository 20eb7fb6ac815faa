"""NIfTI files: ``read_nifti`` (checked before the voxels are read) and ``volume_from_nifti``.

Before reading voxels: the header must parse, declare 3 dims whose size (x itemsize; 8 bytes when
scl_slope/scl_inter rescale) passes ``limits.check_array_size``, positive finite voxel sizes in the
raw pixdim (nibabel would silently turn 0 into 1 mm) and a finite, non-degenerate affine. Voxel
values: NaN/inf are set to 0 with a `DataRepairWarning`; ``labels=True`` instead refuses anything but
whole numbers 0..255 and returns uint8. Every nibabel / gzip failure is a `DataFormatError` naming
the file.

Arrays keep nibabel's voxel order (i, j, k), which ``Volume`` calls (z, y, x); origin/direction come
from the affine converted from NIfTI RAS to the Volume's LPS convention.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np

from medinterp_widgets.data.checks import repair_non_finite, whole_labels
from medinterp_widgets.data.errors import DataFormatError, FieldError, wrap_errors
from medinterp_widgets.data.limits import check_array_size
from medinterp_widgets.data.volume import Volume

_RAS_TO_LPS = np.diag([-1.0, -1.0, 1.0])


def _raw_zooms(image, path: Path) -> tuple[float, ...]:
    """pixdim[1..3] as stored (nibabel's loader fixes 0 to 1; this reads the header bytes again)."""
    with nib.openers.ImageOpener(str(path)) as handle:
        raw = type(image.header).from_fileobj(handle, check=False)
    return tuple(float(z) for z in raw.get_zooms()[:3])


def _checked_header(path: Path):
    """The nibabel image (voxels not read yet) after the header checks of the module docstring."""
    with wrap_errors(path, "not a readable NIfTI image"):
        image: Any = nib.load(str(path))  # a Nifti1/2 image (nibabel's own type says less)
        shape = tuple(int(d) for d in image.header.get_data_shape())
        if len(shape) != 3:
            raise FieldError("header dim", f"{len(shape)}-D image {shape}, expected 3-D")
        proxy = image.dataobj
        scaled = float(getattr(proxy, "slope", 1.0)) != 1.0 or float(getattr(proxy, "inter", 0.0)) != 0.0
        itemsize = max(image.get_data_dtype().itemsize, 8 if scaled else 1)
        check_array_size(path, "NIfTI image (header dim)", shape, itemsize)
        zooms = _raw_zooms(image, path)
        if not all(np.isfinite(z) and z > 0 for z in zooms):
            raise FieldError("header pixdim", f"voxel sizes {zooms}, expected positive mm values")
        affine = np.asarray(image.affine, dtype=np.float64)
        if not np.isfinite(affine).all() or np.any(np.linalg.norm(affine[:3, :3], axis=0) == 0):
            raise FieldError("header sform/qform", "the affine has non-finite or zero columns")
    return image, zooms, affine


def read_nifti(path: str | os.PathLike, *, labels: bool = False) -> tuple[np.ndarray, tuple[float, ...], np.ndarray]:
    """(array in voxel order, zooms in mm, 4x4 affine) of a 3-D NIfTI file; see the module docstring."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"NIfTI file not found: {path}")
    image, zooms, affine = _checked_header(path)
    with wrap_errors(path, "voxel data"):
        array = np.asanyarray(image.dataobj)
    if array.ndim != 3:
        raise DataFormatError(path, f"header dim: {array.ndim}-D image {array.shape}, expected 3-D")
    if labels:
        return whole_labels(array, path, "label values"), zooms, affine
    return repair_non_finite(array, path, "voxel values"), zooms, affine


def volume_from_nifti(array: np.ndarray, zooms: tuple[float, ...], affine: np.ndarray, **metadata) -> Volume:
    """Wrap a NIfTI array as a Volume: array axes (i, j, k) -> (z, y, x), affine RAS -> LPS geometry."""
    lps = _RAS_TO_LPS @ affine[:3, :3]  # columns: mm step per voxel along i, j, k
    columns = lps[:, ::-1] / np.linalg.norm(lps[:, ::-1], axis=0)  # Volume order: x (=k), y (=j), z (=i)
    origin = _RAS_TO_LPS @ affine[:3, 3]
    metadata = {"geometry": "NIfTI affine", **metadata}
    return Volume(array, spacing=zooms, origin=tuple(origin), direction=columns, metadata=metadata)
