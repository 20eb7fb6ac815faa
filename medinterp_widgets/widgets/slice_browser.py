"""`SliceBrowser`: browse a Volume slice by slice (axis, cine frame) with mask and heatmap overlays.

State lives in traitlets (``axis``, ``slice_index``, ``frame``, ``window_center``, ``window_width``,
``mask_mode``, ``mask_opacity``, ``colormap``, ``heatmap_opacity``, ``heatmap_threshold``, ``probe``,
``error``); the controls are linked to them, so code and users drive the same state. A slice step
sends the raw slice plus one uint8 byte per pixel per overlay; everything else sends no pixels.
"""

from __future__ import annotations

import html

import ipywidgets as widgets
import numpy as np
from traitlets import Dict, Float, Int, Unicode, observe, validate

from medinterp_widgets import render
from medinterp_widgets.data.volume import Volume
from medinterp_widgets.widgets.bokeh_setup import embed
from medinterp_widgets.widgets.browser_controls import build_controls
from medinterp_widgets.widgets.image_figure import ImageFigure

_PLANE_AXES = {"z": (0, 1, 2), "y": (1, 0, 2), "x": (2, 0, 1)}  # slice, row, col positions in (z, y, x)


def _as_volume(volume: Volume | np.ndarray) -> Volume:
    return volume if isinstance(volume, Volume) else Volume(np.asarray(volume), spacing=(1.0,) * np.ndim(volume))


def _overlay_array(overlay, volume: Volume, name: str) -> np.ndarray | None:
    """The overlay as an array shaped like the volume (a spatial-only overlay is reused for every frame)."""
    if overlay is None:
        return None
    array = np.asarray(overlay.array if isinstance(overlay, Volume) else overlay)
    if array.shape not in (volume.array.shape, volume.spatial_shape):
        raise ValueError(f"{name} shape {array.shape} must equal the volume shape {volume.array.shape} "
                         f"or its spatial shape {volume.spatial_shape}")
    return array


def overlay_plane(volume: Volume, overlay: np.ndarray, axis: str, index: int, frame: int = 0) -> np.ndarray:
    """The 2-D slice of an overlay shaped like ``volume`` or its spatial part (then the same for every frame)."""
    has_time = overlay.ndim == volume.array.ndim and volume.has_time
    axes = volume.axes if has_time else volume.spatial_axes
    return Volume(overlay, spacing=volume.spacing, axes=axes).slice2d(axis, index, frame if has_time else 0)[0]


