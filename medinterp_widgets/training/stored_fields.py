"""Checks of plain numbers read back from a checkpoint's ``config.extra`` (models stored as lists of floats).

Each check returns the value as Python / numpy numbers or raises ``ValueError`` naming ``where`` (the file
and field), so a malformed stored model is refused before any of it is used.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def finite_number(value: Any, where: str) -> float:
    """A finite int or float (not a bool) as float."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(float(value)):
        raise ValueError(f"{where} must be a finite number, got {value!r}")
    return float(value)


def number_list(value: Any, length: int, where: str) -> np.ndarray:
    """A list (or tuple) of exactly ``length`` finite numbers as a float64 array."""
    if not isinstance(value, (list, tuple)) or len(value) != length:
        raise ValueError(f"{where} must be a list of {length} numbers")
    return np.array([finite_number(item, f"{where}[{i}]") for i, item in enumerate(value)], np.float64)


def bounded_integer(value: Any, low: int, high: int, where: str) -> int:
    """An int (not a bool) in ``low``..``high``."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{where} must be an integer in {low}..{high}, got {value!r}")
    return value
