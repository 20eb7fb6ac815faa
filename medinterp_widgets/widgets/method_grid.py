"""`MethodGrid`: small side-by-side views of several attribution maps on the slice a SliceBrowser shows,
and `MethodChecklist`, the checkboxes that pick them.

Each cell is an ImageFigure (raw slice + uint8 heatmap levels + the mask's contour, binary buffers)
that follows the browser's slice, window, colormap, threshold and opacity, titled with the method and
its score; a method that failed shows its error text.
"""

from __future__ import annotations

import html

import ipywidgets as widgets
import numpy as np
from traitlets import Tuple

from medinterp_widgets import render
from medinterp_widgets.data import orientation
from medinterp_widgets.widgets.bokeh_setup import embed
from medinterp_widgets.widgets.image_figure import ImageFigure

CELL_SIDE_PX = 200


class MethodGrid(widgets.GridBox):
    """A grid of one small figure per method, linked to ``browser``'s display state."""

    def __init__(self, browser, *, cell_side: int = CELL_SIDE_PX, columns: int = 3, **kwargs):
        super().__init__(layout=widgets.Layout(grid_template_columns=f"repeat({columns}, auto)",
                                               grid_gap="6px"), **kwargs)
        self.browser, self.cell_side = browser, cell_side
        self.maps: dict[str, np.ndarray | str] = {}
        self.titles: dict[str, str] = {}
        self.figures: dict[str, ImageFigure] = {}
        self._cells: dict[str, widgets.Widget] = {}
        self.footers: dict[str, widgets.Widget] = {}  # shown under a method's cell (e.g. its scores)
        self._boxes: dict[str, widgets.VBox] = {}
        browser.observe(lambda _: self.refresh(), names=["slice_index", "axis", "frame"])
        browser.observe(lambda _: self._restyle(), names=["window_center", "window_width", "colormap",
                                                          "heatmap_threshold", "heatmap_opacity"])
        self.add_class("mi-method-grid")

    def set_maps(self, maps: dict[str, np.ndarray | str], titles: dict[str, str] | None = None) -> None:
        """Show ``{method: map shaped like the volume, or an error message}`` in this order, each cell titled
        ``titles[method]`` (default the method)."""
        self.maps = dict(maps)
        self.titles = {m: (titles or {}).get(m, m) for m in self.maps}
        for method in [m for m in self._cells if m not in self.maps or m not in self.figures]:
            self._drop(method)  # gone, or an error cell that may have a new message
        self.refresh()
        self._layout()

    def set_footer(self, method: str, footer: widgets.Widget) -> None:
        """Show ``footer`` under ``method``'s cell (kept while the method stays in the grid)."""
        self.footers[method] = footer
        self._layout()

    def _layout(self) -> None:
        children = []
        for method in self.maps:
            cell, footer = self._cells[method], self.footers.get(method)
            if footer is None:
                children.append(cell)
                continue
            box = self._boxes.setdefault(method, widgets.VBox())
            box.children = [cell, footer]
            children.append(box)
        self.children = children

    def _layers(self, heatmap: np.ndarray) -> tuple[dict[str, np.ndarray], tuple[float, float]]:
        browser = self.browser
        plane, spacing = orientation.view_slice(browser.volume, browser.view, browser.slice_index, browser.frame)
        heat = browser.current_plane(heatmap)
        levels = render.heatmap_to_index(heat, *render.heatmap_range(heatmap))
        layers = {"image": render.compact_for_display(plane), "heat": levels}
        if browser.masks is not None:  # the contour of every label, drawn over the map
            layers["mask"] = render.label_index(browser.current_plane(browser.masks), "contour")
        return layers, spacing

    def refresh(self) -> None:
        """Redraw every cell for the browser's current slice."""
        for method, value in self.maps.items():
            if isinstance(value, str):
                if method in self._cells and method not in self.figures:
                    continue  # the error cell is already shown
                self._drop(method)
                self._cells[method] = widgets.HTML(
                    f"<b>{html.escape(method)}</b><br><span style='color:#b00020'>{html.escape(value)}</span>",
                    layout=widgets.Layout(width=f"{self.cell_side}px"))
                continue
            layers, spacing = self._layers(value)
            if method in self.figures:
                self.figures[method].show_plane(layers, spacing)
                self.figures[method].figure.title.text = self.titles.get(method, method)
                continue
            self._drop(method)
            figure = ImageFigure(layers, spacing, title=self.titles.get(method, method), max_side=self.cell_side,
                                 label_palette=render.label_palette(self.browser.label_names))
            figure.figure.toolbar_location = None
            figure.figure.axis.visible = False
            self._style(figure)  # before embedding: a view starts from the figure as it is now
            self.figures[method] = figure
            self._cells[method] = embed(figure.figure)

    def _style(self, figure: ImageFigure) -> None:
        browser = self.browser
        figure.set_window(*render.window_bounds(browser.window_center, browser.window_width))
        figure.set_palette("heat", render.colormap_palette(browser.colormap, browser.heatmap_threshold))
        figure.set_opacity("heat", browser.heatmap_opacity)
        figure.set_opacity("mask", 1.0)

    def _restyle(self) -> None:
        for figure in self.figures.values():
            self._style(figure)

    def _drop(self, method: str) -> None:
        cell = self._cells.pop(method, None)
        self.figures.pop(method, None)
        if cell is not None:
            widgets.DOMWidget.close(cell)  # as SliceBrowser.close: jupyter_bokeh detaches on collection

    def close(self) -> None:
        for method in list(self._cells):
            self._drop(method)
        for box in self._boxes.values():
            box.close()
        super().close()


class MethodChecklist(widgets.VBox):
    """One checkbox per method; ``value`` is the tuple of ticked methods in the given order."""

    value = Tuple()

    def __init__(self, methods: list[str], **kwargs):
        self.boxes = {m: widgets.Checkbox(description=m, indent=False, layout=widgets.Layout(width="170px"))
                      for m in methods}
        super().__init__([widgets.HTML("<small>compare</small>"), *self.boxes.values()], **kwargs)
        for box in self.boxes.values():
            box.observe(lambda _: self.set_trait("value", tuple(m for m, b in self.boxes.items() if b.value)),
                        names="value")
        self.observe(self._ticked, names="value")
        self.add_class("mi-compare")

    def relabel(self, labels: dict[str, str]) -> None:
        """Show ``labels[method]`` beside each method's checkbox (e.g. a failure mark); values stay."""
        for method, text in labels.items():
            if method in self.boxes:
                self.boxes[method].description = text

    def _ticked(self, change) -> None:
        for method, box in self.boxes.items():
            box.value = method in change["new"]

    @property
    def disabled(self) -> bool:
        return all(box.disabled for box in self.boxes.values())

    @disabled.setter
    def disabled(self, value: bool) -> None:
        for box in self.boxes.values():
            box.disabled = value
