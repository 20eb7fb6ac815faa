"""Paper 2 app (rodent-gbp): the report's tables and figures, a run button, and an overlay browser.

``build(report_dir=None, preset="smoke")``: a report folder written by ``medinterp reproduce
rodent-gbp`` is shown at once (tables + PNG figures); for a preset's folder (``rodent-gbp-quick``, as
``build_app`` finds the newest) the ``rodent-gbp-paper`` report beside it is shown when there is one. The button runs
``preset`` here and then adds a SliceBrowser over the held-out animal's sagittal slices with the
re-segmentation after GBP background removal as mask and the enhanced GBP as heatmap.
"""

from __future__ import annotations

import html
import os
from pathlib import Path

import ipywidgets as widgets
import numpy as np

from medinterp_widgets.pipelines.report import comparisons_html, read_report, tables_html
from medinterp_widgets.widgets.report_views import figure_tabs, report_html
from medinterp_widgets.widgets.slice_browser import SliceBrowser

INTRO = ("<b>Rodent brain U-Net + guided backprop</b> (Matos et al.): trained on skull-stripped "
         "sagittal slices, tested on unmasked held-out animals; GBP -> linear expansion, log compression, "
         "z-score, exp(-((z-2)/0.5)^2) -> correlation with mask templates -> background removal -> "
         "re-segmentation, measured over each animal's whole volume.")
PAPER_REPORT = "rodent-gbp-paper"


def preferred_report(report_dir: str | os.PathLike | None) -> str | os.PathLike | None:
    """For a preset's report folder (``rodent-gbp-<preset>``), the ``--paper`` report beside it when there
    is one; any other folder as given."""
    if report_dir is None or not Path(report_dir).name.startswith("rodent-gbp-"):
        return report_dir
    paper = Path(report_dir).parent / PAPER_REPORT
    return paper if (paper / "report.json").is_file() else report_dir


def report_view(tables: dict, figures: dict[str, bytes], comparisons: list[dict] = ()) -> widgets.Widget:
    """Our numbers (beside the paper's where it gives them) on top, then tabs: the tables, one per figure."""
    return widgets.VBox([report_html(comparisons_html(list(comparisons))),
                         figure_tabs(figures, tables=tables_html(tables))])


def overlay_browser(outcome) -> SliceBrowser:
    """The first held-out animal's unmasked slices (S, H, W) with the re-segmentation after GBP background
    removal as labels and the enhanced GBP as heatmap."""
    animal, analysis = outcome.test[0], outcome.analyses[0]
    placement = outcome.report.config.get("placement", "multi")
    labels = analysis.segmentations[f"GBP mask ({placement})"].astype(np.int32)
    return SliceBrowser(animal.unmasked, masks=labels, heatmaps=analysis.enhanced,
                        title=f"{animal.subject_id}: re-segmentation after GBP removal + enhanced GBP")


class RodentGbpApp(widgets.VBox):
    """The page; ``status`` shows the last message, ``area`` holds the report / overlay views."""

    def __init__(self, report_dir: str | os.PathLike | None = None, preset: str = "smoke", **kwargs):
        super().__init__(**kwargs)
        self.preset = preset
        self.status = widgets.HTML()
        self.area = widgets.VBox()
        self.run_button = widgets.Button(description=f"run {preset} preset", button_style="primary")
        self.run_button.on_click(lambda _: self.run_preset())
        self.children = [widgets.HTML(INTRO), widgets.HBox([self.run_button, self.status]), self.area]
        if report_dir is not None:
            self.show_folder(preferred_report(report_dir))

    def show_folder(self, folder) -> None:
        try:
            payload, figures = read_report(folder)
        except FileNotFoundError as error:
            self.status.value = html.escape(str(error))
            return
        self.area.children = [report_view(payload.get("tables", {}), figures, payload.get("comparisons", []))]
        self.status.value = f"report: {html.escape(str(folder))}"

    def run_preset(self) -> None:
        from medinterp_widgets.pipelines import rodent_gbp

        self.run_button.disabled = True
        self.status.value = f"running the {self.preset} preset..."
        try:
            outcome = rodent_gbp.execute(rodent_gbp.Config.from_preset(self.preset))
            report = outcome.report
            comparisons = report.to_json()["comparisons"]
            self.area.children = [overlay_browser(outcome), report_view(report.tables, report.figures, comparisons)]
            self.status.value = f"done in {report.metrics['seconds']:.0f} s"
        except Exception as error:  # noqa: BLE001 - shown in the page, not lost in the kernel log
            message = html.escape(f"{type(error).__name__}: {error}")
            self.status.value = f"<b style='color:#b00'>{message}</b>"
        finally:
            self.run_button.disabled = False


def build(report_dir: str | os.PathLike | None = None, preset: str = "smoke", **kwargs) -> RodentGbpApp:
    """The rodent-gbp page (fast: nothing runs until the button is pressed)."""
    return RodentGbpApp(report_dir=report_dir, preset=preset, **kwargs)
