"""The bokeh side of a slice viewer: one ColumnDataSource, up to three image glyphs, colour mappers.

The data source holds the raw slice (int16/uint16/uint8/float32, never float64) and uint8 index
images for the mask and the heatmap. Colour happens in the browser: window/level is the grey
mapper's ``low``/``high``, labels and heatmap levels index 256-colour palettes, so changing the
window, colormap, threshold or opacity sends a few bytes and no pixels. The y range is flipped so
row 0 is drawn at the top; ``dw``/``dh`` are the slice's extent in mm (physical aspect).

With ``markers=True`` the four axes carry no numbers, only the anatomical letter of their side
(``set_markers``); ``add_colorbar`` draws the heatmap's colour bar in its own value range, and
``cine`` plays a slice's frames in the browser (``widgets.cine_player``).
"""

from __future__ import annotations

from typing import Callable

import numpy as np
from bokeh.events import Tap
from bokeh.models import ColorBar, ColumnDataSource, HoverTool, LinearAxis, LinearColorMapper, Range1d
from bokeh.plotting import figure

from medinterp_widgets import render
from medinterp_widgets.widgets.cine_player import CinePlayer

MAX_SIDE_PX = 480
LAYERS = ("image", "mask", "heat")


def frame_size(extent_mm: tuple[float, float], max_side: int = MAX_SIDE_PX) -> tuple[int, int]:
    """(width_px, height_px) of a frame showing ``(width_mm, height_mm)`` at equal mm per pixel."""
    width_mm, height_mm = extent_mm
    scale = max_side / max(width_mm, height_mm)
    return max(int(round(width_mm * scale)), 40), max(int(round(height_mm * scale)), 40)


