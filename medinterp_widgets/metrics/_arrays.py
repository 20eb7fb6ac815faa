"""Input conversion shared by the metrics: numpy or torch in, numpy out, clear errors on bad input."""

from __future__ import annotations

from typing import Any

import numpy as np


def to_numpy(values: Any, name: str) -> np.ndarray:
    """Return ``values`` (numpy array, torch tensor, list) as a numpy array without mutating it."""
    if hasattr(values, "detach") and hasattr(values, "cpu"):  # a torch tensor; avoids importing torch
        values = values.detach().cpu().numpy()
    array = np.asarray(values)
    if array.dtype == object:
        raise TypeError(f"{name}: expected a numeric array or tensor, got {type(values).__name__}")
    return array


def to_binary_mask(values: Any, name: str) -> np.ndarray:
    """A boolean copy of a binary mask; raises ValueError unless it holds only 0/1 (or bool) values."""
    array = to_numpy(values, name)
    if array.dtype == bool:
        return array.copy()
    if not np.isin(array, (0, 1)).all():
        found = np.unique(array)[:5].tolist()
        raise ValueError(f"{name}: expected a binary mask (bool or 0/1), found values {found}")
    return array.astype(bool)


def check_same_shape(first: np.ndarray, second: np.ndarray, names: tuple[str, str]) -> None:
    """Raise ValueError naming both arguments when their shapes differ."""
    if first.shape != second.shape:
        raise ValueError(f"{names[0]} has shape {first.shape} but {names[1]} has shape {second.shape}; "
                         "expected equal shapes")


def to_label_map(values: Any, name: str, n_classes: int) -> np.ndarray:
    """An integer label map whose values lie in [0, n_classes); raises ValueError otherwise."""
    array = to_numpy(values, name)
    if array.dtype.kind == "f" and not np.all(np.mod(array, 1) == 0):
        raise ValueError(f"{name}: expected integer class labels, found non-integer values")
    array = array.astype(np.int64)
    if array.size and (array.min() < 0 or array.max() >= n_classes):
        raise ValueError(f"{name}: expected labels in [0, {n_classes}), found range "
                         f"[{array.min()}, {array.max()}]")
    return array
