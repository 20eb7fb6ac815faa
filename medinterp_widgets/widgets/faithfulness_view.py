"""Faithfulness scores beside the maps of an ``AttributionViewer`` (issue 16).

Each map shown (the selected method's, and every map of the method-comparison grid) gets a
``ScoreCard``: a small table (deletion AUC, insertion AUC, ROAD, randomisation pass / fail and, when
the sample has a mask, pointing game, energy pointing game and relevance mass) and a toggle that opens
the map's deletion / insertion curve. The scores come from ``attribution.faithfulness.evaluate_maps``
(no maths here) and are computed after the map appears: inside a kernel in one background worker
thread, on a private deep copy of the model taken once under the viewer's engine lock (so hooks of a
map being computed meanwhile never see the worker's forwards), polled for cancellation between steps; a
new sample (slice change) cancels what is queued or running. Results are cached per (method, layer,
target, region, sample) like the maps. A method whose map fails the randomisation check gets a ✗ in
the method list and the compare list.
"""

from __future__ import annotations

import atexit
import copy
import html
import math
import queue
import threading
import weakref
from dataclasses import dataclass
from typing import Any

import ipywidgets as widgets
import numpy as np
import torch
from bokeh.plotting import figure

from medinterp_widgets.attribution import describe, method_options, model_access
from medinterp_widgets.attribution.faithfulness import (
    DEFAULT_PERCENTAGES,
    FaithfulnessCancelled,
    FaithfulnessReport,
    evaluate_maps,
)
from medinterp_widgets.widgets.attribution_state import LRUCache, build_target, region_mask
from medinterp_widgets.widgets.bokeh_setup import embed

FAIL_MARK = " ✗ randomisation"
_STOP = object()  # tells the worker thread to end
ROWS = (("deletion_auc", "deletion AUC ↓"), ("insertion_auc", "insertion AUC ↑"), ("road", "ROAD LeRF−MoRF ↑"),
        ("pointing_game", "pointing game ↑"), ("energy_pointing_game", "energy pointing g. ↑"),
        ("relevance_mass", "relevance mass ↑"))
_LIVE_PANELS: weakref.WeakSet = weakref.WeakSet()  # panels whose worker may still run at interpreter exit
EXIT_JOIN_TIMEOUT_S = 10.0


@atexit.register
def _stop_workers_at_exit() -> None:
    """Cancel and join every panel's worker before the interpreter finalises: a daemon thread still
    inside a torch op while the runtime tears down aborts the process ("terminate called ...")."""
    for panel in list(_LIVE_PANELS):
        panel.stop_worker(EXIT_JOIN_TIMEOUT_S)


def _number(value: float) -> str:
    return "n/a" if value is None or math.isnan(value) else f"{value:.3f}"


def describe_report(report: FaithfulnessReport) -> str:
    """The score table of one sample's report as HTML."""
    scores = report.sample(0)
    rows = [(label, _number(scores[key])) for key, label in ROWS if key in scores]
    if "randomisation_passed" in scores:
        rho = scores["randomisation_similarity"]
        verdict = ("<span style='color:#1b7f3b'>pass</span>" if scores["randomisation_passed"] else
                   "<b style='color:#b00020'>FAIL</b>")
        rows.insert(3, ("randomisation |ρ| &lt; " f"{report.randomisation.threshold:g}",
                        f"{verdict} {'n/a' if math.isnan(rho) else f'{rho:.2f}'}"))
    cells = "".join(f"<tr><td>{label}</td><td style='text-align:right;padding-left:8px'>{value}</td></tr>"
                    for label, value in rows)
    return f"<table class='mi-faith-table' style='font-size:11px;line-height:1.3'>{cells}</table>"


