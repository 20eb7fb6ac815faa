"""`AttributionViewer`: attribution maps of a model for one sample, over the image, with live scores.

State lives in traitlets: ``method``, ``layer`` (a dotted name; a module object is accepted and named;
any module with a spatial output is offered, grouped by block, the probed default marked), ``target_class``,
``region`` (segmentation: "predicted" region, given "mask", "whole" image, or the region "selected" by a
click or a brushed box on the slice: ``select_point`` / ``select_box``), ``compare`` (methods shown side by side),
``support_threshold`` (linked to the overlay threshold), ``overlap`` / ``consistent`` (scores
against the mask), ``layer_used`` (the layer the shown map was computed at), ``error``, ``busy``,
``engine_calls``. A method the model cannot run (hooks on TorchScript, gradients on ONNX) stays in the
list, marked, and says why when chosen; an unusable layer is an error line, never a raised TraitError. Maps come from
``medinterp_widgets.attribution.attribute`` and are cached per (method, layer, target, sample) in
an LRU dict. Scores: ``metrics.heatmap_overlap`` = Σh⁺m / Σh⁺ and ``metrics.consistent_degree`` =
|S ∩ M| / |M| with S = {minmax(h) >= threshold}. Errors (e.g. CAM on a model without a GAP head)
go to ``error`` and the error label; the widget never raises from a control change. Slow methods
(Score-CAM, occlusion) run in a background thread inside a kernel, with the controls disabled.
Beside each map, ``widgets.faithfulness_view`` shows its faithfulness scores (deletion / insertion,
ROAD, randomisation, localisation) once the map is up, computed off the main thread in a kernel and
cancelled on a new sample (default: on inside a kernel, where they run in the background; pass
``faithfulness=True`` / ``False`` to choose).
"""

from __future__ import annotations

import html
import math
import threading
import time

import ipywidgets as widgets
import numpy as np
from traitlets import Any, Bool, Float, Int, List, Unicode, observe, validate

from medinterp_widgets.attribution import (
    METHODS,
    RegionTarget,
    Target,
    attribute_detailed,
    available_methods,
    describe,
    method_options,
)
from medinterp_widgets.data.volume import Volume
from medinterp_widgets.metrics import consistent_degree, heatmap_overlap
from medinterp_widgets.widgets.attribution_state import (
    REGIONS,
    LRUCache,
    as_sample,
    build_target,
    describe_output,
    region_mask,
)
from medinterp_widgets.widgets.bokeh_setup import BokehWidget, in_kernel
from medinterp_widgets.widgets.browser_controls import error_html
from medinterp_widgets.widgets.click_to_explain import ClickToExplain
from medinterp_widgets.widgets.faithfulness_view import FaithfulnessPanel
from medinterp_widgets.widgets.layer_choices import layer_choices, viewer_notes
from medinterp_widgets.widgets.method_grid import MethodChecklist, MethodGrid
from medinterp_widgets.widgets.region_pick import region_at, region_in_box
from medinterp_widgets.widgets.slice_browser import SliceBrowser

PROGRESS_INTERVAL_S = 0.5


