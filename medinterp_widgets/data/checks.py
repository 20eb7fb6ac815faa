"""Value checks shared by the readers: non-finite voxels are repaired with a warning, label maps must
hold whole numbers in range, and a label map must match its image's shape."""

from __future__ import annotations

import warnings

import numpy as np

from medinterp_widgets.data.errors import DataFormatError, DataRepairWarning


def repair_non_finite(array: np.ndarray, path, field: str) -> np.ndarray:
    """``array`` with NaN / +-inf set to 0 (a copy, with a `DataRepairWarning` naming file and count)."""
    if not np.issubdtype(array.dtype, np.floating):
        return array
    bad = ~np.isfinite(array)
    count = int(bad.sum())
    if count == 0:
        return array
    warnings.warn(f"{path}: {field}: {count} non-finite values (NaN/inf) of {array.size} set to 0",
                  DataRepairWarning, stacklevel=3)
    return np.where(bad, np.zeros((), array.dtype), array)


def whole_labels(array: np.ndarray, path, field: str, max_label: int = 255) -> np.ndarray:
    """A label map as uint8 (max_label <= 255) or int32; refused unless every value is a whole 0..max_label."""
    values = np.asarray(array)
    if values.size and not (np.issubdtype(values.dtype, np.integer) or np.issubdtype(values.dtype, np.bool_)):
        if not np.isfinite(values).all() or np.any(values != np.round(values)):
            raise DataFormatError(path, f"{field}: non-finite or fractional values; expected whole numbers "
                                        f"0..{max_label}")
    if values.size and (values.min() < 0 or values.max() > max_label):
        raise DataFormatError(path, f"{field}: values {values.min()}..{values.max()}, expected 0..{max_label}")
    return values.astype(np.uint8 if max_label <= 255 else np.int32)


def same_shape(labels: np.ndarray, shape: tuple[int, ...], path, field: str) -> np.ndarray:
    """``labels`` when shaped ``shape``; a `DataFormatError` naming both shapes otherwise."""
    if tuple(labels.shape) != tuple(shape):
        raise DataFormatError(path, f"{field}: shape {tuple(labels.shape)} differs from the image's {tuple(shape)}")
    return labels
