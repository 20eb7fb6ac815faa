"""Paper 3 app: the heatmap-loss report (tables, statistics, figures) and a map-overlay slice browser.

``build(report_dir=None)`` shows a written report folder (``medinterp reproduce heatmap-loss --out``)
when given; the "run smoke preset" button trains the tiny smoke study in the kernel (seconds) and
shows its report plus the test images with heart masks and the chosen group's HiResCAM maps.
"""

from __future__ import annotations

import html
from pathlib import Path

import ipywidgets as widgets
import numpy as np

from medinterp_widgets.pipelines.report import comparisons_html, html_table, read_report, tables_html
from medinterp_widgets.widgets.report_views import figure_panels, report_html
from medinterp_widgets.widgets.slice_browser import SliceBrowser

SMOKE_STUDIES = ("exp2:ce", "exp2:hirescam")


def overlay_browser(results, dataset: str, loss: str, model_id: int = 0) -> SliceBrowser:
    """Slice browser over the kept test images of ``dataset``: heart masks and ``loss`` model maps."""
    data, model = results.data[dataset], results.groups[dataset][loss][model_id]
    count = model.maps.shape[0]
    volume = data.test.images[:count, 0].numpy()  # (N, H, W): one test image per slice
    return SliceBrowser(volume, masks=data.test.heart[:count].numpy().astype(np.uint8), heatmaps=model.maps,
                        title=f"{dataset} {loss} model {model_id}: {results.config.eval_method} maps")


def report_view(payload: dict, figures: dict[str, bytes]) -> widgets.Widget:
    """Tabs: our numbers beside the thesis + statistics, per-model tables, figures, notes."""
    comparisons = comparisons_html(payload.get("comparisons", []), "Ours vs the thesis's claim (a direction, "
                                   "no number: see the note)")
    tables = payload.get("tables", {})
    statistics = html_table(tables.get("statistics", []))
    models = tables_html({name: rows for name, rows in tables.items() if name != "statistics"})
    notes = "<ul>" + "".join(f"<li>{html.escape(note)}</li>" for note in payload.get("notes", [])) + "</ul>"
    tabs = widgets.Tab([report_html(f"{comparisons}<h4>Statistics</h4>{statistics}"), report_html(models),
                        widgets.VBox(figure_panels(figures, "720px")), report_html(notes)])
    for index, title in enumerate(("comparison", "models", "figures", "notes")):
        tabs.set_title(index, title)
    return tabs


class HeatmapLossApp(widgets.VBox):
    """The page: header, run button + status, report area, overlay area (group picker + browser)."""

    def __init__(self, report_dir: str | Path | None = None, **kwargs):
        super().__init__(**kwargs)
        self.results = None
        self.status = widgets.HTML()
        self.run_button = widgets.Button(description="run smoke preset", icon="play")
        self.run_button.on_click(lambda _: self.run_smoke())
        self.report_area = widgets.VBox()
        self.group_picker = widgets.Dropdown(description="group", options=[], disabled=True)
        self.group_picker.observe(lambda _: self._show_overlay(), names="value")
        self.overlay_area = widgets.VBox()
        self.overlay_section = widgets.VBox(
            [widgets.HTML("<h4>Test images: heart mask and the group's attribution maps</h4>"), self.group_picker,
             self.overlay_area], layout=widgets.Layout(display="none"))  # shown once models are trained here
        self.children = [
            widgets.HTML("<h3 style='margin:4px 0'>Paper 3: heatmap loss (HiResCAM / Grad-CAM inside the "
                         "training loss)</h3>"),
            widgets.HBox([self.run_button, self.status]), self.report_area, self.overlay_section]
        if report_dir is not None:
            self.show_report(*read_report(report_dir))
            self.status.value = (f"report: {html.escape(str(report_dir))} <i>(run the smoke preset to browse "
                                 "attribution maps on test images)</i>")
        else:
            self.status.value = "<i>no report folder given: run the smoke preset to see one</i>"

    def show_report(self, payload: dict, figures: dict[str, bytes]) -> None:
        self.report_area.children = [report_view(payload, figures)]

    def run_smoke(self, **overrides) -> None:
        """Train the smoke study here, then show its report and overlays."""
        from medinterp_widgets.pipelines.heatmap_loss import Config, build_report, run_studies

        self.status.value = "training the smoke study ..."
        self.run_button.disabled = True
        try:
            self.results = run_studies(Config.preset("smoke", **{"studies": SMOKE_STUDIES, **overrides}))
            report = build_report(self.results)
            self.show_report(report.to_json(), report.figures)
            groups = [f"{d}:{loss}" for d, losses in self.results.groups.items() for loss in losses]
            self.group_picker.options, self.group_picker.disabled = groups, False
            self.overlay_section.layout.display = None
            if self.group_picker.value == groups[0]:
                self._show_overlay()  # a re-run with the same first group: the picker fires no change
            self.group_picker.value = groups[0]  # options set on an empty Dropdown leave its value None
            self.status.value = "done"
        except Exception as error:  # shown in the page, not lost in the kernel log
            self.status.value = f"<b style='color:#b00'>{type(error).__name__}: {error}</b>"
        finally:
            self.run_button.disabled = False

    def _show_overlay(self) -> None:
        if self.results is None or not self.group_picker.value:
            return
        dataset, loss = self.group_picker.value.split(":")
        for old in self.overlay_area.children:
            old.close()
        self.overlay_area.children = [overlay_browser(self.results, dataset, loss)]


def build(report_dir: str | Path | None = None, **kwargs) -> widgets.Widget:
    """The heatmap-loss page; ``report_dir``: a folder written by ``medinterp reproduce heatmap-loss``."""
    return HeatmapLossApp(report_dir=report_dir, **kwargs)
