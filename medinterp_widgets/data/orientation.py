"""Anatomical views of a Volume: which array axis is axial / coronal / sagittal, and how each view's
slices are turned for display in the radiological convention, with L/R/A/P/S/I markers.

World space is the Volume's patient LPS (x -> left, y -> posterior, z -> superior). nibabel's
orientation tools do the work: ``io_orientation`` pairs each voxel axis with its nearest world axis
(an oblique grid gets the closest match), ``aff2axcodes`` names the axes, ``ornt_transform`` /
``apply_orientation`` turn the voxel array into (slice, row, column) of a view without copying.

Radiological display (rows run top -> bottom, columns left -> right on the screen):

    axial     rows -> posterior, columns -> patient left   (patient's right on the screen's left)
    coronal   rows -> inferior,  columns -> patient left
    sagittal  rows -> inferior,  columns -> posterior      (anterior on the screen's left)

Slices keep the array's own order along the slice axis (slice i of a view is array index i).
A Volume without patient geometry (``Volume.has_geometry`` False: HDF5, images, phantoms) gets
views named after its array axes 'z', 'y', 'x', shown as stored, without markers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from nibabel.orientations import aff2axcodes, apply_orientation, io_orientation, ornt_transform

from medinterp_widgets.data.volume import Volume

LPS_LABELS = (("R", "L"), ("A", "P"), ("I", "S"))  # (negative, positive) end of world x, y, z
PLANE_NAMES = ("sagittal", "coronal", "axial")  # the plane perpendicular to world x, y, z
VIEW_ORDER = ("axial", "coronal", "sagittal")
ARRAY_AXES = ("z", "y", "x")
# (world axis, sign) along which screen rows and screen columns increase, per view
_SCREEN = {"axial": ((1, 1), (0, 1)), "coronal": ((2, -1), (0, 1)), "sagittal": ((2, -1), (1, 1))}
MARKER_MIN_COMPONENT = 0.3  # a direction's secondary letters are named from this share on (~17 degrees)


@dataclass(frozen=True)
class View:
    """One way to slice a volume: along array ``axis``, named ``name``, turned by ``transform``.

    ``transform``: nibabel orientation (3, 2) taking the spatial (z, y, x) array to (slice, row, col);
    ``markers``: the anatomical letters at the top, bottom, left and right of the screen ('' without
    geometry); ``oblique_deg``: angle between the slice normal and the named world axis.
    """

    axis: str
    name: str
    transform: np.ndarray
    markers: dict[str, str]
    oblique_deg: float = 0.0

    @property
    def label(self) -> str:
        """The view's name for a button: 'axial', 'coronal (oblique 32°)', or an array axis."""
        return f"{self.name} (oblique {self.oblique_deg:.0f}°)" if self.oblique_deg >= 10 else self.name


def voxel_affine(volume: Volume) -> np.ndarray:
    """4x4 affine from spatial array indices (z, y, x) to LPS mm; a 2-D volume gets the plane normal
    (1 mm) as its z axis."""
    spacing = volume.spacing if volume.is_3d else (1.0,) + tuple(volume.spacing)
    columns = volume.direction[:, ::-1] * np.asarray(spacing, dtype=float)  # array order z, y, x
    affine = np.eye(4)
    affine[:3, :3], affine[:3, 3] = columns, volume.origin
    return affine


def axis_codes(volume: Volume) -> str:
    """Where each spatial array axis (z, y, x) points, e.g. 'RAS' ('' without geometry)."""
    return "".join(aff2axcodes(voxel_affine(volume), LPS_LABELS)) if volume.has_geometry else ""


def direction_letters(vector: np.ndarray) -> str:
    """The anatomical letters of an LPS direction, strongest first: (0.9, -0.4, 0) -> 'LA'."""
    vector = np.asarray(vector, dtype=float) / max(np.linalg.norm(vector), 1e-12)
    order = np.argsort(-np.abs(vector))
    letters = [LPS_LABELS[i][int(vector[i] > 0)] for i in order if abs(vector[i]) >= MARKER_MIN_COMPONENT]
    return "".join(letters) or LPS_LABELS[order[0]][int(vector[order[0]] > 0)]


def _view(affine: np.ndarray, start: np.ndarray, slice_axis: int) -> View:
    world, sign = int(start[slice_axis, 0]), start[slice_axis, 1]
    name = PLANE_NAMES[world]
    (row_world, row_sign), (col_world, col_sign) = _SCREEN[name]
    end = np.array([[world, sign], [row_world, row_sign], [col_world, col_sign]], dtype=float)
    transform = ornt_transform(start, end)  # array axis a -> (output axis, flip)
    units = affine[:3, :3] / np.linalg.norm(affine[:3, :3], axis=0)
    screen = {}
    for axis, (output, flip) in enumerate(transform):
        screen[int(output)] = flip * units[:, axis]  # direction of increasing slice / row / column
    down, right = screen[1], screen[2]
    markers = {"top": direction_letters(-down), "bottom": direction_letters(down),
               "left": direction_letters(-right), "right": direction_letters(right)}
    oblique = float(np.degrees(np.arccos(np.clip(abs(units[world, slice_axis]), 0.0, 1.0))))
    return View(ARRAY_AXES[slice_axis], name, transform, markers, round(oblique, 1))


