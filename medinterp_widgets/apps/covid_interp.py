"""Paper 4 app: the covid-interp report (tables, figures), LBP vs deep-feature embeddings side by side,
and an interactive Grad-CAM / lesion overlay view.

``build(report_dir=None, data_root=None)``: shows the report written under ``report_dir`` (``build_app``
passes the ``--paper`` report under the reports root when there is one, else the newest); the "run" button
runs the smoke or quick preset (real
data under ``data_root`` / ``$MEDINTERP_DATA`` when present) and shows the result. The embeddings tab
shows the coordinates the pipeline saved in arrays.npz (PCA, kernel PCA, t-SNE; 2-D and 3-D) with the
images as hover thumbnails; method and dims are linked between the two feature sets.
"""

from __future__ import annotations

import html
import os
import tempfile
from pathlib import Path

import ipywidgets as widgets
import numpy as np
from traitlets import Unicode

from medinterp_widgets.data.volume import Volume
from medinterp_widgets.metrics.embedding import EMBEDDING_DIMS, EMBEDDING_METHODS
from medinterp_widgets.pipelines.report import comparisons_html, read_report, tables_html
from medinterp_widgets.resources import data_root as find_data_root
from medinterp_widgets.widgets.embedding_viewer import EmbeddingViewer, link_settings
from medinterp_widgets.widgets.report_views import figure_panels, report_markup
from medinterp_widgets.widgets.slice_browser import SliceBrowser

VIEWER_CLASSES = ["COVID", "non-COVID"]  # viewer class k gets render.LABEL_COLORS[k]: COVID red, as in the figures
FEATURE_TITLES = {"lbp": "LBP: 59-bin uniform histograms", "deep": "AlexNet pool5 features (9216-d)"}
OVERLAYS = {  # choice -> (images, masks or None, heatmaps)
    "MedSeg lesion slices: Grad-CAM vs lesion": ("lesion_images", "lesion_masks", "lesion_cams"),
    "Highest consistent degrees (Fig. 11): Grad-CAM": ("gradcam_images", None, "gradcam_maps"),
}


