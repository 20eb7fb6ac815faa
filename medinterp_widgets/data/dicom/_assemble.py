"""Stack 2-D frames into a `Volume`: sort along the slice normal, group cine phases per position.

The slice normal is n = row_cosine x column_cosine (ImageOrientationPatient); a frame's slice
coordinate is s = ImagePositionPatient . n. Frames whose s agree within `POSITION_TOLERANCE_MM`
share a slice position; the frames of one position are its phases, ordered by TemporalPositionIndex,
then trigger time, then InstanceNumber.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

import numpy as np

from medinterp_widgets.data.dicom._frames import Frame
from medinterp_widgets.data.errors import DicomReadError
from medinterp_widgets.data.volume import Volume

POSITION_TOLERANCE_MM = 0.01
_GEOMETRY_TOLERANCE = 1e-3
_SHOW_FILES = 3


def _describe(groups: dict[Any, list[Frame]]) -> str:
    parts = []
    for value, members in groups.items():
        names = sorted({f.source for f in members})
        more = f" (+{len(names) - _SHOW_FILES} more)" if len(names) > _SHOW_FILES else ""
        shown = ", ".join(names[:_SHOW_FILES]) + more
        parts.append(f"{value}: {shown}")
    return "; ".join(parts)


def _majority(frames: list[Frame], where: str, what: str, key, skipped: list | None) -> list[Frame]:
    """Frames agreeing on ``key(frame)``. A disagreement raises a `DicomReadError` naming the files of
    each variant, or (``skipped`` given) keeps the most common variant and reports the others there."""
    groups: dict[Any, list[Frame]] = defaultdict(list)
    for frame in frames:
        groups[key(frame)].append(frame)
    if len(groups) <= 1:
        return frames
    if skipped is None:
        raise DicomReadError(where, f"inconsistent series: frames differ in {what}: {_describe(groups)}")
    kept = max(groups, key=lambda value: len(groups[value]))
    for value, members in groups.items():
        if value != kept:
            skipped.extend((f.source, f"{what} is {value}, the series has {kept}") for f in members)
    return groups[kept]


def _rounded(values: tuple[float, ...] | None) -> tuple[float, ...] | None:
    return None if values is None else tuple(round(v / _GEOMETRY_TOLERANCE) * _GEOMETRY_TOLERANCE + 0.0 for v in values)


def consistent_frames(frames: list[Frame], where: str, skipped: list | None = None) -> list[Frame]:
    """Frames sharing image size, orientation, pixel spacing and position presence (see `_majority`)."""
    checks = (
        ("image size (rows, cols)", lambda f: f.pixels.shape),
        ("ImageOrientationPatient", lambda f: _rounded(f.orientation)),
        ("PixelSpacing", lambda f: _rounded(f.spacing)),
        ("having an ImagePositionPatient", lambda f: f.position is not None),
    )
    for what, key in checks:
        frames = _majority(frames, where, what, key, skipped)
    return frames


def _usable_orientation(orientation: tuple[float, ...] | None) -> bool:
    """ImageOrientationPatient is present and its row and column cosines are not parallel."""
    return orientation is not None and bool(np.linalg.norm(np.cross(orientation[:3], orientation[3:])) >= 1e-6)


def _direction(orientation: tuple[float, ...] | None) -> np.ndarray:
    """3x3 with columns (row cosine, column cosine, normal); identity when orientation is unknown."""
    if orientation is None or not _usable_orientation(orientation):
        return np.eye(3)
    row, col = np.asarray(orientation[:3]), np.asarray(orientation[3:])
    normal = np.cross(row, col)
    return np.column_stack([row, col, normal / np.linalg.norm(normal)])


def _position_groups(frames: list[Frame], normal: np.ndarray) -> list[list[Frame]]:
    """Frames clustered by slice coordinate s = position . normal, positions in increasing s."""
    if any(f.position is None for f in frames):
        return [frames]  # no geometry: one position, the frames are phases
    ordered = sorted(frames, key=lambda f: _coordinate(f, normal))
    groups: list[list[Frame]] = []
    last: float | None = None
    for frame in ordered:
        s = _coordinate(frame, normal)
        if last is None or s - last > POSITION_TOLERANCE_MM:
            groups.append([])
        groups[-1].append(frame)
        last = s
    return groups


def _coordinate(frame: Frame, normal: np.ndarray) -> float:
    """The frame's slice coordinate s = position . normal (mm); frames here all have a position."""
    assert frame.position is not None
    return float(np.dot(frame.position, normal))