class SliceBrowser(widgets.VBox):
    """Slice browser for a 2-D/3-D Volume, optionally cine (axes ("t", "z", "y", "x")).

    ``masks``: an integer label array (0 = background) shaped like the volume or its spatial part.
    ``heatmaps``: a float array of the same shape, shown through ``colormap`` above ``heatmap_threshold``.
    """

    axis = Unicode("z")
    slice_index = Int(0)
    slice_count = Int(1)
    frame = Int(0)
    window_center = Float(0.0)
    window_width = Float(1.0)
    mask_mode = Unicode("contour")
    mask_opacity = Float(0.7)
    colormap = Unicode("jet")
    heatmap_opacity = Float(0.5)
    heatmap_threshold = Float(0.2)
    probe = Dict()
    error = Unicode("")

    def __init__(self, volume, masks=None, heatmaps=None, *, axis: str = "z", title: str = "", **kwargs):
        self.volume = _as_volume(volume)
        self.masks = _overlay_array(masks, self.volume, "masks")
        self.heatmaps = _overlay_array(heatmaps, self.volume, "heatmaps")
        self._heat_limits = render.heatmap_range(self.heatmaps) if self.heatmaps is not None else (0.0, 1.0)
        self.auto_window = render.auto_window(self.volume.array)
        self.presets = {"auto": self.auto_window} | {
            str(p.get("name", f"preset {i}")): (float(p["center"]), float(p["width"]))
            for i, p in enumerate(self.volume.window_presets)}
        center, width = list(self.presets.values())[min(1, len(self.presets) - 1)]  # first metadata preset
        axis = axis if self.volume.is_3d else "z"
        index = self.n_slices(axis) // 2
        layers, self._spacing = self._read_plane(axis, index, 0)
        self.image = ImageFigure(layers, self._spacing, title=title)
        self.image.on_tap(self._on_tap)
        super().__init__(**kwargs)
        self.set_trait("axis", axis)
        self.set_trait("slice_count", self.n_slices(axis))
        self.set_trait("slice_index", index)
        self.window_center, self.window_width = center, width
        self.controls = build_controls(self)
        self.plot = embed(self.image.figure)
        self.children = [self.controls.top, self.plot, self.controls.bottom]
        self._apply_styles()
        self.add_class("mi-slice-browser")

    def set_heatmaps(self, heatmaps) -> None:
        """Show (or replace) the heatmap overlay, e.g. a new attribution map; shaped like the volume."""
        if heatmaps is None:
            raise ValueError("set_heatmaps needs an array shaped like the volume (lower heatmap_opacity to hide it)")
        self.heatmaps = _overlay_array(heatmaps, self.volume, "heatmaps")
        self._heat_limits = render.heatmap_range(self.heatmaps)
        self._apply_styles()
        self._show(new_layers=True)
        self.controls.reveal_heatmap_controls()

    def close(self) -> None:
        """Close this browser's comms: its controls, the plot view and itself."""
        controls = getattr(self, "controls", None)  # absent when __init__ failed part-way
        for widget in _descendants(controls.top) + _descendants(controls.bottom) if controls else []:
            widget.close()
        if getattr(self, "plot", None) is not None:
            widgets.DOMWidget.close(self.plot)  # jupyter_bokeh detaches from the document itself on collection
        super().close()

    # -- geometry --------------------------------------------------------------------------------
    def n_slices(self, axis: str | None = None) -> int:
        """Number of slices along ``axis`` (1 for a 2-D volume)."""
        if not self.volume.is_3d:
            return 1
        return self.volume.spatial_shape[_PLANE_AXES[axis or self.axis][0]]

    def voxel_index(self, row: int, col: int) -> tuple[int, ...]:
        """Spatial voxel index (array order) of in-plane (row, col) on the current slice."""
        if not self.volume.is_3d:
            return (row, col)
        index = [0, 0, 0]
        slot_slice, slot_row, slot_col = _PLANE_AXES[self.axis]
        index[slot_slice], index[slot_row], index[slot_col] = self.slice_index, row, col
        return tuple(index)

    def probe_at(self, row: int, col: int) -> dict:
        """Value, voxel index and patient position (mm, x y z via ``Volume.index_to_mm``) at (row, col)."""
        plane, _ = self.volume.slice2d(self.axis, self.slice_index, self.frame)
        if not (0 <= row < plane.shape[0] and 0 <= col < plane.shape[1]):
            raise IndexError(f"pixel ({row}, {col}) is outside the {plane.shape} slice")
        index = self.voxel_index(row, col)
        value = plane[row, col]
        return {"value": value.item(), "index": index, "mm": [round(v, 3) for v in self.volume.index_to_mm(index)]}

    def current_plane(self, overlay: np.ndarray) -> np.ndarray:
        """The 2-D slice of ``overlay`` (shaped like the volume or its spatial part) now on screen."""
        return self._overlay_plane(np.asarray(overlay), self.axis, self.slice_index, self.frame)

    # -- reading slices ----------------------------------------------------------------------------
    def _read_plane(self, axis: str, index: int, frame: int):
        """({layer: 2-D array}, (row_mm, col_mm)) for one slice; raises IndexError when out of range."""
        if not 0 <= index < self.n_slices(axis):
            raise IndexError(f"slice {index} is outside 0..{self.n_slices(axis) - 1} along {axis}")
        if not 0 <= frame < self.volume.n_frames:
            raise IndexError(f"frame {frame} is outside 0..{self.volume.n_frames - 1}")
        plane, spacing = self.volume.slice2d(axis, index, frame)
        layers = {"image": render.compact_for_display(plane)}
        if self.masks is not None:
            labels = self._overlay_plane(self.masks, axis, index, frame)
            layers["mask"] = render.label_index(labels, self.mask_mode)
        if self.heatmaps is not None:
            heat = self._overlay_plane(self.heatmaps, axis, index, frame)
            layers["heat"] = render.heatmap_to_index(heat, *self._heat_limits)
        return layers, spacing

    def _overlay_plane(self, array: np.ndarray, axis: str, index: int, frame: int) -> np.ndarray:
        return overlay_plane(self.volume, array, axis, index, frame)

    def _show(self, new_layers: bool = False) -> None:
        """Read the current slice and send it; on failure keep the last image and show the error.

        A slice of the same shape and spacing as the one shown updates only the pixel columns.
        """
        try:
            layers, spacing = self._read_plane(self.axis, self.slice_index, self.frame)
        except Exception as exc:  # a bad slice must never break the viewer
            self.error = f"could not show slice {self.slice_index} ({self.axis}, frame {self.frame}): " \
                         f"{type(exc).__name__}: {exc}"
            return
        self.error = ""
        if new_layers or spacing != self._spacing or layers["image"].shape != self.image.shape:
            self._spacing = spacing
            self.image.show_plane(layers, spacing)
        else:
            self.image.show_slice(layers)

    # -- trait reactions ---------------------------------------------------------------------------
    @validate("axis")
    def _check_axis(self, proposal):
        if proposal["value"] not in _PLANE_AXES:
            raise ValueError(f"axis must be 'z', 'y' or 'x', got {proposal['value']!r}")
        return proposal["value"] if self.volume.is_3d else "z"

    @validate("mask_mode")
    def _check_mask_mode(self, proposal):
        if proposal["value"] not in ("fill", "contour"):
            raise ValueError(f"mask_mode must be 'fill' or 'contour', got {proposal['value']!r}")
        return proposal["value"]

    @observe("axis")
    def _axis_changed(self, change) -> None:
        self.slice_count = self.n_slices()
        middle = self.slice_count // 2
        if self.slice_index == middle:
            self._show()
        else:
            self.slice_index = middle

    @observe("slice_index", "frame", "mask_mode")
    def _slice_changed(self, change) -> None:
        self._show()

    @observe("window_center", "window_width")
    def _window_changed(self, change) -> None:
        self.image.set_window(*render.window_bounds(self.window_center, self.window_width))

    @observe("colormap", "heatmap_threshold")
    def _heat_palette_changed(self, change) -> None:
        try:
            self.image.set_palette("heat", render.colormap_palette(self.colormap, self.heatmap_threshold))
        except ValueError as exc:
            self.error = str(exc)

    @observe("mask_opacity", "heatmap_opacity")
    def _opacity_changed(self, change) -> None:
        self._apply_styles()

    def _apply_styles(self) -> None:
        self.image.set_opacity("mask", self.mask_opacity)
        self.image.set_opacity("heat", self.heatmap_opacity)

    def _on_tap(self, x_mm: float, y_mm: float) -> None:
        row_mm, col_mm = self._spacing
        try:
            self.probe = self.probe_at(int(y_mm // row_mm), int(x_mm // col_mm))
        except IndexError:
            self.probe = {}

    def describe_probe(self) -> str:
        """The probe as one line of HTML (empty when nothing is probed)."""
        if not self.probe:
            return "tap the image to probe a pixel"
        mm = ", ".join(f"{v:.1f}" for v in self.probe["mm"])
        value = self.probe["value"]
        shown = f"{value:.5g}" if isinstance(value, float) else value
        return html.escape(f"value {shown} at voxel {tuple(self.probe['index'])}  ->  ({mm}) mm")


def _descendants(widget: widgets.Widget) -> list[widgets.Widget]:
    """``widget`` and every widget inside it (boxes, depth first)."""
    found = [widget]
    for child in getattr(widget, "children", ()):
        found += _descendants(child)
    return found


def link_browsers(a: SliceBrowser, b: SliceBrowser,
                  names: tuple[str, ...] = ("axis", "slice_index", "frame", "window_center", "window_width")):
    """Keep ``names`` equal on two browsers (two-way traitlets links); returns the links (``.unlink()``)."""
    return [widgets.link((a, name), (b, name)) for name in names]