class ScoreCard(widgets.VBox):
    """One map's score table and its click-to-open deletion / insertion curve."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.key: tuple | None = None
        self.report: FaithfulnessReport | None = None
        self.table = widgets.HTML()
        self.toggle = widgets.ToggleButton(description="deletion / insertion curve", disabled=True,
                                           layout=widgets.Layout(width="200px"))
        self.toggle.observe(lambda change: self._show_curve(change["new"]), names="value")
        self.curve: widgets.Widget | None = None
        self.children = [self.table, self.toggle]
        self.add_class("mi-faith-card")

    def pending(self, key: tuple, method: str) -> None:
        self._reset(key)
        self.table.value = f"<small><i>scoring {html.escape(method)} …</i></small>"

    def failed(self, key: tuple, text: str) -> None:
        self._reset(key)
        self.table.value = f"<small style='color:#b00020'>{html.escape(text)}</small>"

    def show(self, key: tuple, report: FaithfulnessReport) -> None:
        self._reset(key)
        self.report = report
        self.table.value = describe_report(report)
        self.toggle.disabled = report.curves is None

    def _reset(self, key: tuple) -> None:
        self.key, self.report = key, None
        self.toggle.value, self.toggle.disabled = False, True
        self._drop_curve()

    def _show_curve(self, show: bool) -> None:
        if not show or self.report is None or self.report.curves is None:
            self._drop_curve()
            return
        curves = self.report.curves
        plot = figure(width=240, height=170, x_range=(0, 1), toolbar_location=None,
                      x_axis_label="fraction of pixels", title="deletion ↓ / insertion ↑")
        for name, colour in (("deletion", "#b00020"), ("insertion", "#1f77b4")):
            values = getattr(curves, name)
            if values is not None:
                plot.line(curves.fractions, values[0], color=colour, legend_label=name, line_width=2)
        plot.legend.location, plot.legend.label_text_font_size = "center_right", "9px"
        self.curve = embed(plot)
        self.children = [self.table, self.toggle, self.curve]

    def _drop_curve(self) -> None:
        if self.curve is not None:
            self.children = [self.table, self.toggle]
            widgets.DOMWidget.close(self.curve)
            self.curve = None


@dataclass(frozen=True)
class _Job:
    generation: int
    key: tuple
    method: str
    heatmap: np.ndarray
    options: dict


class FaithfulnessPanel:
    """Schedules and shows the scores of a viewer's maps (module docstring); ``main`` is the selected
    map's card, ``cards[method]`` those of the comparison grid."""

    def __init__(self, viewer, *, threaded: bool, steps: int = 32, road_percentages=DEFAULT_PERCENTAGES):
        self.viewer, self.threaded = viewer, threaded
        self.steps, self.road_percentages = steps, tuple(road_percentages)
        self.main = ScoreCard()
        self.cards: dict[str, ScoreCard] = {}
        self.results = LRUCache(128)
        self.failing: dict[str, bool] = {}
        self._lock = threading.Lock()  # guards results, _queued and the cards' keys
        self._queued: set[tuple] = set()
        self._generation = 0
        self._jobs: queue.Queue[_Job | object] = queue.Queue()  # jobs, or _STOP
        self._worker: threading.Thread | None = None
        self._model = None

    # -- requests (main thread) --------------------------------------------------------------------
    def request(self, method: str, value: Any, card: ScoreCard) -> None:
        """Show ``method``'s scores for the map ``value`` (an array, or an error text) on ``card``."""
        key = self.viewer.cache_key(method)
        if isinstance(value, str):
            card.failed(key, "no map, no scores")
            return
        with self._lock:
            found = self.results.get(key)
            if found is None:
                card.pending(key, method)
                if key in self._queued:
                    return
                self._queued.add(key)
        if found is not None:
            self._deliver_to(card, key, found)
            return
        job = _Job(self._generation, key, method, value, self._options(method))
        if self.threaded:
            self._ensure_worker()
            self._jobs.put(job)
        else:
            self._run(job)

    def card_for(self, method: str) -> ScoreCard:
        """The grid card of ``method`` (made on first use)."""
        if method not in self.cards:
            self.cards[method] = ScoreCard()
        return self.cards[method]

    def cancel(self) -> None:
        """Abandon every queued and running job (a new sample is coming)."""
        with self._lock:
            self._generation += 1
            self._queued.clear()

    def show_grid(self, grid, maps: dict[str, Any]) -> None:
        """A card under each map of the comparison ``grid`` (a MethodGrid), scored like the main map."""
        for method, value in maps.items():
            card = self.card_for(method)
            grid.set_footer(method, card)
            self.request(method, value, card)

    def wait(self, timeout: float = 60.0) -> bool:
        """Block until every queued job is done (for tests); True when idle in time."""
        done = threading.Event()
        threading.Thread(target=lambda: (self._jobs.join(), done.set()), daemon=True).start()
        return done.wait(timeout)

    def stop_worker(self, timeout: float | None = None) -> None:
        """Cancel every job and end the worker thread (waiting up to ``timeout`` s for it)."""
        self.cancel()
        worker = self._worker
        if worker is not None and worker.is_alive():
            self._jobs.put(_STOP)
            worker.join(timeout)

    def close(self) -> None:
        self.stop_worker(timeout=0)
        for card in [self.main, *self.cards.values()]:
            card.close()

    # -- work (worker thread, or inline) -------------------------------------------------------------
    def _options(self, method: str) -> dict:
        viewer = self.viewer
        spatial = tuple(viewer.x.shape[2:])
        mask = region_mask(viewer.masks, viewer.target_class, viewer.info.task)
        randomise = ["randomisation"] if model_access(viewer.model).hooks else []  # plain modules: weights to reset
        metrics = ["deletion", "insertion", *randomise, "localisation"] + (["road"] if len(spatial) == 2 else [])
        target = build_target(viewer.info, viewer.target_class, viewer.region, viewer.masks, viewer.selected)
        return dict(x=viewer.x, target=target, layer=(viewer.layer or None) if describe(method).uses_layer else None,
                    mask=None if mask is None else torch.from_numpy(mask)[None],
                    method_kwargs=method_options(method, spatial), metrics=metrics)

    def _model_copy(self):
        """The worker's own copy of the viewer's model, made once, under the engine lock (no engine call
        is running then, so the copy carries no hooks); only the worker uses it."""
        if self._model is None:
            with self.viewer._lock:
                self._model = copy.deepcopy(self.viewer.model)
        return self._model

    def _ensure_worker(self) -> None:
        if self._worker is None or not self._worker.is_alive():
            self._worker = threading.Thread(target=self._serve, daemon=True, name="faithfulness")
            self._worker.start()
            _LIVE_PANELS.add(self)

    def _serve(self) -> None:
        while True:
            job = self._jobs.get()
            try:
                if job is _STOP:
                    return
                self._run(job)
            finally:
                self._jobs.task_done()

    def _run(self, job: _Job) -> None:
        stale = lambda: job.generation != self._generation  # noqa: E731
        if stale():
            return
        options = dict(job.options)
        x = options.pop("x")
        try:
            model = self._model_copy()
            report = evaluate_maps(model, x, torch.from_numpy(np.asarray(job.heatmap))[None].to(x.device),
                                   method=job.method, steps=self.steps, road_percentages=self.road_percentages,
                                   should_stop=stale, **options)
        except FaithfulnessCancelled:
            return
        except Exception as error:  # shown on the card, never raised into the front end
            report = f"{job.method} scores: {type(error).__name__}: {error}"
        with self._lock:
            self._queued.discard(job.key)
            if stale():
                return
            self.results.put(job.key, report)
            cards = [c for c in (self.main, *self.cards.values()) if c.key == job.key]
        for card in cards:
            self._deliver_to(card, job.key, report)

    def _deliver_to(self, card: ScoreCard, key: tuple, report: FaithfulnessReport | str) -> None:
        if isinstance(report, str):
            card.failed(key, report)
            return
        card.show(key, report)
        passed = report.values.get("randomisation_passed")
        if passed is not None and key == self.viewer.cache_key(key[0]):
            self.failing[key[0]] = not bool(passed[0])
            self.relabel()

    def relabel(self) -> None:
        """Mark the failing methods in the method list and the compare checkboxes (labels only: values stay)."""
        def label(method) -> str:
            return f"{self.viewer.method_label(method)}{FAIL_MARK if self.failing.get(method) else ''}"

        box = self.viewer.method_box
        labels = tuple(label(v) for v in getattr(box, "_options_values", ()))
        if labels != tuple(box._options_labels):
            box.set_trait("_options_labels", labels)
        self.viewer.compare_box.relabel({m: label(m) for m in self.viewer.compare_box.boxes})
