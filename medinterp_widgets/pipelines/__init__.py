"""One module per reproduced paper: ``run(config) -> Report``.

Each pipeline module defines a ``Config`` dataclass with ``Config.from_preset("quick"|"full", **overrides)``
(quick: minutes on 2 CPU cores; full: paper scale on a GPU) and ``run(config) -> Report``.
"""

from medinterp_widgets.pipelines.report import Comparison, Report

PIPELINES = {
    "lv-gap-cam": "medinterp_widgets.pipelines.lv_gap_cam",
    "rodent-gbp": "medinterp_widgets.pipelines.rodent_gbp",
    "heatmap-loss": "medinterp_widgets.pipelines.heatmap_loss",
    "covid-interp": "medinterp_widgets.pipelines.covid_interp",
}

__all__ = ["PIPELINES", "Comparison", "Report"]
