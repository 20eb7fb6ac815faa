"""`RunBrowser`: a sortable table of training runs or Optuna trials, their curves, and "deploy this one".

The LV paper trains many settings of learning rate, decay rate and decay steps and then *selects
the optimal model for deployment*. This widget lists the runs of a folder (``training.runs``) or the
trials of an Optuna storage (``training.sweeps``) with their knobs and best metrics, sorted best
first by the ranking metric; picking a row (click, or the ``selected`` trait) draws its per-epoch
curves and shows its checkpoint; the button loads that checkpoint with
``training.checkpoints.model_from_checkpoint``, keeps the model in ``.model`` and sets the
``deployed`` trait (``{"run", "checkpoint", "count"}``), which observers see as an event.

Table columns sort in the browser too (click a header); the ``sort_by`` / ``ascending`` traits sort
in the kernel and set the initial order.
"""

from __future__ import annotations

import html
import os
from typing import Any, Callable

import ipywidgets as widgets
import numpy as np
from bokeh.layouts import column
from bokeh.models import (
    ColumnDataSource,
    DataTable,
    HoverTool,
    Legend,
    LegendItem,
    NumberFormatter,
    ScientificFormatter,
    StringFormatter,
    TableColumn,
)
from bokeh.plotting import figure
from traitlets import Bool, Dict, Unicode, observe, validate

from medinterp_widgets import render
from medinterp_widgets.training.checkpoints import model_from_checkpoint
from medinterp_widgets.widgets import bokeh_setup
from medinterp_widgets.widgets.run_sources import RunRecord, read_run_records

TABLE_WIDTH_PX = 900
ROW_PX, MAX_TABLE_PX = 25, 260
CURVE_PX = (560, 240)
CHAR_PX = 7  # approximate width of a table character, for column widths
PAPER_KNOBS = ("lr", "decay_rate", "decay_steps", "heatmap_weight")  # always shown when present


def _table_columns(records: list[RunRecord]) -> tuple[list[str], list[str]]:
    """(knob names, summary names) in first-seen order; knobs equal in every run are left out of the
    table (they are listed under it for the selected run) unless they are the paper's knobs."""
    params = list(dict.fromkeys(name for record in records for name in record.params))
    varying = [name for name in params if name in PAPER_KNOBS or len(records) < 2
               or len({repr(record.params.get(name)) for record in records}) > 1]
    summary = list(dict.fromkeys(name for record in records for name in record.summary))
    primary = records[0].primary if records else ""
    if primary in summary:  # the ranking metric first, so it is visible without scrolling
        summary.insert(0, summary.pop(summary.index(primary)))
    return varying, summary


def _column_width(title: str, texts: list[str]) -> int:
    """Pixels for a column: its title or its longest shown value, whichever is longer."""
    return CHAR_PX * max(len(text) for text in [title, *texts]) + 16


def _column_values(records: list[RunRecord], getter: Callable[[RunRecord], Any]):
    """A float64 array when every present value is a number (missing -> NaN), else strings."""
    values = [getter(record) for record in records]
    if all(v is None or (isinstance(v, (int, float)) and not isinstance(v, bool)) for v in values):
        return np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64)
    return ["" if v is None else str(v) for v in values]


def _show_choice(control: widgets.Dropdown, value: str) -> None:
    """Show ``value`` in a dropdown when it is one of its options (the trait is the source of truth)."""
    if value in control.options and control.value != value:
        control.value = value