def _array_view(axis: str) -> View:
    """Slices along array ``axis`` as stored: rows and columns are the other two axes in array order."""
    others = [a for a in range(3) if a != ARRAY_AXES.index(axis)]
    outputs = {ARRAY_AXES.index(axis): 0, others[0]: 1, others[1]: 2}
    transform = np.array([[outputs[a], 1] for a in range(3)], dtype=float)
    return View(axis, axis, transform, dict.fromkeys(("top", "bottom", "left", "right"), ""))


def views(volume: Volume) -> dict[str, View]:
    """The volume's views keyed by array axis ('z' only for a 2-D volume), in display order
    (axial, coronal, sagittal; or z, y, x without geometry)."""
    axes = ARRAY_AXES if volume.is_3d else ARRAY_AXES[:1]
    if not volume.has_geometry:
        return {a: _array_view(a) for a in axes}
    affine = voxel_affine(volume)
    start = io_orientation(affine)
    found = {a: _view(affine, start, ARRAY_AXES.index(a)) for a in axes}
    return dict(sorted(found.items(), key=lambda item: VIEW_ORDER.index(item[1].name)))


def _spatial(volume: Volume, array: np.ndarray, frame: int) -> np.ndarray:
    """The (z, y, x) array of one frame of ``array`` (shaped like the volume or its spatial part)."""
    if array.ndim == volume.array.ndim and volume.has_time:
        array = array[frame]
    return array if volume.is_3d else array[None]


def view_slice(volume: Volume, view: View, index: int, frame: int = 0,
               array: np.ndarray | None = None) -> tuple[np.ndarray, tuple[float, float]]:
    """(2-D slice as displayed, (row_mm, col_mm)) of ``array`` (default the volume's own; an overlay
    shaped like the volume or its spatial part) at slice ``index`` of ``view``."""
    turned = apply_orientation(_spatial(volume, volume.array if array is None else np.asarray(array), frame),
                               view.transform)  # (slice, row, col), a view of the input
    if not 0 <= index < turned.shape[0]:
        raise IndexError(f"slice {index} is outside 0..{turned.shape[0] - 1} of the {view.name} view")
    spacing = volume.spacing if volume.is_3d else (1.0,) + tuple(volume.spacing)
    by_output = {int(out): spacing[axis] for axis, (out, _) in enumerate(view.transform)}
    return turned[index], (by_output[1], by_output[2])


def voxel_of(volume: Volume, view: View, index: int, row: int, col: int) -> tuple[int, ...]:
    """The spatial array index (array order) shown at display (row, col) of slice ``index``."""
    shape = volume.spatial_shape if volume.is_3d else (1,) + tuple(volume.spatial_shape)
    shown = (index, row, col)
    voxel = []
    for axis, (out, flip) in enumerate(view.transform):
        position = shown[int(out)]
        voxel.append(position if flip > 0 else shape[axis] - 1 - position)
    return tuple(voxel) if volume.is_3d else tuple(voxel[1:])


def plane_volume(volume: Volume, view: View, index: int, frame: int = 0) -> Volume:
    """The displayed slice as a 2-D Volume whose geometry makes it display the same way (same markers)."""
    plane, (row_mm, col_mm) = view_slice(volume, view, index, frame)
    metadata = {k: v for k, v in volume.metadata.items() if k in ("windows", "labels", "label_names", "geometry",
                                                                  "modality", "units")}
    if not volume.has_geometry:
        return Volume(plane, spacing=(row_mm, col_mm), metadata=metadata)
    affine = voxel_affine(volume)
    units = affine[:3, :3] / np.linalg.norm(affine[:3, :3], axis=0)
    screen = {int(out): flip * units[:, axis] for axis, (out, flip) in enumerate(view.transform)}
    origin = affine[:3, :3] @ np.asarray(voxel_of(volume, view, index, 0, 0) if volume.is_3d
                                         else (0,) + voxel_of(volume, view, index, 0, 0), dtype=float) + affine[:3, 3]
    direction = np.column_stack([screen[2], screen[1], screen[0]])
    return Volume(plane, spacing=(row_mm, col_mm), origin=tuple(origin), direction=direction, metadata=metadata)
