"""NIfTI files: ``read_nifti`` (checked before the voxels are read) and ``volume_from_nifti``.

Before reading voxels: the header must parse, declare 3 dims (trailing length-1 dims dropped; of a
4-D series, the ``volume`` asked for) whose size (x itemsize; 8 bytes when
scl_slope/scl_inter rescale) passes ``limits.check_array_size``, positive finite voxel sizes in the
raw pixdim (nibabel would silently turn 0 into 1 mm) and a finite, non-degenerate affine. Voxel
values: NaN/inf are set to 0 with a `DataRepairWarning`; ``labels=True`` instead refuses anything but
whole numbers 0..255 and returns uint8. Every nibabel / gzip failure is a `DataFormatError` naming
the file.

Arrays keep nibabel's voxel order (i, j, k), which ``Volume`` calls (z, y, x); origin/direction come
from the affine converted from NIfTI RAS+ to the Volume's LPS+ world axes (nibabel's orientation tools).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np

from medinterp_widgets.data.checks import repair_non_finite, whole_labels
from medinterp_widgets.data.errors import DataFormatError, FieldError, quiet_library_warnings, wrap_errors
from medinterp_widgets.data.limits import check_array_size
from medinterp_widgets.data.volume import Volume

# RAS+ -> LPS+: nibabel's ornt_transform between the two axis codes flips x and y
_RAS_TO_LPS = np.diag(nib.orientations.ornt_transform(nib.orientations.axcodes2ornt("RAS"),
                                                      nib.orientations.axcodes2ornt("LPS"))[:, 1])


def _raw_zooms(image, path: Path) -> tuple[float, ...]:
    """pixdim[1..3] as stored (nibabel's loader fixes 0 to 1; this reads the header bytes again)."""
    with nib.openers.ImageOpener(str(path)) as handle, quiet_library_warnings():
        raw = type(image.header).from_fileobj(handle, check=False)
    return tuple(float(z) for z in raw.get_zooms()[:3])


def _checked_header(path: Path, volume: int | None = None):
    """The nibabel image (voxels not read yet) after the header checks of the module docstring."""
    with wrap_errors(path, "not a readable NIfTI image"):
        with quiet_library_warnings():
            image: Any = nib.load(str(path))  # a Nifti1/2 image (nibabel's own type says less)
        shape = _spatial_shape(tuple(int(d) for d in image.header.get_data_shape()), volume)
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


def _spatial_shape(shape: tuple[int, ...], volume: int | None) -> tuple[int, ...]:
    """The 3-D shape to read: trailing length-1 dims dropped; a 4-D series (x, y, z, t) needs ``volume``."""
    while len(shape) > 3 and shape[-1] == 1:
        shape = shape[:-1]
    if len(shape) == 4 and volume is not None:
        if not 0 <= volume < shape[3]:
            raise FieldError("header dim", f"volume {volume} of a 4-D image {shape} with {shape[3]} volumes")
        return shape[:3]
    if len(shape) != 3:
        hint = "; pass volume=<index> to read one of its volumes" if len(shape) == 4 else ""
        raise FieldError("header dim", f"{len(shape)}-D image {shape}, expected 3-D{hint}")
    return shape


def count_volumes(path: str | os.PathLike) -> int:
    """How many 3-D volumes a NIfTI file holds: t of a 4-D series (x, y, z, t), else 1 (header only)."""
    image, _, _ = _checked_header(Path(path), volume=0)
    shape = tuple(int(d) for d in image.header.get_data_shape())
    return shape[3] if len(shape) >= 4 else 1


def read_nifti(path: str | os.PathLike, *, labels: bool = False, volume: int | None = None
               ) -> tuple[np.ndarray, tuple[float, ...], np.ndarray]:
    """(array in voxel order, zooms in mm, 4x4 affine) of a 3-D NIfTI file; see the module docstring.

    A file with trailing length-1 dims (x, y, z, 1) reads as 3-D; a 4-D series (x, y, z, t) is refused
    (the error names the file and its dims) unless ``volume`` picks one of its t volumes.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"NIfTI file not found: {path}")
    image, zooms, affine = _checked_header(path, volume)
    with wrap_errors(path, "voxel data"), quiet_library_warnings():
        proxy = image.dataobj
        array = np.asanyarray(proxy[..., volume] if len(proxy.shape) == 4 and volume is not None else proxy)
        array = array.reshape(array.shape[:3]) if array.ndim > 3 and all(d == 1 for d in array.shape[3:]) else array
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