def _phase_key(frame: Frame) -> tuple:
    temporal = frame.temporal_index if frame.temporal_index is not None else -1
    trigger = frame.trigger_time if frame.trigger_time is not None else 0.0
    return (temporal, trigger, frame.instance, frame.source, frame.frame_index)


def _slice_gap(groups: list[list[Frame]], normal: np.ndarray, metadata: dict[str, Any]) -> float | None:
    """Median distance (mm) between consecutive slice positions; irregular gaps are reported."""
    if len(groups) < 2:
        return None
    s = np.array([_coordinate(g[0], normal) for g in groups])
    gaps = np.diff(s)
    gap = float(np.median(gaps))
    metadata["slice_positions_mm"] = s.tolist()
    if np.ptp(gaps) > 0.1 * gap:
        metadata["irregular_slice_gaps_mm"] = gaps.tolist()
    return gap


def _in_plane_spacing(frames: list[Frame], require_spacing: bool, metadata: dict[str, Any]) -> tuple[float, float]:
    spacing = frames[0].spacing
    if spacing is not None:
        return spacing
    if require_spacing:
        raise DicomReadError(frames[0].source, "missing PixelSpacing (0028,0030): expected (row, column) spacing in mm")
    metadata["spacing_assumed"] = "PixelSpacing missing: 1 mm assumed"
    return (1.0, 1.0)


def _complete_positions(groups: list[list[Frame]], where: str, skipped: list | None) -> list[list[Frame]]:
    """Slice positions holding the usual number of phases; others raise, or are reported in ``skipped``."""
    counts = Counter(len(g) for g in groups)
    if len(counts) <= 1:
        return groups
    if skipped is None:
        detail = {f"slice {i}": len(g) for i, g in enumerate(groups)}
        raise DicomReadError(where, f"inconsistent series: slice positions hold different numbers of phases {detail}")
    usual = counts.most_common(1)[0][0]
    for group in groups:
        if len(group) != usual:
            skipped.extend((f.source, f"its slice position has {len(group)} frames, the others {usual}") for f in group)
    return [g for g in groups if len(g) == usual]


def assemble(
    frames: list[Frame],
    metadata: dict[str, Any],
    *,
    where: str,
    require_spacing: bool = True,
    drop_outliers: bool = False,
) -> Volume:
    """Frames -> Volume with axes (y,x), (z,y,x), (t,y,x) or (t,z,y,x) as the geometry calls for.

    ``drop_outliers=True`` leaves out frames that do not fit the series (odd size / orientation /
    spacing, incomplete slice positions) and lists them in metadata["skipped"] instead of raising.
    """
    if not frames:
        raise DicomReadError(where, "no image frames to assemble")
    metadata = dict(metadata)
    skipped = list(metadata.get("skipped", [])) if drop_outliers else None
    frames = consistent_frames(frames, where, skipped)
    direction = _direction(frames[0].orientation)
    groups = _complete_positions(_position_groups(frames, direction[:, 2]), where, skipped)
    phases = [sorted(g, key=_phase_key) for g in groups]  # [slice][phase]
    grid = [[phases[z][t] for z in range(len(groups))] for t in range(len(groups[0]))]  # [phase][slice]
    array = np.stack([np.stack([f.pixels for f in row]) for row in grid])  # (t, z, rows, cols)
    dy, dx = _in_plane_spacing(frames, require_spacing, metadata)
    gap = _slice_gap(groups, direction[:, 2], metadata)
    if skipped is not None:
        metadata["skipped"] = skipped
    metadata["files"] = [[f.source for f in row] for row in grid]
    metadata["trigger_times"] = [[f.trigger_time for f in row] for row in grid]
    metadata["instance_numbers"] = [[f.instance for f in row] for row in grid]
    first = grid[0][0]
    origin = first.position if first.position is not None else (0.0, 0.0, 0.0)
    metadata["geometry"] = ("DICOM ImageOrientationPatient" + (" / ImagePositionPatient" if first.position else "")
                            if _usable_orientation(first.orientation) else "")
    n_t, n_z = array.shape[:2]
    if n_z == 1:
        array = array[:, 0]  # (t, rows, cols)
    if n_t == 1:
        array = array[0]  # drop the phase axis
    axes = (("t",) if n_t > 1 else ()) + (("z",) if n_z > 1 else ()) + ("y", "x")
    spacing = ((gap,) if n_z > 1 and gap is not None else ()) + (dy, dx)  # gap: set whenever n_z > 1
    return Volume(array, spacing=spacing, origin=origin, direction=direction, metadata=metadata, axes=axes)
