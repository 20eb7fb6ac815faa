"""Paper 1 app: the LV GAP-FCN report (ours beside the paper, tables, figures) and a slice browser of
the validation slices with truth / prediction labels and the LV CAM as heatmap.

``build(report_dir=None)`` shows a report folder written by ``medinterp reproduce lv-gap-cam``; the
"run" button runs the chosen preset in the kernel (smoke: seconds, on synthetic phantoms) and shows it.
"""

from __future__ import annotations

import html
import os
from pathlib import Path

import ipywidgets as widgets
import numpy as np

from medinterp_widgets.data.volume import Volume
from medinterp_widgets.pipelines.lv_gap_cam.artifacts import overlay_labels, read_overlays
from medinterp_widgets.pipelines.report import comparisons_html as comparison_html  # noqa: F401 (notebook)
from medinterp_widgets.pipelines.report import read_report, tables_html
from medinterp_widgets.widgets.report_views import figure_tabs, report_html
from medinterp_widgets.widgets.slice_browser import SliceBrowser

CAM_THRESHOLD = 0.5  # the CAM's median is ~0.25 on Sunnybrook: a lower default tints the whole slice
LEGEND = ("labels: 1 truth only (missed LV), 2 predicted only (extra), 3 both; heatmap: CAM of the LV class "
          "on the GAP layer, shown above 0.5 (threshold slider)")


def overlay_browser(overlays: dict[str, np.ndarray]) -> SliceBrowser:
    """SliceBrowser over the validation slices (z = slice number) with labels and CAM heatmaps."""
    dy, dx = (float(v) for v in overlays["spacing"])
    volume = Volume(overlays["images"].astype(np.float32), spacing=(1.0, dy, dx))  # (N, H, W)
    labels = overlay_labels(overlays["truths"], overlays["predictions"])  # (N, H, W)
    browser = SliceBrowser(volume, masks=labels, heatmaps=overlays["cams"], title="validation slices")
    browser.heatmap_threshold = CAM_THRESHOLD
    return browser


class LvGapCamApp(widgets.VBox):
    """Report view + run button; ``show_report(json_dict, figures, overlays)`` fills it."""

    def __init__(self, report_dir: str | os.PathLike | None = None, **kwargs):
        super().__init__(**kwargs)
        self.preset = widgets.Dropdown(options=["smoke", "quick"], value="smoke", description="preset")
        self.run_button = widgets.Button(description="run", button_style="primary")
        self.status = widgets.HTML()
        self.body = widgets.VBox()
        self.run_button.on_click(lambda _: self.run_preset(self.preset.value))
        self.children = [widgets.HTML("<h3>Paper 1: LV segmentation with an interpretable GAP-FCN</h3>"),
                         widgets.HBox([self.preset, self.run_button]), self.status, self.body]
        if report_dir is not None:
            self.load_folder(report_dir)
        else:
            self.status.value = "No report folder given: press <b>run</b> (smoke takes seconds on synthetic data)."

    def load_folder(self, folder: str | os.PathLike) -> None:
        """Show ``report.json``, ``figures/*.png`` and ``overlays.npz`` of a written report."""
        folder = Path(folder)
        try:
            data, figures = read_report(folder)
        except FileNotFoundError as error:
            self.status.value = f"<span class='mi-error'>{html.escape(str(error))}</span>"
            return
        self.show_report(data, figures, read_overlays(folder))
        self.status.value = f"report: {html.escape(str(folder))}"

    def run_preset(self, preset: str) -> None:
        """Run the pipeline in the kernel with ``preset`` (real data from $MEDINTERP_DATA when set)."""
        from medinterp_widgets.pipelines.lv_gap_cam import Config, run
        from medinterp_widgets.resources import data_root

        self.status.value = f"running the {preset} preset ..."
        self.run_button.disabled = True
        try:
            report = run(Config.from_preset(preset, data_root=data_root() if preset != "smoke" else None))
            self.show_report(report.to_json(), report.figures, report.overlays)
            self.status.value = f"{preset} preset finished"
        except Exception as error:  # shown to the user instead of a dead button
            self.status.value = f"<span class='mi-error'>{html.escape(type(error).__name__)}: " \
                                f"{html.escape(str(error))}</span>"
        finally:
            self.run_button.disabled = False

    def show_report(self, data: dict, figures: dict[str, bytes], overlays: dict | None) -> None:
        parts: list[widgets.Widget] = [widgets.HTML(headline(data)),
                                       report_html(comparison_html(data.get("comparisons", [])))]
        if overlays:
            parts += [widgets.HTML(f"<small>{LEGEND}</small>"), overlay_browser(overlays)]
        tabs = figure_tabs(figures, tables=tables_html(data.get("tables", {})))
        notes = "".join(f"<li>{html.escape(n)}</li>" for n in data.get("notes", []))
        parts += [tabs, widgets.HTML(f"<h4>Notes</h4><ul>{notes}</ul>")]
        self.body.children = parts


def headline(data: dict) -> str:
    """One line: the preset and the validation figures beside the paper's (Dice %, APD mm)."""
    metrics, preset = data.get("metrics", {}), (data.get("config") or {}).get("preset", "?")
    parts = [f"<b>{html.escape(str(preset))}</b> preset"]
    for key, label, scale, unit in (("dice_mean", "Dice", 100, " %"), ("apd_mm_mean", "APD", 1, " mm"),
                                    ("acdc_dice_mean", "ACDC Dice", 100, " %")):
        value = metrics.get(key)
        if isinstance(value, (int, float)):
            parts.append(f"{label} {scale * value:.2f}{unit}")
    if isinstance(metrics.get("paper_dice_mean"), (int, float)):
        parts.append(f"(paper: Dice {100 * metrics['paper_dice_mean']:.2f} %, APD {metrics['paper_apd_mm_mean']} mm)")
    return "<p>" + " · ".join(parts) + "</p>"


def build(report_dir: str | os.PathLike | None = None, **kwargs) -> LvGapCamApp:
    """The app; ``report_dir``: a folder written by ``medinterp reproduce lv-gap-cam`` (optional)."""
    return LvGapCamApp(report_dir, **kwargs)
