"""`Volume`: a voxel array with its physical geometry and metadata.

Axis convention (explicit in ``axes``): the array is ``([t,] [z,] y, x)``: an optional time/phase
axis first, then the spatial axes with ``x`` (columns) last. ``spacing`` is in mm, one value per
*spatial* axis in array order, so a 3-D volume has ``spacing == (dz, dy, dx)``. ``origin`` is the
patient-space position (mm, DICOM LPS order x, y, z) of the first voxel's centre. ``direction`` is a
3x3 matrix whose columns are the patient-space unit vectors along increasing x (column), y (row)
and z (slice) index: ``position = origin + direction @ (i_x*dx, i_y*dy, i_z*dz)``.
``metadata["geometry"]`` says where origin and direction come from (e.g. "DICOM ImageOrientationPatient",
or "" when a reader knows there is none); without the key a volume built with a non-default origin or
direction has geometry, one built from an array and spacing alone has none (HDF5, images, phantoms:
``has_geometry`` False, the identity direction is only a placeholder).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

_SPATIAL = ("z", "y", "x")


def _default_axes(ndim: int, has_time: bool) -> tuple[str, ...]:
    spatial = ndim - int(has_time)
    if spatial not in (2, 3):
        raise ValueError(f"Volume needs 2 or 3 spatial axes, got an array with {ndim} dims (time axis: {has_time})")
    return (("t",) if has_time else ()) + _SPATIAL[3 - spatial :]


@dataclass(frozen=True)
class Volume:
    """A 2-D/3-D image, optionally a time series, with spacing (mm), origin, direction, metadata."""

    array: np.ndarray
    spacing: tuple[float, ...]
    origin: tuple[float, float, float] = (0.0, 0.0, 0.0)
    direction: np.ndarray = field(default_factory=lambda: np.eye(3))
    metadata: dict[str, Any] = field(default_factory=dict)
    axes: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        array = np.asarray(self.array)
        axes = tuple(self.axes) if self.axes is not None else _default_axes(array.ndim, has_time=False)
        if len(axes) != array.ndim:
            raise ValueError(f"axes {axes} do not match array shape {array.shape}")
        if axes[-2:] != ("y", "x") or any(a not in ("t", "z", "y", "x") for a in axes) or len(set(axes)) != len(axes):
            raise ValueError(f"axes must be ([t,] [z,] y, x); got {axes}")
        if "t" in axes and axes[0] != "t":
            raise ValueError(f"the time axis must come first; got {axes}")
        spacing = tuple(float(s) for s in self.spacing)
        n_spatial = len([a for a in axes if a != "t"])
        if len(spacing) != n_spatial or not all(np.isfinite(s) and s > 0 for s in spacing):
            raise ValueError(f"spacing needs {n_spatial} positive mm values (array order), got {self.spacing}")
        if array.size == 0:
            raise ValueError(f"Volume array is empty (shape {array.shape}); expected at least one voxel")
        direction = np.asarray(self.direction, dtype=float)
        if direction.shape != (3, 3) or not np.isfinite(direction).all():
            raise ValueError(f"direction must be a finite 3x3 matrix, got {direction.tolist()}")
        origin = tuple(float(o) for o in self.origin)
        if len(origin) != 3 or not all(np.isfinite(origin)):
            raise ValueError(f"origin must be 3 finite mm values (x, y, z), got {self.origin}")
        object.__setattr__(self, "array", array)
        object.__setattr__(self, "axes", axes)
        object.__setattr__(self, "spacing", spacing)
        object.__setattr__(self, "origin", origin)
        object.__setattr__(self, "direction", direction)

    # -- shape facts ---------------------------------------------------------------------------
    @property
    def _axes(self) -> tuple[str, ...]:
        """``axes`` as ``__post_init__`` set it (never None afterwards)."""
        assert self.axes is not None
        return self.axes

    @property
    def has_time(self) -> bool:
        return self._axes[0] == "t"

    @property
    def n_frames(self) -> int:
        """Number of time points (cine phases); 1 for a still image."""
        return self.array.shape[0] if self.has_time else 1

    @property
    def spatial_shape(self) -> tuple[int, ...]:
        return self.array.shape[1:] if self.has_time else self.array.shape

    @property
    def spatial_axes(self) -> tuple[str, ...]:
        return self._axes[1:] if self.has_time else self._axes

    @property
    def is_3d(self) -> bool:
        return len(self.spatial_axes) == 3

    @property
    def has_geometry(self) -> bool:
        """True when origin and direction describe the patient (see the module docstring)."""
        if "geometry" in self.metadata:
            return bool(self.metadata["geometry"])
        return any(self.origin) or not np.array_equal(self.direction, np.eye(3))

    # -- views -----------------------------------------------------------------------------------
    def frame(self, t: int = 0) -> Volume:
        """The still volume at time point ``t`` (the volume itself when there is no time axis)."""
        if not self.has_time:
            if t != 0:
                raise IndexError(f"volume has no time axis; frame {t} does not exist")
            return self
        return replace(self, array=self.array[t], axes=self._axes[1:])

    def slice2d(self, axis: str = "z", index: int = 0, t: int = 0) -> tuple[np.ndarray, tuple[float, float]]:
        """A 2-D slice perpendicular to ``axis`` ('z', 'y' or 'x') and its (row, column) spacing in mm.

        For a 2-D volume ``axis`` and ``index`` are ignored.
        """
        still = self.frame(t)
        if not still.is_3d:
            return still.array, (still.spacing[0], still.spacing[1])
        dz, dy, dx = still.spacing
        if axis == "z":
            return still.array[index], (dy, dx)
        if axis == "y":
            return still.array[:, index, :], (dz, dx)
        if axis == "x":
            return still.array[:, :, index], (dz, dy)
        raise ValueError(f"axis must be 'z', 'y' or 'x', got {axis!r}")

    def index_to_mm(self, index: tuple[float, ...]) -> np.ndarray:
        """Patient-space position (mm, x y z) of a spatial voxel index given in array order."""
        idx = np.asarray(index, dtype=float)
        spacing = np.asarray(self.spacing, dtype=float)
        if idx.shape != spacing.shape:
            raise ValueError(f"index needs {len(spacing)} values (array order), got {index}")
        steps = (idx * spacing)[::-1]  # -> (x, y[, z]) in mm
        steps = np.concatenate([steps, np.zeros(3 - steps.size)])
        return np.asarray(self.origin) + self.direction @ steps

    @property
    def window_presets(self) -> list[dict[str, Any]]:
        """Window centre/width presets (``{"center", "width", "name"}``) carried in the metadata."""
        return list(self.metadata.get("windows", []))
