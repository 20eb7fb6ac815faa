"""`SliceBrowser`: browse a Volume slice by slice (view, cine frame) with mask and heatmap overlays.

State lives in traitlets (``axis``, ``slice_index``, ``frame``, ``playing``, ``fps``, ``window_center``,
``window_width``, ``mask_mode``, ``mask_opacity``, ``colormap``, ``heatmap_opacity``,
``heatmap_threshold``, ``probe``, ``error``); the controls are linked to them, so code and users drive
the same state. ``axis`` is the array axis the slices are taken along; its view is named from the
volume's geometry (axial / coronal / sagittal, ``data.orientation``) and shown in the radiological
convention with anatomical markers. A slice step sends the raw slice plus one uint8 byte per pixel per
overlay; everything else sends no pixels. Play sends the shown slice's frames once and the browser
plays them at ``fps`` (``widgets.cine_player``); stopping keeps the frame on screen.
"""

from __future__ import annotations

import html

import ipywidgets as widgets
import numpy as np
from traitlets import Bool, Dict, Float, Int, Unicode, observe, validate

from medinterp_widgets import render
from medinterp_widgets.data import orientation
from medinterp_widgets.data.volume import Volume
from medinterp_widgets.widgets.bokeh_setup import BokehWidget, embed
from medinterp_widgets.widgets.browser_controls import build_controls, legend_html
from medinterp_widgets.widgets.image_figure import ImageFigure


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
    """The displayed 2-D slice of an overlay shaped like ``volume`` or its spatial part (then the same for
    every frame), turned like the volume's view along ``axis``."""
    return orientation.view_slice(volume, orientation.views(volume)[axis], index, frame, np.asarray(overlay))[0]


def label_names_of(volume: Volume, names: dict | None = None) -> dict[int, str]:
    """Class names of the label ids: ``names``, else the volume's ``labels`` / ``label_names`` metadata."""
    found = names if names is not None else volume.metadata.get("labels") or volume.metadata.get("label_names") or {}
    return {int(k): str(v) for k, v in dict(found).items()}