class RunBrowser(widgets.VBox):
    """Browse runs (a runs folder) or trials (an Optuna ``.db`` file / storage URL) and deploy one.

    Traits: ``selected`` (record key), ``sort_by`` (a column name), ``ascending``, ``curve`` (metric
    name drawn, e.g. "loss", "dice_mean", "value"), ``deployed`` (set when a model is loaded), ``error``.
    """

    selected = Unicode("")
    sort_by = Unicode("")
    ascending = Bool(False)
    curve = Unicode("")
    deployed = Dict()
    error = Unicode("")

    def __init__(self, source: str | os.PathLike, *, study_name: str | None = None,
                 runs_root: str | os.PathLike | None = None, title: str = "", **kwargs):
        self.source_path = str(source)
        self._read = lambda: read_run_records(source, study_name=study_name, runs_root=runs_root)
        self.records: list[RunRecord] = []
        self.model = None
        self._filling = False
        self.table_source = ColumnDataSource({})
        self.curve_source = ColumnDataSource({"xs": [], "ys": [], "split": [], "colour": []})
        self.table = DataTable(source=self.table_source, columns=[], width=TABLE_WIDTH_PX, height=MAX_TABLE_PX,
                               sortable=True, selectable=True, index_position=None, autosize_mode="none")
        self.curves_figure = self._curves_figure()
        self.table_source.selected.on_change("indices", self._on_table_select)
        super().__init__(**kwargs)
        self._build_controls(title)
        self.refresh()
        bokeh_setup.load_bokehjs()
        self.bokeh_layout = column(self.table, self.curves_figure)
        self.plot = bokeh_setup.embed(self.bokeh_layout)
        self.children = [self.header, self.sort_row, self.plot, self.details, self.deploy_row]
        self.add_class("mi-run-browser")

    # -- public -----------------------------------------------------------------------------------
    @property
    def record(self) -> RunRecord | None:
        """The selected record (None when nothing is selected)."""
        return next((r for r in self.records if r.key == self.selected), None)

    def refresh(self) -> None:
        """Re-read the source (new runs or trials appear), keep the sort and the selection if still there."""
        try:
            self.records = self._read()
        except Exception as exc:  # a missing or broken source must not break the page
            self.error = f"could not read {self.source_path}: {type(exc).__name__}: {exc}"
            self.records = []
        else:
            self.error = ""
        previous_sort = self.sort_by
        self._params, self._summary = _table_columns(self.records)
        self._columns = ["run", "status", *self._summary[:1], *self._params, *self._summary[1:]]
        self._filling = True  # option changes below must not refill the table one by one
        try:
            self.sort_control.options = self._columns
            if previous_sort in self._columns:
                self.sort_by = previous_sort
            else:
                primary = self.records[0].primary if self.records else ""
                self.ascending = not self.records[0].maximize if self.records else False
                self.sort_by = primary if primary in self._columns else "run"
        finally:
            self._filling = False
        self._fill_table()
        if self.record is None:  # start on the best run
            self.selected = self._row_keys[0] if self._row_keys else ""

    def load_model(self, key: str | None = None, map_location: str = "cpu"):
        """Load the checkpoint of run ``key`` (default: the selected one), keep it in ``.model``, fire ``deployed``."""
        record = next((r for r in self.records if r.key == (key or self.selected)), None)
        if record is None:
            raise KeyError(f"no run {key or self.selected!r} in {self.source_path}")
        if record.checkpoint is None:
            raise FileNotFoundError(f"run {record.key!r} has no checkpoint (best.pt / last.pt)")
        self.model = model_from_checkpoint(record.checkpoint, map_location=map_location)
        self.deployed = {"run": record.key, "checkpoint": str(record.checkpoint),
                         "count": self.deployed.get("count", 0) + 1}
        return self.model

    # -- table -------------------------------------------------------------------------------------
    def _fill_table(self) -> None:
        records = self._sorted(self.records)
        getters = {"run": lambda r: r.key, "status": lambda r: r.status}
        getters.update({name: (lambda r, n=name: r.params.get(n)) for name in self._params})
        getters.update({name: (lambda r, n=name: r.summary.get(n)) for name in self._summary})
        data = {f"c{k}": _column_values(records, getters[name]) for k, name in enumerate(self._columns)}
        self._row_keys = [r.key for r in records]
        columns = []
        for k, name in enumerate(self._columns):
            formatter, text = self._formatter(data[f"c{k}"])
            columns.append(TableColumn(field=f"c{k}", title=name, formatter=formatter,
                                       width=_column_width(name, [text(v) for v in data[f"c{k}"]])))
        self.table.columns = columns
        self.table.height = min(MAX_TABLE_PX, ROW_PX * (len(records) + 1) + 8)
        self.table_source.data = data
        self._sync_table_selection()

    def _sorted(self, records: list[RunRecord]) -> list[RunRecord]:
        """Records ordered by ``sort_by``; missing values (NaN, "") last either way."""
        def value(record: RunRecord):
            raw = {"run": record.key, "status": record.status, **record.params, **record.summary}.get(self.sort_by)
            missing = raw is None or (isinstance(raw, float) and np.isnan(raw))
            return missing, raw
        present = [r for r in records if not value(r)[0]]
        absent = [r for r in records if value(r)[0]]
        try:
            present.sort(key=lambda r: value(r)[1], reverse=not self.ascending)
        except TypeError:  # mixed types in one column: compare as text
            present.sort(key=lambda r: str(value(r)[1]), reverse=not self.ascending)
        return present + absent

    @staticmethod
    def _formatter(values) -> tuple[Any, Callable[[Any], str]]:
        """(bokeh cell formatter, the same format in Python for column widths) for one column."""
        if isinstance(values, list):
            return StringFormatter(), str
        finite = values[np.isfinite(values)]
        if finite.size and np.all(finite == np.round(finite)):
            return NumberFormatter(format="0,0"), lambda v: f"{v:,.0f}"
        if finite.size and np.min(np.abs(finite[finite != 0]), initial=1.0) < 1e-2:  # learning rates
            return ScientificFormatter(precision=2, power_limit_low=0), lambda v: f"{v:.2e}"
        return NumberFormatter(format="0.0000"), lambda v: f"{v:.4f}"

    def _on_table_select(self, attr, old, new) -> None:
        if new and 0 <= new[0] < len(self._row_keys):
            self.selected = self._row_keys[new[0]]

    def _sync_table_selection(self) -> None:
        rows = [self._row_keys.index(self.selected)] if self.selected in self._row_keys else []
        if list(self.table_source.selected.indices) != rows:
            self.table_source.selected.indices = rows

    # -- curves ------------------------------------------------------------------------------------
    def _curves_figure(self):
        plot = figure(frame_width=CURVE_PX[0], frame_height=CURVE_PX[1], tools="pan,wheel_zoom,reset",
                      x_axis_label="epoch", toolbar_location="above", title="select a run")
        lines = plot.multi_line("xs", "ys", source=self.curve_source, line_color="colour", line_width=2)
        plot.add_layout(Legend(items=[LegendItem(label={"field": "split"}, renderers=[lines])]), "right")
        plot.add_tools(HoverTool(renderers=[lines], tooltips=[("", "@split"), ("epoch", "$data_x{0}"),
                                                                ("value", "$data_y{0.0000}")]))
        return plot

    def curve_names(self, record: RunRecord | None = None) -> list[str]:
        """Metric names with a curve in ``record`` (default: the selected one): "loss", "dice_mean", ..."""
        record = record or self.record
        return list(dict.fromkeys(name.rsplit("/", 1)[-1] for name in record.curves)) if record else []

    def _draw_curves(self) -> None:
        record = self.record
        matching = {name: xy for name, xy in record.curves.items()
                    if name.rsplit("/", 1)[-1] == self.curve} if record else {}
        splits = [name.rsplit("/", 1)[0] if "/" in name else name for name in matching]
        self.curve_source.data = {
            "xs": [xy[0] for xy in matching.values()],
            "ys": [xy[1].astype(np.float32) for xy in matching.values()],
            "split": splits,
            "colour": [render.LABEL_COLORS[k % len(render.LABEL_COLORS)] for k in range(len(splits))],
        }
        self.curves_figure.title.text = f"{record.key}: {self.curve}" if record else "select a run"
        self.curves_figure.yaxis.axis_label = self.curve
        self.curves_figure.xaxis.axis_label = "Optuna step" if self.curve == "value" else "epoch"

    # -- controls ----------------------------------------------------------------------------------
    def _build_controls(self, title: str) -> None:
        self.header = widgets.HTML(f"<b>{html.escape(title)}</b>" if title else "")
        self.sort_control = widgets.Dropdown(description="sort by", layout=widgets.Layout(width="300px"))
        order = widgets.Checkbox(description="ascending", indent=False, layout=widgets.Layout(width="110px"))
        self.curve_control = widgets.Dropdown(description="curve", layout=widgets.Layout(width="260px"))
        refresh = widgets.Button(description="refresh", icon="refresh", layout=widgets.Layout(width="100px"))
        refresh.on_click(lambda _: self.refresh())
        widgets.link((self, "ascending"), (order, "value"))
        for control, trait in ((self.sort_control, "sort_by"), (self.curve_control, "curve")):
            control.observe(lambda change, t=trait: change.new is not None and setattr(self, t, change.new), "value")
        self.sort_row = widgets.HBox([self.sort_control, order, self.curve_control, refresh])
        self.details = widgets.HTML()
        self.deploy_button = widgets.Button(description="load for deployment", icon="check",
                                            button_style="success", layout=widgets.Layout(width="220px"))
        self.deploy_button.on_click(lambda _: self._deploy_clicked())
        self.deploy_status = widgets.HTML()
        self.deploy_row = widgets.HBox([self.deploy_button, self.deploy_status])

    def _deploy_clicked(self) -> None:
        try:
            model = self.load_model()
        except Exception as exc:  # shown on the page; the kernel keeps running
            self.error = f"could not load the model: {type(exc).__name__}: {exc}"
            return
        self.error = ""
        self.deploy_status.value = (f"loaded <code>{type(model).__name__}</code> from "
                                    f"<code>{html.escape(self.deployed['checkpoint'])}</code>")

    def _show_details(self) -> None:
        record = self.record
        parts = [f'<span style="color:#b91c1c">{html.escape(self.error)}</span>'] if self.error else []
        if record is not None:
            knobs = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in record.params.items())
            checkpoint = html.escape(str(record.checkpoint)) if record.checkpoint else "<i>none</i>"
            parts += [f"<b>{html.escape(record.key)}</b> ({html.escape(record.status)}): {html.escape(knobs)}",
                      f"checkpoint: <code>{checkpoint}</code>"]
        self.details.value = "<br>".join(parts)
        self.deploy_button.disabled = record is None or record.checkpoint is None

    # -- trait reactions ---------------------------------------------------------------------------
    @validate("sort_by")
    def _check_sort_by(self, proposal):
        if proposal["value"] and proposal["value"] not in getattr(self, "_columns", []):
            raise ValueError(f"sort_by must be one of {getattr(self, '_columns', [])}, got {proposal['value']!r}")
        return proposal["value"]

    @observe("sort_by", "ascending")
    def _order_changed(self, change) -> None:
        _show_choice(self.sort_control, self.sort_by)
        if hasattr(self, "_columns") and not self._filling:
            self._fill_table()

    @observe("selected")
    def _selection_changed(self, change) -> None:
        self._sync_table_selection()
        names = self.curve_names()
        self.curve_control.options = names
        if names and self.curve not in names:
            preferred = self.record.default_curve if self.record else ""
            self.curve = preferred if preferred in names else names[0]
        else:
            self._draw_curves()
        self._show_details()

    @observe("curve")
    def _curve_changed(self, change) -> None:
        _show_choice(self.curve_control, self.curve)
        self._draw_curves()

    @observe("error")
    def _error_changed(self, change) -> None:
        if hasattr(self, "details"):
            self._show_details()