class ImageFigure:
    """A bokeh figure drawing a raw slice with optional label and heatmap overlays."""

    def __init__(self, layers: dict[str, np.ndarray], spacing: tuple[float, float], *, title: str = "",
                 max_side: int = MAX_SIDE_PX, markers: bool = False, label_palette: list[str] | None = None):
        self.max_side = max_side
        self.mappers = {
            "image": LinearColorMapper(palette=render.colormap_palette("gray"), low=0, high=1, nan_color="black"),
            "mask": LinearColorMapper(palette=label_palette or render.label_palette(), low=0, high=render.N_LEVELS),
            "heat": LinearColorMapper(palette=render.colormap_palette("jet"), low=0, high=render.N_LEVELS),
        }
        self.source = ColumnDataSource(self._columns(layers, spacing))
        extent = self._extent(layers["image"].shape, spacing)
        width_px, height_px = frame_size(extent, max_side)
        self.figure = figure(
            title=title, x_range=Range1d(0, extent[0]), y_range=Range1d(extent[1], 0),
            frame_width=width_px, frame_height=height_px, tools="pan,wheel_zoom,reset,tap",
            active_scroll="wheel_zoom", toolbar_location="above",
        )
        self.figure.grid.visible = False
        self.renderers = {}
        self._add_missing_renderers(layers)
        self.figure.add_tools(HoverTool(renderers=[self.renderers["image"]], tooltips=[("value", "@image")]))
        self.marker_axes = self._marker_axes() if markers else {}
        self.colorbar: ColorBar | None = None
        self.cine: CinePlayer | None = None

    def _marker_axes(self) -> dict[str, LinearAxis]:
        """Axes on all four sides without ticks or numbers; their labels are the anatomical markers."""
        for side in ("above", "right"):
            self.figure.add_layout(LinearAxis(), side)
        found = {"bottom": self.figure.below[0], "left": self.figure.left[0],
                 "top": self.figure.above[-1], "right": self.figure.right[-1]}
        for axis in found.values():
            axis.update(major_label_text_font_size="0px", major_tick_line_color=None, minor_tick_line_color=None,
                        axis_line_color=None, axis_label_text_font_style="bold", axis_label_text_font_size="15px",
                        axis_label_standoff=2, axis_label_text_color="#c05000", axis_label_orientation="horizontal")
        return found

    def set_markers(self, markers: dict[str, str]) -> None:
        """The anatomical letters at the top, bottom, left and right of the image ('' hides one)."""
        for side, axis in self.marker_axes.items():
            axis.axis_label = markers.get(side, "") or None

    def add_colorbar(self, palette: list[str], low: float, high: float, title: str = "") -> None:
        """A colour bar for the heatmap: ``palette`` spread over its values ``low``..``high``."""
        if self.colorbar is None:
            mapper = LinearColorMapper(palette=palette, low=low, high=high)
            self.colorbar = ColorBar(color_mapper=mapper, title=title, width=12, title_text_font_size="11px")
            self.figure.add_layout(self.colorbar, "right")
        else:
            self.colorbar.color_mapper.update(palette=palette, low=low, high=max(high, low + 1e-12))
            self.colorbar.title = title

    def enable_cine(self) -> CinePlayer:
        """The browser-side cine player of this figure, with a frame counter in its top-left corner."""
        if self.cine is None:
            labels = ColumnDataSource({"x": [0.0], "y": [0.0], "text": [""]})
            self.figure.text(x="x", y="y", text="text", source=labels, text_color="#ffff66", text_font_size="12px",
                             x_offset=4, y_offset=4, text_baseline="top")
            self.cine = CinePlayer(self.source, labels)
            self.figure.tags = [self.cine.cine, self.cine.report]  # puts them in the document the page syncs
        return self.cine

    def _add_missing_renderers(self, layers: dict[str, np.ndarray]) -> None:
        """One image glyph per layer present; drawn in LAYERS order (image, mask above it, heatmap on top)."""
        for name in LAYERS:
            if name in layers and name not in self.renderers:
                self.renderers[name] = self.figure.image(image=name, x=0, y=0, dw="dw", dh="dh", source=self.source,
                                                         color_mapper=self.mappers[name], name=name)
        order = {renderer: i for i, renderer in enumerate(self.renderers[n] for n in LAYERS if n in self.renderers)}
        self.figure.renderers = sorted(self.figure.renderers, key=lambda r: order.get(r, len(order)))  # text on top

    @staticmethod
    def _extent(shape: tuple[int, int], spacing: tuple[float, float]) -> tuple[float, float]:
        """(width_mm, height_mm) = (cols * d_col, rows * d_row)."""
        return shape[1] * spacing[1], shape[0] * spacing[0]

    def _columns(self, layers: dict[str, np.ndarray], spacing: tuple[float, float]) -> dict:
        width_mm, height_mm = self._extent(layers["image"].shape, spacing)
        return {**{name: [array] for name, array in layers.items()}, "dw": [width_mm], "dh": [height_mm]}

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, cols) of the slice shown."""
        return tuple(self.source.data["image"][0].shape)

    def show_slice(self, layers: dict[str, np.ndarray]) -> None:
        """Replace the slice layers (same shape) that changed: one ColumnDataChanged message with binary
        buffers, or none. Unchanged layers (a spatial-only mask while cine frames step) are not re-sent,
        so the browser neither receives nor re-colours them."""
        changed = {name: [array] for name, array in layers.items()
                   if not np.array_equal(self.source.data[name][0], array)}
        if changed:
            self.source.data.update(changed)

    def show_plane(self, layers: dict[str, np.ndarray], spacing: tuple[float, float]) -> None:
        """Show a slice of another shape/spacing (axis change, new overlay): extent, ranges, frame size."""
        self.source.data = self._columns(layers, spacing)
        self._add_missing_renderers(layers)
        width_mm, height_mm = self._extent(layers["image"].shape, spacing)
        self.figure.x_range.update(start=0, end=width_mm)
        self.figure.y_range.update(start=height_mm, end=0)
        self.figure.frame_width, self.figure.frame_height = frame_size((width_mm, height_mm), self.max_side)

    def set_window(self, low: float, high: float) -> None:
        self.mappers["image"].update(low=float(low), high=float(high))

    def set_palette(self, layer: str, palette: list[str]) -> None:
        self.mappers[layer].palette = palette

    def set_opacity(self, layer: str, opacity: float) -> None:
        if layer in self.renderers:
            self.renderers[layer].glyph.global_alpha = float(opacity)

    def on_tap(self, callback: Callable[[float, float], None]) -> None:
        """Call ``callback(x_mm, y_mm)`` when the user taps the image."""
        self.figure.on_event(Tap, lambda event: callback(event.x, event.y))
