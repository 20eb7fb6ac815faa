"""Apps: `build_app(name, ...)` composes widgets into pages (testable without Voila).

Each app is a module in this package with ``build(**kwargs) -> ipywidgets.Widget``; the notebook
under ``notebooks/apps/NAME.ipynb`` (``-`` written ``_``) is a few lines calling ``build_app("NAME")``.
A paper app opened without ``report_dir`` shows the newest report of its paper under the reports root
(``$MEDINTERP_REPORTS``, else ./reports: where ``medinterp reproduce NAME`` writes).
"""

from __future__ import annotations

import importlib

from medinterp_widgets.pipelines import PIPELINES
from medinterp_widgets.pipelines.report import latest_report
from medinterp_widgets.resources import reports_root
from medinterp_widgets.widgets.bokeh_setup import load_bokehjs

APPS = {
    # name: (module, one-line description)
    "workbench": ("medinterp_widgets.apps.workbench", "browse synthetic and real volumes with masks and heatmaps"),
    "training": ("medinterp_widgets.apps.training", "train a model and watch it live"),
    "lv-gap-cam": ("medinterp_widgets.apps.lv_gap_cam", "paper 1: LV segmentation with an interpretable GAP-FCN"),
    "rodent-gbp": ("medinterp_widgets.apps.rodent_gbp", "paper 2: rodent brain U-Net and guided backprop"),
    "heatmap-loss": ("medinterp_widgets.apps.heatmap_loss", "paper 3: attribution inside the training loss"),
    "covid-interp": ("medinterp_widgets.apps.covid_interp", "paper 4: COVID-19 CT interpretation"),
}


def available_apps() -> list[str]:
    return sorted(APPS)


def build_app(name: str = "workbench", **kwargs):
    """Build the app ``name``; inside a kernel BokehJS is loaded inline first (works offline)."""
    if name not in APPS:
        raise ValueError(f"unknown app {name!r}; expected one of {available_apps()}")
    if name in PIPELINES and kwargs.get("report_dir") is None:
        kwargs["report_dir"] = latest_report(reports_root(), name, prefer="paper")
    load_bokehjs()
    module = importlib.import_module(APPS[name][0])
    return module.build(**kwargs)


__all__ = ["APPS", "available_apps", "build_app"]