class SliceBrowser(BokehWidget, widgets.VBox):
    """Slice browser for a 2-D/3-D Volume, optionally cine (axes ("t", "z", "y", "x")).

    ``masks``: an integer label array (0 = background) shaped like the volume or its spatial part;
    ``label_names``: {id: class name} for the legend (default: the volume's metadata).
    ``heatmaps``: a float array of the same shape, shown through ``colormap`` above ``heatmap_threshold``.
    """

    axis = Unicode("z")
    slice_index = Int(0)
    slice_count = Int(1)
    frame = Int(0)
    playing = Bool(False)
    fps = Float(10.0)
    window_center = Float(0.0)
    window_width = Float(1.0)
    mask_mode = Unicode("contour")
    mask_opacity = Float(0.7)
    colormap = Unicode("jet")
    heatmap_opacity = Float(0.5)
    heatmap_threshold = Float(0.2)
    probe = Dict()
    error = Unicode("")

    def __init__(self, volume, masks=None, heatmaps=None, *, axis: str = "z", title: str = "",
                 label_names: dict | None = None, heatmap_title: str = "heatmap", **kwargs):
        self.volume = _as_volume(volume)
        self.views = orientation.views(self.volume)
        self.masks = _overlay_array(masks, self.volume, "masks")
        self.heatmaps = _overlay_array(heatmaps, self.volume, "heatmaps")
        self.label_names = label_names_of(self.volume, label_names)
        self.heatmap_title = heatmap_title
        self._heat_limits = render.heatmap_range(self.heatmaps) if self.heatmaps is not None else (0.0, 1.0)
        self.auto_window = render.auto_window(self.volume.array)
        self.presets = {"auto": self.auto_window} | {
            str(p.get("name", f"preset {i}")): (float(p["center"]), float(p["width"]))
            for i, p in enumerate(self.volume.window_presets)}
        center, width = list(self.presets.values())[min(1, len(self.presets) - 1)]  # first metadata preset
        axis = axis if axis in self.views else "z"
        index = self.n_slices(axis) // 2
        layers, self._spacing = self._read_plane(axis, index, 0)
        self.image = ImageFigure(layers, self._spacing, title=title, markers=True,
                                 label_palette=render.label_palette(self.label_names))
        self.image.set_markers(self.views[axis].markers)
        self.image.on_tap(self._on_tap)
        if self.volume.has_time:
            self.image.enable_cine().on_stop(self._stopped_at)
        super().__init__(**kwargs)
        self.set_trait("axis", axis)
        self.set_trait("slice_count", self.n_slices(axis))
        self.set_trait("slice_index", index)
        self.window_center, self.window_width = center, width
        self.controls = build_controls(self)
        self.plot = embed(self.image.figure)
        self.children = [self.controls.top, self.plot, self.controls.bottom]
        self._apply_styles()
        self._update_colorbar()
        self.add_class("mi-slice-browser")

    def set_heatmaps(self, heatmaps, title: str | None = None) -> None:
        """Show (or replace) the heatmap overlay, e.g. a new attribution map; shaped like the volume."""
        if heatmaps is None:
            raise ValueError("set_heatmaps needs an array shaped like the volume (lower heatmap_opacity to hide it)")
        self.heatmaps = _overlay_array(heatmaps, self.volume, "heatmaps")
        self._heat_limits = render.heatmap_range(self.heatmaps)
        self.heatmap_title = title or self.heatmap_title
        self._apply_styles()
        self._show(new_layers=True)
        self._update_colorbar()
        self.controls.reveal_heatmap_controls()

    def close(self) -> None:
        """Close this browser's comms: its controls, the plot view and itself."""
        self.playing = False
        controls = getattr(self, "controls", None)  # absent when __init__ failed part-way
        for widget in _descendants(controls.top) + _descendants(controls.bottom) if controls else []:
            widget.close()
        if getattr(self, "plot", None) is not None:
            widgets.DOMWidget.close(self.plot)  # jupyter_bokeh detaches from the document itself on collection
        super().close()

    # -- geometry --------------------------------------------------------------------------------
    @property
    def view(self) -> orientation.View:
        """The current view (its name, markers and how slices are turned for display)."""
        return self.views[self.axis]

    def n_slices(self, axis: str | None = None) -> int:
        """Number of slices along ``axis`` (1 for a 2-D volume)."""
        if not self.volume.is_3d:
            return 1
        return self.volume.spatial_shape[orientation.ARRAY_AXES.index(axis or self.axis)]

    def voxel_index(self, row: int, col: int) -> tuple[int, ...]:
        """Spatial voxel index (array order) of the displayed (row, col) on the current slice."""
        return orientation.voxel_of(self.volume, self.view, self.slice_index, row, col)

    def probe_at(self, row: int, col: int) -> dict:
        """Value, voxel index (array order, named by ``axes``) and patient position (mm, LPS x y z via
        ``Volume.index_to_mm``; None without geometry) at the displayed (row, col)."""
        plane, _ = orientation.view_slice(self.volume, self.view, self.slice_index, self.frame)
        if not (0 <= row < plane.shape[0] and 0 <= col < plane.shape[1]):
            raise IndexError(f"pixel ({row}, {col}) is outside the {plane.shape} slice")
        index = self.voxel_index(row, col)
        mm = [round(float(v), 3) for v in self.volume.index_to_mm(index)] if self.volume.has_geometry else None
        return {"value": plane[row, col].item(), "index": index, "axes": self.volume.spatial_axes, "mm": mm}

    def current_plane(self, overlay: np.ndarray) -> np.ndarray:
        """The displayed 2-D slice of ``overlay`` (shaped like the volume or its spatial part)."""
        return self._overlay_plane(np.asarray(overlay), self.axis, self.slice_index, self.frame)

    # -- reading slices ----------------------------------------------------------------------------
    def _read_plane(self, axis: str, index: int, frame: int):
        """({layer: 2-D array}, (row_mm, col_mm)) for one slice; raises IndexError when out of range."""
        if not 0 <= index < self.n_slices(axis):
            raise IndexError(f"slice {index} is outside 0..{self.n_slices(axis) - 1} along {axis}")
        if not 0 <= frame < self.volume.n_frames:
            raise IndexError(f"frame {frame} is outside 0..{self.volume.n_frames - 1}")
        plane, spacing = orientation.view_slice(self.volume, self.views[axis], index, frame)
        layers = {"image": render.compact_for_display(plane)}
        if self.masks is not None:
            labels = self._overlay_plane(self.masks, axis, index, frame)
            layers["mask"] = render.label_index(labels, self.mask_mode)
        if self.heatmaps is not None:
            heat = self._overlay_plane(self.heatmaps, axis, index, frame)
            layers["heat"] = render.heatmap_to_index(heat, *self._heat_limits)
        return layers, spacing

    def _overlay_plane(self, array: np.ndarray, axis: str, index: int, frame: int) -> np.ndarray:
        return orientation.view_slice(self.volume, self.views[axis], index, frame, array)[0]

    def _show(self, new_layers: bool = False) -> None:
        """Read the current slice and send it; on failure keep the last image and show the error.

        A slice of the same shape and spacing as the one shown updates only the pixel columns.
        """
        try:
            layers, spacing = self._read_plane(self.axis, self.slice_index, self.frame)
        except Exception as exc:  # a bad slice must never break the viewer
            self.error = f"could not show slice {self.slice_index} of the {self.view.name} view (frame " \
                         f"{self.frame}): {exc}"
            return
        self.error = ""
        if new_layers or spacing != self._spacing or layers["image"].shape != self.image.shape:
            self._spacing = spacing
            self.image.show_plane(layers, spacing)
        else:
            self.image.show_slice(layers)
        if self.playing:
            self._send_cine()

    # -- cine --------------------------------------------------------------------------------------
    def _send_cine(self) -> None:
        """Every frame of the shown slice to the browser's player, which plays them at ``fps``."""
        planes = [self._read_plane(self.axis, self.slice_index, t)[0] for t in range(self.volume.n_frames)]
        frames = {name: [p[name] for p in planes] for name in planes[0]
                  if any(not np.array_equal(p[name], planes[0][name]) for p in planes[1:])}
        frames.setdefault("image", [p["image"] for p in planes])
        self.image.cine.play(frames, self.fps, self.frame)

    def _stopped_at(self, frame: int) -> None:
        """The browser stopped on ``frame``: the kernel's frame (and slider) follow what is on screen."""
        if not self.playing and 0 <= frame < self.volume.n_frames:
            self.frame = frame

    @observe("playing", "fps")
    def _play_changed(self, change) -> None:
        if self.image.cine is None:
            self.set_trait("playing", False)
        elif self.playing:
            self._send_cine()
        else:
            self.image.cine.stop()

    # -- trait reactions ---------------------------------------------------------------------------
    @validate("axis")
    def _check_axis(self, proposal):
        if proposal["value"] not in orientation.ARRAY_AXES:
            raise ValueError(f"axis must be 'z', 'y' or 'x', got {proposal['value']!r}")
        return proposal["value"] if self.volume.is_3d else "z"

    @validate("mask_mode")
    def _check_mask_mode(self, proposal):
        if proposal["value"] not in ("fill", "contour"):
            raise ValueError(f"mask_mode must be 'fill' or 'contour', got {proposal['value']!r}")
        return proposal["value"]

    @validate("fps")
    def _check_fps(self, proposal):
        return float(min(max(proposal["value"], 0.5), 60.0))

    @observe("axis")
    def _axis_changed(self, change) -> None:
        self.image.set_markers(self.view.markers)
        self.probe = {}
        self.slice_count = self.n_slices()
        middle = self.slice_count // 2
        if self.slice_index == middle:
            self._show()
        else:
            self.slice_index = middle

    @observe("slice_index", "frame", "mask_mode")
    def _slice_changed(self, change) -> None:
        if change["name"] == "slice_index":
            self.probe = {}
        self._show()

    @observe("window_center", "window_width")
    def _window_changed(self, change) -> None:
        self.image.set_window(*render.window_bounds(self.window_center, self.window_width))

    @observe("colormap", "heatmap_threshold")
    def _heat_palette_changed(self, change) -> None:
        try:
            self.image.set_palette("heat", render.colormap_palette(self.colormap, self.heatmap_threshold))
            self._update_colorbar()
        except ValueError as exc:
            self.error = str(exc)

    @observe("mask_opacity", "heatmap_opacity")
    def _opacity_changed(self, change) -> None:
        self._apply_styles()

    def _apply_styles(self) -> None:
        self.image.set_opacity("mask", self.mask_opacity)
        self.image.set_opacity("heat", self.heatmap_opacity)

    def _update_colorbar(self) -> None:
        if self.heatmaps is not None and hasattr(self, "controls"):
            palette = render.colormap_palette(self.colormap, self.heatmap_threshold)
            self.image.add_colorbar(palette, *self._heat_limits, title=self.heatmap_title)

    def _on_tap(self, x_mm: float, y_mm: float) -> None:
        row_mm, col_mm = self._spacing
        try:
            self.probe = self.probe_at(int(y_mm // row_mm), int(x_mm // col_mm))
        except IndexError:
            self.probe = {}

    def describe_probe(self) -> str:
        """The probe as one line of HTML (a hint when nothing is probed)."""
        if not self.probe:
            return "<small>tap the image to read a pixel</small>"
        value = self.probe["value"]
        shown = f"{value:.5g}" if isinstance(value, float) else value
        voxel = ", ".join(f"{a} {i}" for a, i in zip(self.probe["axes"], self.probe["index"]))
        text = f"value {shown} at voxel ({voxel})"
        if self.probe["mm"] is None:
            return html.escape(text + "; no patient position (the file has no geometry)")
        mm = ", ".join(f"{v:.1f}" for v in self.probe["mm"])
        return html.escape(f"{text}; patient position {position_words(self.probe['mm'])} (LPS x, y, z = {mm} mm)")

    def legend(self) -> str:
        """The label legend as HTML: a colour swatch and class name per label id present in the masks."""
        if self.masks is None:
            return ""
        present = [int(k) for k in np.unique(self.masks) if k > 0]
        return legend_html(present, self.label_names)


def position_words(mm) -> str:
    """LPS mm as words: (-12, 8.4, 24) -> '12.0 mm R, 8.4 mm P, 24.0 mm S'."""
    letters = (("R", "L"), ("A", "P"), ("I", "S"))
    return ", ".join(f"{abs(v):.1f} mm {pair[int(v >= 0)]}" for v, pair in zip(mm, letters))


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
