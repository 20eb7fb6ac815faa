"""Heatmap-loss pipeline: hand-checkable helpers, the smoke preset end to end, the CLI and the app."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from medinterp_widgets.pipelines import heatmap_loss as hl
from medinterp_widgets.pipelines.heatmap_loss.pipeline import analysed, torch_threads


def _model(group: str, model_id: int, heart: float, marker: float = math.nan, kept: bool = True) -> hl.ModelResult:
    return hl.ModelResult(group=group, model_id=model_id, lr=1e-3, val_accuracy=0.9, test_accuracy=0.9,
                          heart_overlap=heart, marker_overlap=marker, kept=kept, run_dir="")


def test_mean_overlap_skips_empty_masks_and_averages():
    maps = torch.zeros(3, 4, 4)
    maps[0, 0, 0] = 1.0  # all inside the mask -> 1
    maps[1, 0, 0] = maps[1, 3, 3] = 1.0  # half inside -> 0.5
    maps[2, 3, 3] = 5.0  # its mask is empty: skipped
    masks = torch.zeros(3, 4, 4, dtype=torch.bool)
    masks[:2, :2, :2] = True
    assert hl.mean_overlap(maps, masks) == pytest.approx(0.75)
    assert math.isnan(hl.mean_overlap(maps, torch.zeros_like(masks)))


def test_config_presets_and_validation():
    quick = hl.Config.preset("quick", seed=3)
    assert quick.seed == 3 and quick.size == 64 and quick.studies_of("exp2") == ["ce", "hirescam", "gradcam"]
    assert hl.Config.preset("full").models_per_group >= 8 and hl.Config.preset("full").size == 128
    with pytest.raises(ValueError, match="preset"):
        hl.Config.preset("huge")
    with pytest.raises(ValueError, match="studies"):
        hl.Config(studies=("exp3:ce",))


def test_statistics_compare_heatmap_group_with_ce_and_check_the_claim():
    config = hl.Config.preset("smoke")
    results = hl.StudyResults(config)
    data = hl.StudyData("exp2", ("a", "b"), None, None, None, has_marker=True)
    results.data["exp2"] = data
    results.groups["exp2"] = {
        "ce": [_model("exp2:ce", i, h, m) for i, (h, m) in enumerate([(0.2, 0.3), (0.25, 0.2), (0.3, 0.25)])],
        "hirescam": [_model("exp2:hirescam", i, h, m) for i, (h, m) in enumerate([(0.7, 0.0), (0.8, 0.01), (0.9, 0.02)])],
    }
    rows, notes = hl.statistics_rows(results)
    heart, marker = rows
    assert heart["metric"] == "heart_overlap" and heart["mean_heatmap"] == pytest.approx(0.8)
    assert heart["common_language"] == 1.0 and heart["agrees"] and heart["ours"] == "higher"
    assert marker["thesis_claim"] == "lower" and marker["agrees"] and marker["common_language"] == 0.0
    assert len(notes) == 1 and "smallest possible Mann-Whitney p is 0.1" in notes[0]  # 3 vs 3 models


def test_analysed_falls_back_to_all_models_below_two_kept():
    models = [_model("g", 0, 0.5, kept=True), _model("g", 1, 0.6, kept=False)]
    assert analysed(models) == (models, True)
    models.append(_model("g", 2, 0.7, kept=True))
    assert analysed(models) == ([models[0], models[2]], False)


def test_torch_threads_restores_setting():
    before = torch.get_num_threads()
    with torch_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before


def test_synthetic_study_data_shapes():
    data = hl.load_study_data("exp2", hl.Config.preset("smoke"))
    assert data.train.images.shape == (32, 1, 32, 32) and data.test.heart.shape == (16, 32, 32)
    assert data.has_marker and data.test.marker.any()
    x, y, mask = data.train.dataset()[0]
    assert x.shape == (1, 32, 32) and y.dtype == torch.int64 and mask.dtype == torch.float32


@pytest.fixture(scope="module")
def smoke_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("hm")
    events = []
    report = hl.run(hl.Config.preset("smoke", out_dir=out), callbacks=[events.append])
    return report, out, events


def test_smoke_run_writes_report(smoke_report):
    report, out, events = smoke_report
    assert events, "Trainer events reach the callbacks"
    assert {"exp2:ce models", "exp2:hirescam models", "statistics"} <= set(report.tables)
    assert {"exp2_heart_overlap", "exp2_marker_overlap", "exp2_maps"} <= set(report.figures)
    assert len(report.tables["exp2:ce models"]) == 2 and report.comparisons
    page = report.write(out / "report")
    saved = json.loads((page.parent / "report.json").read_text())
    assert saved["name"] == "heatmap-loss" and (page.parent / "figures" / "exp2_maps.png").stat().st_size > 0
    row = report.tables["exp2:hirescam models"][0]
    assert 0.0 <= row["heart_overlap"] <= 1.0 and 0.0 <= row["val_acc"] <= 1.0


def test_reproduce_command_runs_smoke_config(monkeypatch, tmp_path):
    from medinterp_widgets.cli import main

    smoke = hl.Config.preset

    monkeypatch.setattr(hl.Config, "preset", classmethod(
        lambda cls, name, **overrides: smoke("smoke", studies=("exp1:hirescam",), models_per_group=1,
                                             **overrides)))
    monkeypatch.delenv("MEDINTERP_DATA", raising=False)
    assert main(["reproduce", "heatmap-loss", "--quick", "--out", str(tmp_path)]) == 0
    saved = json.loads((tmp_path / "report.json").read_text())
    assert "exp1:hirescam models" in saved["tables"] and (tmp_path / "figures" / "exp1_heart_overlap.png").is_file()


def test_app_builds_from_a_report_folder(smoke_report):
    pytest.importorskip("ipywidgets")
    from medinterp_widgets.apps import heatmap_loss as app

    report, out, _ = smoke_report
    report.write(out / "app-report")
    widget = app.build(report_dir=out / "app-report")
    assert widget is not None
    widget.close()
    assert app.build() is not None


def test_majority_rate_is_the_constant_guess_accuracy():
    from medinterp_widgets.pipelines.heatmap_loss.study import majority_rate

    assert majority_rate(torch.tensor([0, 1, 1, 1])) == 0.75
    assert majority_rate(torch.tensor([2, 2])) == 1.0


def test_smallest_mann_whitney_p():
    from scipy import stats

    from medinterp_widgets.pipelines.heatmap_loss.pipeline import _smallest_p

    assert _smallest_p(2, 2) == pytest.approx(1 / 3)
    assert _smallest_p(3, 3) == pytest.approx(stats.mannwhitneyu([4, 5, 6], [1, 2, 3], method="exact").pvalue)


def test_acdc_auto_poses_healthy_vs_diseased_only_with_enough_nor_patients():
    from medinterp_widgets.pipelines.heatmap_loss.data import FALLBACK_POSITIVE, resolve_positive

    assert resolve_positive("auto", ["NOR"] * 20 + ["DCM"] * 80) == "NOR"
    assert resolve_positive("auto", ["DCM", "HCM", "MINF"] * 10 + ["NOR"]) == FALLBACK_POSITIVE
    assert resolve_positive("minf", ["NOR"] * 20) == "MINF"
