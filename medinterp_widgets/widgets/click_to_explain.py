"""Click to explain: a tap or a brushed box on the viewer's slice picks the region a segmentation model
is explained for (``AttributionViewer.select_point`` / ``select_box``; ``region_pick`` says which).

A tap arrives through the SliceBrowser's ``probe`` (the voxel under the pointer, any axis of a 3-D
volume); a box through a bokeh box-select tool on the slice figure (``SelectionGeometry``, the final
rectangle in mm), turned into voxel corners on the slice shown. Both are plain Python callbacks, so a
test can call ``on_box`` with millimetres just as the browser does.
"""

from __future__ import annotations

from bokeh.events import SelectionGeometry
from bokeh.models import BoxSelectTool, ColumnDataSource

from medinterp_widgets.widgets.region_pick import box_slices

__all__ = ["ClickToExplain"]


class ClickToExplain:
    """Connects a viewer's SliceBrowser (``attach``) to the viewer's region selection."""

    def __init__(self, viewer):
        self.viewer = viewer
        self.browser = None

    def attach(self, browser) -> None:
        """Follow taps and box selections on ``browser`` (the previous browser is let go)."""
        if self.browser is not None:
            self.browser.unobserve(self._on_probe, names="probe")
        self.browser = browser
        browser.observe(self._on_probe, names="probe")
        figure = browser.image.figure
        target = figure.scatter(x="x", y="y", source=ColumnDataSource({"x": [], "y": []}), alpha=0)  # hit-testable
        tool = BoxSelectTool(dimensions="both", renderers=[target], description="brush a region to explain")
        figure.add_tools(tool)
        figure.on_event(SelectionGeometry, self._on_selection)

    def select(self, pick) -> None:
        """Apply ``pick(labels) -> (class, mask)`` on the predicted label map: the viewer's region becomes
        "selected" with that class and mask (one map update). Classifiers have no region: a tap only probes."""
        viewer = self.viewer
        if viewer.info.task != "segmentation" or viewer.info.labels is None or viewer.busy:
            return
        try:
            class_index, mask = pick(viewer.info.labels)
        except (IndexError, ValueError) as error:
            viewer.error = f"selection: {error}"
            return
        viewer.selected = mask
        with viewer.hold_trait_notifications():
            viewer.target_class, viewer.region = class_index, "selected"
            viewer.selection_id += 1

    def _on_probe(self, change) -> None:
        probe = change["new"]
        if probe and "index" in probe:
            self.viewer.select_point(tuple(probe["index"]))

    def _on_selection(self, event) -> None:
        geometry = event.geometry or {}
        if getattr(event, "final", True) and geometry.get("type") == "rect":
            self.on_box(geometry["x0"], geometry["x1"], geometry["y0"], geometry["y1"])

    def on_box(self, x0_mm: float, x1_mm: float, y0_mm: float, y1_mm: float) -> None:
        """A box from (x0, y0) to (x1, y1) in mm on the slice shown (x: columns, y: rows)."""
        browser = self.browser
        row_mm, col_mm = browser._spacing
        rows, cols = browser.image.shape
        corner = lambda x, y: browser.voxel_index(min(max(int(y // row_mm), 0), rows - 1),  # noqa: E731
                                                  min(max(int(x // col_mm), 0), cols - 1))
        first, second = corner(x0_mm, y0_mm), corner(x1_mm, y1_mm)
        self.viewer.select_box(box_slices(first, second, browser.volume.spatial_shape))