class AttributionViewer(BokehWidget, widgets.VBox):
    """Explain ``model``'s output on one sample ``x`` ((1, C, *S) or (C, H, W)); see the module docstring.

    masks: integer labels shaped like x's spatial dims (scores and the "mask" region); volume: a
    Volume of that spatial shape to display (spacing in mm), default x's first channel; target: a
    class index or a ClassTarget / RegionTarget (its class, and its mask when ``masks`` is None).
    class_names: one name per model class (the target picker and the mask legend); methods to compare
    are ticked in a column of checkboxes, each shown as a tile with the mask's contour.
    """

    method = Unicode("gradcam")
    layer = Any("")
    layer_used = Unicode("")
    selection_id = Int(0)
    target_class = Int(0)
    region = Unicode("predicted")
    compare = List(Unicode())
    support_threshold = Float(0.5)
    overlap = Float(math.nan)
    consistent = Float(math.nan)
    error = Unicode("")
    busy = Bool(False)
    engine_calls = Int(0)

    def __init__(self, model, x, *, masks=None, volume=None, methods=tuple(METHODS), layer=None, target=None,
                 class_names=None, cache_size: int = 32, threaded: bool | None = None,
                 faithfulness: bool | None = None, **kwargs):
        super().__init__(**kwargs)
        self.model, self.methods = model, [m for m in methods if m in METHODS]
        self.unavailable = {m: why for m, why in available_methods(model).items() if why and m in self.methods}
        self.cache, self.layers_used = LRUCache(cache_size), LRUCache(cache_size)
        self.threaded = in_kernel() if threaded is None else threaded
        self._lock, self._generation, self.thread = threading.Lock(), 0, None
        wanted = self.threaded if faithfulness is None else faithfulness
        self.faith = FaithfulnessPanel(self, threaded=self.threaded) if wanted else None
        runnable = [m for m in self.methods if m not in self.unavailable] or self.methods
        self.set_trait("method", "gradcam" if "gradcam" in runnable else runnable[0])
        self.sample, self.selected, self.clicks = -1, None, ClickToExplain(self)
        self._set_data(x, masks, volume, target)
        self.choices = layer_choices(model, self.x)
        self.layer_names = self.choices.names
        name, self._layer_problem = self.choices.check_layer(model, layer)
        self.set_trait("layer", name)
        self.class_names = list(class_names or [f"class {k}" for k in range(self.info.n_classes)])
        self.class_names += [f"class {k}" for k in range(len(self.class_names), self.info.n_classes)]
        first = self.compute(self.method)
        self.browser = self._new_browser(first)  # built with its first map: bokeh views start from this state
        self.grid = MethodGrid(self.browser)
        self.clicks.attach(self.browser)
        self._build_controls()
        self.add_class("mi-attribution-viewer")
        self._show(first)
        if self._layer_problem:
            self.error = self._layer_problem

    # -- data ----------------------------------------------------------------------------------------
    def _set_data(self, x, masks, volume, target=None) -> None:
        self.x = as_sample(x, self.model)
        self.info = describe_output(self.model, self.x)
        spatial = tuple(self.x.shape[2:])
        if isinstance(target, RegionTarget) and masks is None and target.mask is not None:
            masks = np.asarray(target.mask).reshape(spatial).astype(np.int64) * target.class_index
        self.masks = None if masks is None else np.asarray(masks).reshape(spatial)
        if volume is None:
            volume = Volume(self.x[0, 0].cpu().numpy(), spacing=(1.0,) * len(spatial))
        self.volume = volume
        if tuple(self.volume.array.shape) != spatial:
            raise ValueError(f"volume: shape {self.volume.array.shape} must equal x's spatial shape {spatial}")
        self.sample, self.selected = self.sample + 1, None
        self.set_trait("target_class", self._initial_class(target))
        if self.info.task == "segmentation" and self.region != "whole":  # the given mask when there is one
            self.set_trait("region", "mask" if self.masks is not None else "predicted")

    def _initial_class(self, target) -> int:
        if isinstance(target, Target):
            target = getattr(target, "class_index", getattr(target, "index", None))
        if target is None:
            return self.info.predicted
        return int(target)

    def set_sample(self, x, *, masks=None, volume=None) -> None:
        """Explain a new sample (e.g. another slice); the cache keeps earlier samples' maps."""
        if self.faith is not None:
            self.faith.cancel()  # scores of the old sample are no longer wanted
        self._set_data(x, masks, volume, self.target_class)
        first = self.compute(self.method)
        old = self.browser
        self.browser = self._new_browser(first)
        self.grid.close()
        self.grid = MethodGrid(self.browser)
        self.clicks.attach(self.browser)
        self._link_threshold()
        self.view_row.children = [self._main_row(), self._side_panel()]
        old.close()
        self._show(first)
        self._update_grid()

    def _new_browser(self, first) -> SliceBrowser:
        """A SliceBrowser already showing ``first`` (a map, or zeros for an error) at the support threshold;
        jupyter_bokeh sends a view the figure as it was when embedded, so nothing is left to patch."""
        heat = first if isinstance(first, np.ndarray) else np.zeros(self.volume.array.shape, np.float32)
        names = dict(enumerate(self.class_names)) if self.info.task == "segmentation" else None
        return SliceBrowser(self.volume, self.masks, heat, title="attribution", label_names=names,
                            heatmap_title=f"{self.method} map", heatmap_threshold=self.support_threshold)

    # -- computing -----------------------------------------------------------------------------------
    def cache_key(self, method: str) -> tuple:
        """(method, layer, target, region, sample); input-level methods ignore the layer."""
        layer = self.layer if describe(method).uses_layer else ""
        region = self.region if self.info.task == "segmentation" else ""
        if region == "selected":
            region = f"selected {self.selection_id}"
        return method, layer, self.target_class, region, self.sample

    def compute(self, method: str) -> np.ndarray | str:
        """The map (float32, x's spatial shape) for ``method`` at the current settings, or an error text."""
        key = self.cache_key(method)
        if key in self.cache:
            return self.cache.get(key)
        try:
            target = build_target(self.info, self.target_class, self.region, self.masks, self.selected)
            options = method_options(method, tuple(self.x.shape[2:]))
            layer = (self.layer or None) if describe(method).uses_layer else None
            with self._lock:
                self.engine_calls += 1
                result = attribute_detailed(self.model, self.x, method=method, target=target, layer=layer,
                                            **options)
            value = result.map[0].detach().float().cpu().numpy()  # (*S)
            self.layers_used.put(key, result.layer_name or "")
        except Exception as error:  # shown in the error label, never raised into the front end
            value = f"{method}: {type(error).__name__}: {error}"
        self.cache.put(key, value)
        return value

    # -- click to explain (``click_to_explain``) -------------------------------------------------------
    def select_point(self, index: tuple[int, ...]) -> None:
        """Explain the predicted structure under voxel ``index``: its class, inside its connected region."""
        self.clicks.select(lambda labels: region_at(labels, index))

    def select_box(self, box: tuple[slice, ...]) -> None:
        """Explain the class mostly predicted inside ``box`` (voxel slices), in the box."""
        self.clicks.select(lambda labels: region_in_box(labels, box))

    def update(self) -> None:
        """Show the selected method's map (computing it if needed) and refresh the comparison grid."""
        method = self.method
        if describe(method).slow and self.threaded and self.cache_key(method) not in self.cache:
            self._start_background(method)
        else:
            self._show(self.compute(method))
        self._update_grid()

    def _start_background(self, method: str) -> None:
        self._generation += 1
        generation, started, done = self._generation, time.monotonic(), threading.Event()
        self.busy = True

        def say_elapsed():
            seconds = time.monotonic() - started
            self.status.value = f"<i>computing {html.escape(method)} (many forward passes) … {seconds:.0f} s</i>"

        def tick():  # elapsed time twice a second while the engine runs (the kernel stays responsive)
            while not done.wait(PROGRESS_INTERVAL_S):
                say_elapsed()

        ticker = threading.Thread(target=tick, daemon=True)

        def work():
            try:
                value = self.compute(method)
            finally:
                done.set()
                ticker.join()
            if generation == self._generation:
                self._show(value)
            self.busy = False

        say_elapsed()
        ticker.start()
        self.thread = threading.Thread(target=work, daemon=True)
        self.thread.start()

    def _show(self, value) -> None:
        if isinstance(value, str):
            self.error, self.heatmap = value, np.zeros(self.x.shape[2:], np.float32)
        else:
            self.error, self.heatmap = "", value
        used = self.layers_used.get(self.cache_key(self.method), "") if not self.error else ""
        self.layer_used = used
        self.browser.set_heatmaps(self.heatmap, title=f"{self.method} map")
        empty = not self.error and not np.any(self.heatmap > 0)
        self.status.value = ("<small>the map has no positive value: the target may be empty (no pixel of this "
                             "class predicted?) or the evidence is all negative</small>" if empty else "")
        self._update_scores()
        if self.faith is not None:
            self.faith.request(self.method, value, self.faith.main)

    def _update_grid(self) -> None:
        maps = {m: self.compute(m) for m in self.compare if m in self.methods}
        mask = region_mask(self.masks, self.target_class, self.info.task)
        titles = {m: f"{m} · overlap {heatmap_overlap(v, mask):.2f}" for m, v in maps.items()
                  if mask is not None and not isinstance(v, str)}
        self.grid.set_maps(maps, titles)
        if self.faith is not None:
            self.faith.show_grid(self.grid, maps)

    def _update_scores(self) -> None:
        mask = region_mask(self.masks, self.target_class, self.info.task)
        if mask is None or self.error:
            self.overlap = self.consistent = math.nan
        else:
            self.overlap = heatmap_overlap(self.heatmap, mask)
            self.consistent = consistent_degree(self.heatmap, mask, self.support_threshold)
        self.scores_label.value = self.describe_scores()

    def describe_scores(self) -> str:
        """One line of HTML with the overlap and the consistent degree (or why there are none)."""
        if self.masks is None:
            return "<small>no mask: overlap and consistent degree need one</small>"
        if self.error:
            return ""
        show = lambda v: "n/a" if math.isnan(v) else f"{v:.3f}"  # noqa: E731
        pixels = int(np.count_nonzero(region_mask(self.masks, self.target_class, self.info.task)))
        return (f"overlap Σh⁺m/Σh⁺ = <b>{show(self.overlap)}</b> &nbsp; consistent degree |S∩M|/|M| "
                f"(S: map ≥ {self.support_threshold:.2f}) = <b>{show(self.consistent)}</b> "
                f"<small>(mask: {pixels} px)</small>")

    # -- controls -----------------------------------------------------------------------------------
    def _build_controls(self) -> None:
        style, wide = {"description_width": "60px"}, widgets.Layout(width="260px")
        self.method_box = widgets.Dropdown(options=[(self.method_label(m), m) for m in self.methods],
                                           description="method", style=style, layout=wide)
        self.layer_box = widgets.Dropdown(options=self.choices.options or [("(no layer to choose)", "")],
                                          description="layer", style=style, layout=wide)
        self.class_box = widgets.Dropdown(options=[(n, k) for k, n in enumerate(self.class_names)],
                                          description="target", style=style, layout=wide)
        self.region_box = widgets.ToggleButtons(options=list(REGIONS), description="region",
                                                style={"description_width": "60px", "button_width": "80px"})
        self.compare_box = MethodChecklist(self.methods)
        self.compare_box.relabel({m: self.method_label(m) for m in self.methods})
        self.threshold_slider = widgets.FloatSlider(min=0, max=1, step=0.01, description="support ≥",
                                                    style={"description_width": "80px"}, continuous_update=True)
        for control, name in ((self.method_box, "method"), (self.layer_box, "layer"),
                              (self.class_box, "target_class"), (self.region_box, "region"),
                              (self.threshold_slider, "support_threshold")):
            control.value = getattr(self, name)
            widgets.link((self, name), (control, "value"))
        widgets.link((self.compare_box, "value"), (self, "compare"), transform=(list, tuple))
        self.error_label, self.status, self.scores_label = widgets.HTML(), widgets.HTML(), widgets.HTML()
        self.error_label.add_class("mi-error")
        self.notes = widgets.HTML(self.describe_notes())
        self.notes.add_class("mi-viewer-notes")
        self._link_threshold()
        self.view_row = widgets.VBox([self._main_row(), self._side_panel()])
        self.region_box.layout.display = None if self.info.task == "segmentation" else "none"
        self.children = [widgets.HBox([self.method_box, self.layer_box, self.class_box]),
                         widgets.HBox([self.region_box, self.threshold_slider]),
                         self.notes, self.scores_label, self.error_label, self.status, self.view_row]
        self._sync_layer_box()

    def _main_row(self) -> widgets.Widget:
        return self.browser if self.faith is None else widgets.HBox([self.browser, self.faith.main])

    def _side_panel(self) -> widgets.HBox:
        return widgets.HBox([self.compare_box, self.grid])

    def _link_threshold(self) -> None:
        widgets.link((self, "support_threshold"), (self.browser, "heatmap_threshold"))

    def _sync_layer_box(self) -> None:
        self.layer_box.disabled = not describe(self.method).uses_layer or not self.choices.options

    def method_label(self, method: str) -> str:
        """The method list's label: the name, marked when the model cannot run it."""
        return f"{method} (not for this model)" if method in self.unavailable else method

    def describe_notes(self) -> str:
        """The layer the map was computed at, and which methods this model cannot run and why."""
        return viewer_notes(self.model, self.layer_used, self.choices.default, self.unavailable)

    # -- trait reactions ----------------------------------------------------------------------------
    @validate("method")
    def _check_method(self, proposal):
        if proposal["value"] not in self.methods:
            raise ValueError(f"method: got {proposal['value']!r}, expected one of {self.methods}")
        return proposal["value"]

    @validate("layer")
    def _check_layer(self, proposal):
        """A dotted name or a module; an unusable one leaves the layer as it was and says why in the panel."""
        if not hasattr(self, "choices"):
            return proposal["value"]
        name, problem = self.choices.check_layer(self.model, proposal["value"])
        if problem:
            self.error = problem
            return self.layer
        return name

    @validate("region")
    def _check_region(self, proposal):
        if proposal["value"] not in REGIONS:
            raise ValueError(f"region: got {proposal['value']!r}, expected one of {REGIONS}")
        return proposal["value"]

    @observe("method", "layer", "target_class", "region", "selection_id")
    def _setting_changed(self, change) -> None:
        if hasattr(self, "view_row"):
            self._sync_layer_box()
            self.update()

    @observe("compare")
    def _compare_changed(self, change) -> None:
        if hasattr(self, "view_row"):
            self._update_grid()

    @observe("support_threshold")
    def _threshold_changed(self, change) -> None:
        if hasattr(self, "view_row"):
            self._update_scores()

    @observe("busy")
    def _busy_changed(self, change) -> None:
        for control in (self.method_box, self.layer_box, self.class_box, self.region_box, self.compare_box):
            control.disabled = change["new"]
        if not change["new"]:
            self._sync_layer_box()

    @observe("error")
    def _error_changed(self, change) -> None:
        self.error_label.value = error_html(change["new"])

    @observe("layer_used")
    def _layer_used_changed(self, change) -> None:
        if hasattr(self, "notes"):
            self.notes.value = self.describe_notes()

    def close(self) -> None:
        if getattr(self, "faith", None) is not None:
            self.faith.close()
        for child in (getattr(self, "grid", None), getattr(self, "browser", None)):
            if child is not None:
                child.close()
        super().close()
