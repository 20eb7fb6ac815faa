"""`EmbeddingViewer`: PCA / kernel PCA / t-SNE scatter of feature vectors, coloured by class.

The numbers come from ``metrics.embedding.embed``; this module only shows them. 2-D: one bokeh
scatter. 3-D: bokeh has no 3-D plot, so the viewer shows **three linked 2-D projections** (axes
1-2, 1-3, 2-3) drawn from one data source: a lasso/box selection in any panel highlights the same
points in the others (and sets the ``selected`` trait to the original sample indices).

Rows are sent grouped by class (the ``index`` column keeps each point's sample number) so that the
legend lists classes in label order. Colours are stable: class k always gets ``render.LABEL_COLORS[k % 20]``
(k = the integer label, or
the position of a string label among the sorted class names). Hovering a point shows its class,
index and, when ``images`` are given, a thumbnail (PNG data URIs, computed once at construction).
Results are cached per (method, dims, seed); ``precomputed`` coordinates (e.g. the ones a pipeline saved)
fill that cache, and with every shown setting precomputed ``features`` may be None. Methods costlier
than O(n d) run on a stratified subsample above ``point_limits[method]`` points, and the ``notice``
trait (shown above the plot) says so; nothing is subsampled silently.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import ipywidgets as widgets
import numpy as np
from bokeh.layouts import row
from bokeh.models import ColumnDataSource, HoverTool, Legend, LegendItem
from bokeh.plotting import figure
from traitlets import Int, List, Unicode, observe, validate

from medinterp_widgets import render
from medinterp_widgets.metrics._arrays import to_numpy
from medinterp_widgets.metrics.embedding import EMBEDDING_METHODS, embed, subsample_indices
from medinterp_widgets.widgets import bokeh_setup
from medinterp_widgets.widgets.thumbnails import thumbnail_uris

METHOD_TITLES = {"pca": "PCA", "kpca-linear": "kernel PCA (linear)", "kpca-rbf": "kernel PCA (RBF)",
                 "tsne": "t-SNE"}
AXIS_NAMES = {"pca": "PC", "kpca-linear": "kPC", "kpca-rbf": "kPC", "tsne": "t-SNE "}
POINT_LIMITS = {"pca": None, "kpca-linear": 3000, "kpca-rbf": 3000, "tsne": 2000}  # None = all points
PANELS = ((0, 1), (0, 2), (1, 2))  # axis pairs of the 3-D projections; panel 0 is also the 2-D view
COLUMNS = ("a", "b", "c")
PANEL_PX = 340
PANEL_3D_PX = 250  # three panels side by side fit a 1200 px page


@dataclass(frozen=True)
class EmbeddingResult:
    """One cached embedding: ``coords[k]`` places sample ``indices[k]``."""

    indices: np.ndarray  # (m,) int64, sorted
    coords: np.ndarray  # (m, dims) float32
    notice: str = ""


def class_keys(labels: Any, class_names: Sequence[str] | Mapping[Any, str] | None = None):
    """(name per sample, colour per sample, [(name, colour)] legend order) with stable colours."""
    values = to_numpy(labels, "labels").reshape(-1)
    uniques = np.unique(values)
    if values.dtype.kind in "iub":
        slots = {value: int(value) for value in uniques}
    else:
        slots = {value: k for k, value in enumerate(uniques)}
    names = {value: _class_name(value, class_names) for value in uniques}
    colours = {value: render.LABEL_COLORS[slots[value] % len(render.LABEL_COLORS)] for value in uniques}
    legend = [(names[v], colours[v]) for v in sorted(uniques, key=lambda v: slots[v])]
    return [names[v] for v in values], [colours[v] for v in values], legend


def _class_name(value: Any, class_names) -> str:
    if class_names is None:
        return str(value)
    if isinstance(class_names, Mapping):
        return str(class_names.get(value, value))
    index = int(value) if np.issubdtype(type(value), np.integer) else -1
    return str(class_names[index]) if 0 <= index < len(class_names) else str(value)


class EmbeddingViewer(widgets.VBox):
    """Scatter of ``features`` (n, ...) embedded in 2-D/3-D, coloured by ``labels`` (n,).

    ``precomputed``: {(method, dims): coords (n, dims)} already embedded with ``seed`` (shown without
    recomputing); ``features`` may then be None (a setting missing from it shows an error instead).
    ``images`` (n, ...) add hover thumbnails; ``class_names`` (list indexed by integer label, or a
    mapping) names the classes. Traits: ``method``, ``dims``, ``seed``, ``notice``, ``error``,
    ``selected`` (original indices of the points selected in the plot).
    """

    method = Unicode("pca")
    dims = Int(2)
    seed = Int(0)
    notice = Unicode("")
    error = Unicode("")
    selected = List(Int())

    def __init__(self, features, labels, images=None, *, class_names=None, method: str = "pca", dims: int = 2,
                 seed: int = 0, point_limits: Mapping[str, int | None] | None = None, title: str = "",
                 precomputed: Mapping[tuple[str, int], Any] | None = None, **kwargs):
        if features is None and not precomputed:
            raise ValueError("features: expected an (n, ...) array, or precomputed coordinates, got neither")
        self.features = features
        self.labels = to_numpy(labels, "labels").reshape(-1)
        self.n = int(self.labels.shape[0])
        rows = self.n if features is None else int(to_numpy(features, "features").shape[0])
        if rows != self.n:
            raise ValueError(f"labels: expected {rows} labels (one per feature row), got {self.n}")
        self.point_limits = {**POINT_LIMITS, **(point_limits or {})}
        self.class_of, self.colour_of, self.legend_entries = class_keys(self.labels, class_names)
        rank = {name: k for k, (name, _) in enumerate(self.legend_entries)}
        self._legend_rank = np.array([rank[name] for name in self.class_of])  # (n,) position in the legend
        self.thumbnails = thumbnail_uris(images) if images is not None else None
        if self.thumbnails is not None and len(self.thumbnails) != self.n:
            raise ValueError(f"images: expected {self.n} images (one per feature row), got {len(self.thumbnails)}")
        self._cache: dict[tuple[str, int, int], EmbeddingResult] = self._precomputed(precomputed or {}, seed)
        self._indices = np.arange(0)
        self.source = ColumnDataSource(self._columns(EmbeddingResult(np.arange(0), np.zeros((0, 3), np.float32))))
        self.figures = [self._panel(pair, legend=k == 0) for k, pair in enumerate(PANELS)]
        self.source.selected.on_change("indices", self._on_select)
        super().__init__(**kwargs)
        self.set_trait("seed", seed)
        self.set_trait("dims", dims)
        self.method = method
        self._show()
        bokeh_setup.load_bokehjs()
        self.bokeh_layout = row(*self.figures)
        self.plot = bokeh_setup.embed(self.bokeh_layout)
        self.controls = self._controls()
        self.title = widgets.HTML(f"<b>{html.escape(title)}</b>" if title else "")
        self.children = [self.title, self.controls, self.status, self.plot]
        self.add_class("mi-embedding-viewer")

    # -- computing -------------------------------------------------------------------------------
    def result(self, method: str | None = None, dims: int | None = None, seed: int | None = None) -> EmbeddingResult:
        """The embedding for a setting (default: the current one), computed once and cached."""
        key = (method or self.method, dims or self.dims, self.seed if seed is None else seed)
        if key not in self._cache:
            self._cache[key] = self._compute(*key)
        return self._cache[key]

    def _precomputed(self, coordinates: Mapping[tuple[str, int], Any], seed: int) -> dict:
        """Cache entries for given coordinates; each must place all n samples in ``dims`` axes."""
        cache = {}
        for (method, dims), coords in coordinates.items():
            array = to_numpy(coords, f"precomputed[{method!r}, {dims}]").astype(np.float32)
            if method not in EMBEDDING_METHODS or array.shape != (self.n, dims):
                raise ValueError(f"precomputed[{method!r}, {dims}]: expected a method of {EMBEDDING_METHODS} and "
                                 f"shape ({self.n}, {dims}), got shape {array.shape}")
            cache[(method, dims, seed)] = EmbeddingResult(np.arange(self.n), array)
        return cache

    def _compute(self, method: str, dims: int, seed: int) -> EmbeddingResult:
        if self.features is None:
            raise ValueError(f"no features to embed and no precomputed {METHOD_TITLES[method]} {dims}-D "
                             f"coordinates for seed {seed}")
        limit = self.point_limits.get(method)
        indices = subsample_indices(self.n, limit, seed, self.labels) if limit else np.arange(self.n)
        features = to_numpy(self.features, "features")
        rows = features if len(indices) == self.n else features[indices]  # (m, ...)
        notice = ""
        if len(indices) < self.n:
            notice = (f"{METHOD_TITLES[method]} shows {len(indices)} of {self.n} points: a stratified random "
                      f"subsample (seed {seed}); its cost grows faster than n. PCA shows every point.")
        return EmbeddingResult(indices, embed(rows, method, dims, seed), notice)

    # -- bokeh -----------------------------------------------------------------------------------------
    def _columns(self, result: EmbeddingResult) -> dict[str, Any]:
        coords = np.zeros((len(result.indices), 3), dtype=np.float32)
        coords[:, :result.coords.shape[1]] = result.coords  # (m, 3); unused axes stay 0
        picked = result.indices.tolist()
        columns = {name: np.ascontiguousarray(coords[:, k]) for k, name in enumerate(COLUMNS)}
        columns.update(index=result.indices.astype(np.int32), label=[self.class_of[i] for i in picked],
                       colour=[self.colour_of[i] for i in picked])
        if self.thumbnails is not None:
            columns["thumb"] = [self.thumbnails[i] for i in picked]
        return columns

    def _panel(self, pair: tuple[int, int], legend: bool):
        panel = figure(frame_width=PANEL_PX, frame_height=PANEL_PX, active_scroll="wheel_zoom",
                       tools="pan,wheel_zoom,box_select,lasso_select,reset", toolbar_location="above")
        glyph = panel.scatter(COLUMNS[pair[0]], COLUMNS[pair[1]], source=self.source, size=7, fill_color="colour",
                              line_color="white", line_width=0.5, fill_alpha=0.85,
                              nonselection_fill_alpha=0.15, nonselection_line_alpha=0.15)
        panel.add_tools(HoverTool(renderers=[glyph], tooltips=self._tooltip()))
        if legend:
            items = [LegendItem(label={"field": "label"}, renderers=[glyph])]
            panel.add_layout(Legend(items=items, location="top_left", label_text_font_size="9pt"), "right")
        return panel

    def _tooltip(self) -> str:
        picture = ('<img src="@thumb" style="width:64px;height:64px;object-fit:contain;'
                   'image-rendering:pixelated;background:#000"/>' if self.thumbnails is not None else "")
        return f'<div style="font-size:11px">{picture}<div><b>@label</b> · #@index</div></div>'

    def _show(self) -> None:
        """Send the current setting's coordinates (computed or cached); on failure keep the last view."""
        if (self.method, self.dims, self.seed) not in self._cache:
            self.notice = f"computing {METHOD_TITLES[self.method]} in {self.dims}-D ..."
        try:
            result = self.result()
        except Exception as exc:  # a failed embedding must never break the viewer
            self.notice = ""
            self.error = f"could not compute {self.method} in {self.dims}-D: {type(exc).__name__}: {exc}"
            return
        self.error = ""
        order = np.argsort(self._legend_rank[result.indices], kind="stable")  # rows grouped in legend order
        shown = EmbeddingResult(result.indices[order], result.coords[order], result.notice)
        self._indices = shown.indices
        self.source.selected.indices = []
        self.source.data = self._columns(shown)
        self.notice = result.notice
        name = AXIS_NAMES[self.method]
        for k, (panel, (first, second)) in enumerate(zip(self.figures, PANELS)):
            panel.visible = k == 0 or self.dims == 3
            panel.frame_width = panel.frame_height = PANEL_PX if self.dims == 2 else PANEL_3D_PX
            panel.xaxis.axis_label, panel.yaxis.axis_label = f"{name}{first + 1}", f"{name}{second + 1}"
            panel.title.text = f"{METHOD_TITLES[self.method]} ({first + 1}-{second + 1})" if self.dims == 3 \
                else METHOD_TITLES[self.method]

    def _on_select(self, attr, old, new) -> None:
        self.selected = sorted(int(self._indices[k]) for k in new if 0 <= k < len(self._indices))

    # -- controls --------------------------------------------------------------------------------------
    def _controls(self) -> widgets.HBox:
        method = widgets.Dropdown(options=[(METHOD_TITLES[m], m) for m in EMBEDDING_METHODS], description="method",
                                  layout=widgets.Layout(width="260px"))
        dims = widgets.ToggleButtons(options=[("2-D", 2), ("3-D (3 projections)", 3)],
                                     style={"button_width": "140px"})
        widgets.link((self, "method"), (method, "value"))
        widgets.link((self, "dims"), (dims, "value"))
        self.status = widgets.HTML()
        self._render_status()
        return widgets.HBox([method, dims])

    @observe("notice", "error")
    def _render_status(self, change=None) -> None:
        if not hasattr(self, "status"):
            return
        parts = [f'<span style="color:#b45309">&#9888; {html.escape(self.notice)}</span>'] if self.notice else []
        parts += [f'<span style="color:#b91c1c">{html.escape(self.error)}</span>'] if self.error else []
        self.status.value = "<br>".join(parts)

    # -- traits ----------------------------------------------------------------------------------------
    @validate("method")
    def _check_method(self, proposal):
        if proposal["value"] not in EMBEDDING_METHODS:
            raise ValueError(f"method must be one of {EMBEDDING_METHODS}, got {proposal['value']!r}")
        return proposal["value"]

    @validate("dims")
    def _check_dims(self, proposal):
        if proposal["value"] not in (2, 3):
            raise ValueError(f"dims must be 2 or 3, got {proposal['value']!r}")
        return proposal["value"]

    @observe("method", "dims", "seed")
    def _setting_changed(self, change) -> None:
        if hasattr(self, "plot"):
            self._show()


def link_settings(viewers: Sequence[EmbeddingViewer]) -> list[widgets.link]:
    """Link ``method`` and ``dims`` of several viewers (side-by-side comparisons change together)."""
    return [widgets.link((viewers[0], name), (other, name)) for other in viewers[1:] for name in ("method", "dims")]
