"""Paper 1, ``lv-gap-cam``: LV segmentation with an interpretable GAP-FCN.

    from medinterp_widgets.pipelines.lv_gap_cam import Config, run
    report = run(Config.from_preset("quick", data_root="/data"))
    report.write("reports/lv-gap-cam")

``run`` is imported on first use, so the app can read a report folder without loading torch/optuna.
"""

from .config import PAPER, PRESETS, Config

__all__ = ["Config", "PAPER", "PRESETS", "run"]


def __getattr__(name: str):
    if name == "run":
        from .pipeline import run

        return run
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
