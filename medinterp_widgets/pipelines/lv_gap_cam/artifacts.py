"""`LvReport`: a Report that also keeps the validation overlays (image, truth, prediction, CAM) and
writes them as ``overlays.npz`` beside report.json, for the app's interactive slice browser."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from medinterp_widgets.pipelines.report import Report

OVERLAYS_FILE = "overlays.npz"
OVERLAY_KEYS = ("images", "truths", "predictions", "cams", "spacing")


@dataclass
class LvReport(Report):
    overlays: dict[str, np.ndarray] = field(default_factory=dict)  # OVERLAY_KEYS -> (N, H, W) / (2,)

    def write(self, out_dir: str | Path) -> Path:
        page = super().write(out_dir)
        if self.overlays:
            np.savez_compressed(Path(out_dir) / OVERLAYS_FILE, **self.overlays)
        return page


def read_overlays(folder: str | Path) -> dict[str, np.ndarray] | None:
    """The overlays written by ``LvReport.write`` (None when the folder has none)."""
    path = Path(folder) / OVERLAYS_FILE
    if not path.is_file():
        return None
    with np.load(path) as stored:
        return {key: stored[key] for key in stored.files}


def overlay_labels(truths: np.ndarray, predictions: np.ndarray) -> np.ndarray:
    """One label map for the browser: 1 truth only (missed), 2 predicted only (extra), 3 both."""
    return (truths.astype(np.uint8) > 0) + 2 * (predictions.astype(np.uint8) > 0)
