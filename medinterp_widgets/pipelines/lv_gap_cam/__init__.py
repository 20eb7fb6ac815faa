"""Paper 1, ``lv-gap-cam``: LV segmentation with an interpretable GAP-FCN.

    from medinterp_widgets.pipelines.lv_gap_cam import Config, run
    report = run(Config.preset("quick", data_root="/data"))
    report.write("reports/lv-gap-cam")
"""

from .config import PAPER, PRESETS, Config
from .pipeline import run

__all__ = ["Config", "PAPER", "PRESETS", "run"]