class CovidInterpApp(widgets.VBox):
    """Report viewer + overlay browser; ``status`` holds the last message, ``folder`` the report shown."""

    status = Unicode("")
    folder = Unicode("")

    def __init__(self, report_dir: str | os.PathLike | None = None, data_root: str | os.PathLike | None = None,
                 **kwargs):
        super().__init__(**kwargs)
        self.data_root = data_root
        self.arrays: dict[str, np.ndarray] = {}
        self.browser: SliceBrowser | None = None
        self.folder_box = widgets.Text(description="report", placeholder="folder with report.json",
                                       layout=widgets.Layout(width="520px"))
        self.load_button = widgets.Button(description="load")
        self.preset = widgets.ToggleButtons(options=["smoke", "quick"], value="smoke", style={"button_width": "80px"})
        self.run_button = widgets.Button(description="run", button_style="primary")
        self.status_label = widgets.HTML()
        self.tables = widgets.HTML()
        self.figures = widgets.VBox()
        self.overlay_choice = widgets.Dropdown(options=list(OVERLAYS), description="show",
                                               layout=widgets.Layout(width="520px"))
        self.overlay_area = widgets.VBox()
        self.embeddings = widgets.VBox()
        self.tabs = widgets.Tab(children=[self.tables, self.figures, self.embeddings,
                                          widgets.VBox([self.overlay_choice, self.overlay_area])])
        for index, title in enumerate(("tables", "figures", "embeddings", "overlays")):
            self.tabs.set_title(index, title)
        self.load_button.on_click(lambda _: self.load(self.folder_box.value))
        self.run_button.on_click(lambda _: self.run(self.preset.value))
        self.overlay_choice.observe(lambda _: self.show_overlay(), names="value")
        self.observe(lambda change: setattr(self.status_label, "value", html.escape(change["new"])), names="status")
        self.children = [
            widgets.HTML("<h3 style='margin:4px 0'>Paper 4: COVID-19 CT interpretation</h3>"
                         "<small>Table 1 (AlexNet, pool5 features + SVM, LBP + SVM) beside the paper, the "
                         "explained classifier's ablations, feature embeddings, AlexNet's filters and hidden "
                         "neurons, Grad-CAM and its consistent degree with lesion masks</small>"),
            widgets.HBox([self.folder_box, self.load_button]),
            widgets.HBox([widgets.Label("preset"), self.preset, self.run_button]),
            self.status_label, self.tabs,
        ]
        if report_dir is not None and (Path(report_dir) / "report.json").is_file():
            self.load(report_dir)
        else:
            where = f"in {report_dir}" if report_dir is not None else "given"
            self.status = (f"no report {where}: press run (smoke: seconds), load a folder, or write one with "
                           "`medinterp reproduce covid-interp`")

    def load(self, folder: str | os.PathLike) -> bool:
        """Show the report written in ``folder``; False (and a status message) when there is none."""
        from medinterp_widgets.pipelines.covid_interp import load_arrays

        folder = Path(folder)
        try:
            report, figures = read_report(folder)
        except FileNotFoundError as error:
            self.status = str(error)
            return False
        self.folder, self.folder_box.value = str(folder), str(folder)
        self.tables.value = report_markup(comparisons_html(report.get("comparisons", []))
                                          + tables_html(report["tables"]))
        self.figures.children = figure_panels(figures, "100%")
        self.arrays = load_arrays(folder)
        self.embeddings.children = [embedding_views(self.arrays, report["config"].get("seed", 0))]
        self.show_overlay()
        self.status = f"loaded {folder}"
        return True

    def run(self, preset: str = "smoke", out: str | os.PathLike | None = None) -> bool:
        """Run the covid-interp preset and show its report (written to ``out`` or a temporary folder)."""
        from medinterp_widgets.pipelines.covid_interp import Config, run

        self.status = f"running the {preset} preset ..."
        try:
            report = run(Config.from_preset(preset, data_root=find_data_root(self.data_root)))
        except Exception as error:  # noqa: BLE001 - shown to the user, the app stays usable
            self.status = f"run failed: {type(error).__name__}: {error}"
            return False
        target = Path(out) if out is not None else Path(tempfile.mkdtemp(prefix="covid-interp-"))
        report.write(target)
        return self.load(target)

    def show_overlay(self) -> None:
        """Browse the chosen image stack (slice slider = image) with its heatmaps and lesion contours."""
        images, masks, heatmaps = OVERLAYS[self.overlay_choice.value]
        if images not in self.arrays or len(self.arrays[images]) == 0:
            self.overlay_area.children = [widgets.HTML("<i>no overlay arrays loaded</i>")]
            return
        volume = Volume(self.arrays[images].astype(np.float32), spacing=(1.0, 1.0, 1.0),
                        metadata={"spacing": "unknown"})  # resized crops: one "mm" on the axes is one pixel
        mask = self.arrays[masks].astype(np.int16) if masks else None
        self.browser = SliceBrowser(volume, masks=mask, heatmaps=self.arrays[heatmaps],
                                    title=f"{self.overlay_choice.value} (axes in pixels of the resized image)")
        self.overlay_area.children = [self.browser]


def embedding_views(arrays: dict[str, np.ndarray], seed: int = 0) -> widgets.Widget:
    """LBP vs deep-feature EmbeddingViewers side by side (method and dims linked) from a report's arrays."""
    from medinterp_widgets.pipelines.covid_interp import FEATURE_SETS, embedding_key

    if "embedding_labels" not in arrays:
        return widgets.HTML("<i>this report holds no embeddings (arrays.npz missing)</i>")
    classes = 1 - arrays["embedding_labels"].astype(np.int64)  # pipeline label 1 = COVID -> viewer class 0
    viewers = []
    for name in FEATURE_SETS:
        saved = {(method, dims): arrays[embedding_key(name, method, dims)] for method in EMBEDDING_METHODS
                 for dims in EMBEDDING_DIMS if embedding_key(name, method, dims) in arrays}
        viewers.append(EmbeddingViewer(arrays.get(f"embedding_features/{name}"), classes,
                                       arrays.get("embedding_thumbnails"), class_names=VIEWER_CLASSES, seed=seed,
                                       precomputed=saved, title=FEATURE_TITLES[name]))
    link_settings(viewers)
    note = widgets.HTML(f"<small>{len(arrays['embedding_labels'])} images (a stratified subsample), each feature "
                        "set standardised, then embedded; hover a point for its image. Method and 2-D / 3-D "
                        "apply to both panels.</small>")
    return widgets.VBox([note, widgets.Box(viewers, layout=widgets.Layout(flex_flow="row wrap", grid_gap="12px"))])


def build(report_dir: str | os.PathLike | None = None, data_root: str | os.PathLike | None = None,
          **kwargs) -> CovidInterpApp:
    return CovidInterpApp(report_dir=report_dir, data_root=data_root, **kwargs)
