"""Heatmap-loss pipeline: hand-checkable statistics in the thesis's convention, the smoke preset end to end,
the CLI and the app."""

from __future__ import annotations

import json
import math

import pytest
import torch

from medinterp_widgets.pipelines import heatmap_loss as hl
from medinterp_widgets.pipelines.heatmap_loss import faithfulness as hf
from medinterp_widgets.pipelines.heatmap_loss import statistics as stats
from medinterp_widgets.pipelines.heatmap_loss.pipeline import torch_threads
from medinterp_widgets.pipelines.heatmap_loss.study import example_indices, make_loss


def _model(group: str, model_id: int, heart: float, marker: float = math.nan, kept: bool = True,
           accuracy: float = 0.97) -> hl.ModelResult:
    return hl.ModelResult(group=group, model_id=model_id, lr=1e-3, val_accuracy=0.97, test_accuracy=accuracy,
                          heart_overlap=heart, marker_overlap=marker, kept=kept, checkpoint="")


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
    quick = hl.Config.from_preset("quick", seed=3)
    assert quick.seed == 3 and quick.studies_of("exp2") == ["ce", "hirescam"]
    paper, full = hl.Config.from_preset("paper"), hl.Config.from_preset("full")
    assert paper.min_kept >= 12 and paper.val_accuracy_bar == 0.95 and paper.sweep_trials >= 2
    assert full.min_kept >= 30 and full.cfg == "vgg16" and full.hidden == 100 and full.size == 128
    assert {"acdc:ce", "acdc:hirescam", "exp2:hirescam-norm"} <= set(paper.studies)
    # the ACDC arm's nested-CV choices (README): 128 px crop, cross-entropy ce group, fold-model ensemble
    assert (paper.acdc_crop, paper.acdc_classification, paper.acdc_ensemble) == (128, "ce", True)
    assert paper.acdc_heatmap_target == full.acdc_heatmap_target == "contrast"  # the synthetic groups keep "class"
    assert full.acdc_ensemble and not hl.Config.from_preset("quick").acdc_ensemble
    with pytest.raises(ValueError, match="preset"):
        hl.Config.from_preset("huge")
    with pytest.raises(ValueError, match="studies"):
        hl.Config(studies=("exp3:ce",))
    with pytest.raises(ValueError, match="max_models"):
        hl.Config(models_per_group=5, max_models=4)


def test_losses_of_the_groups():
    config = hl.Config.from_preset("smoke")
    ce, thesis, norm = (make_loss(name, config) for name in ("ce", "hirescam", "gradcam-norm"))
    assert ce.weight == 0 and ce.classification == "mse"  # conventional: the thesis's classification term alone
    assert (thesis.classification, thesis.penalty, thesis.method) == ("mse", "mass", "hirescam")
    assert (norm.classification, norm.penalty, norm.method) == ("ce", "share", "gradcam")
    assert make_loss("ce", config, classification="ce").classification == "ce"  # the ACDC arm's override
    acdc = make_loss("hirescam", config, classification="ce", target="contrast")  # both ACDC groups share the term
    assert (acdc.classification, acdc.penalty, acdc.target, thesis.target) == ("ce", "mass", "contrast", "class")
    with pytest.raises(ValueError, match="acdc_classification"):
        hl.Config(acdc_classification="hinge")
    with pytest.raises(ValueError, match="acdc_heatmap_target"):
        hl.Config(acdc_heatmap_target="odds")


def test_comparison_row_uses_the_thesis_sign_convention():
    row = stats.comparison_row("exp2", "hirescam", "heart_overlap", [0.2, 0.25, 0.3], [0.7, 0.8, 0.9], 0.05)
    assert row["comparison"] == "ce vs hirescam" and row["mean_ce"] == pytest.approx(0.25)
    assert row["cohens_d"] < 0 and row["common_language"] == 0.0  # ce first: the thesis's d < 0, CL = 0
    assert row["thesis_claim"] == "higher" and row["ours"] == "higher"
    # pooled sd: sqrt((2 * 0.0025 + 2 * 0.01) / 4) = sqrt(0.00625); d = -0.55 / 0.0790569
    assert row["cohens_d"] == pytest.approx(-0.55 / math.sqrt(0.00625))
    assert row["cohens_d_iqr1.5"] == pytest.approx(row["cohens_d"])  # no outliers in 3 evenly spaced values
    marker = stats.comparison_row("exp2", "hirescam", "marker_overlap", [0.3, 0.2, 0.25], [0.0, 0.01, 0.02], 0.05)
    assert marker["common_language"] == 1.0 and marker["cohens_d"] > 0 and marker["thesis_claim"] == "lower"


def test_statistics_rows_metrics_keys_and_thesis_table():
    ce = [_model("exp2:ce", i, h, m, accuracy=0.96) for i, (h, m) in enumerate([(0.2, 0.3), (0.25, 0.2), (0.3, 0.25)])]
    hm = [_model("exp2:hirescam", i, h, m, accuracy=0.98)
          for i, (h, m) in enumerate([(0.7, 0.0), (0.8, 0.01), (0.9, 0.02)])]
    hm.append(_model("exp2:hirescam", 3, 0.1, 0.5, kept=False))  # below the bar: left out
    groups = {"exp2": {"ce": ce, "hirescam": hm}}
    rows, notes = stats.statistics_rows(groups, {"exp2": True}, 0.05)
    assert [r["metric"] for r in rows] == ["heart_overlap", "marker_overlap", "test_accuracy"]
    assert rows[0]["n_heatmap"] == 3 and len(notes) == 1 and "smallest possible Mann-Whitney p is 0.1" in notes[0]
    metrics = {**stats.group_metrics(groups), **stats.primary_p_values(rows)}
    assert metrics["exp2_heart_hm"] == pytest.approx(0.8) and metrics["exp2_acc_ce"] == pytest.approx(0.96)
    assert metrics["n_models_exp2_hm"] == 3 and metrics["n_trained_exp2_hm"] == 4
    assert {"exp2_heart_p", "exp2_sex_p", "exp2_sex_d_iqr1.5", "exp2_sex_cl"} <= set(metrics)
    table = {row["measure"]: row for row in stats.thesis_rows(metrics, rows)}
    assert table["exp2_heart cohens_d"]["thesis"] == -11.88 and table["exp2_sex common_language"]["ours"] == 1.0
    assert table["exp2_sex shapiro_p_ce"]["thesis"] == 0.49


def test_smallest_mann_whitney_p():
    from scipy import stats as scipy_stats

    assert stats.smallest_p(2, 2) == pytest.approx(1 / 3)
    assert stats.smallest_p(3, 3) == pytest.approx(
        scipy_stats.mannwhitneyu([4, 5, 6], [1, 2, 3], method="exact").pvalue)


def test_example_indices_take_two_per_class_in_class_order():
    labels = torch.tensor([2, 0, 1, 0, 2, 1, 1])
    assert example_indices(labels, 6) == [1, 3, 2, 5, 0, 4]


def test_torch_threads_restores_setting():
    before = torch.get_num_threads()
    with torch_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before


def test_synthetic_study_data_shapes():
    data = hl.load_study_data("exp2", hl.Config.from_preset("smoke"))
    assert data.train.images.shape == (64, 1, 32, 32) and data.test.heart.shape == (32, 32, 32)
    assert data.has_marker and data.test.marker.any() and data.test.sex.shape == (32,)
    train = data.train.for_training()
    assert train.masks.dtype == torch.bool and train.labels.dtype == torch.int64


@pytest.fixture(scope="module")
def smoke_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("hm")
    return hl.run(hl.Config.from_preset("smoke", out_dir=out)), out


def test_smoke_run_writes_report(smoke_report):
    report, out = smoke_report
    assert {"exp2:ce models", "exp2:hirescam models", "statistics", "ours vs the thesis"} <= set(report.tables)
    assert {"exp2_examples", "exp2_heart_overlap", "exp2_marker_overlap", "exp2_maps"} <= set(report.figures)
    assert len(report.tables["exp2:ce models"]) == 2 and report.comparisons
    assert {"exp2_heart_ce", "exp2_heart_hm", "exp2_sex_ce", "exp2_acc_hm", "n_models_exp2_ce"} <= set(report.metrics)
    page = report.write(out / "report")
    saved = json.loads((page.parent / "report.json").read_text())
    assert saved["name"] == "heatmap-loss" and (page.parent / "figures" / "exp2_maps.png").stat().st_size > 0
    row = report.tables["exp2:hirescam models"][0]
    assert 0.0 <= row["heart_overlap"] <= 1.0 and 0.0 <= row["val_acc"] <= 1.0
    assert all(entry["path"].endswith(".pt") for entry in saved["checkpoints"].values())


def test_smoke_report_carries_the_faithfulness_of_both_groups(smoke_report):
    report, out = smoke_report
    section = report.faithfulness
    assert section["method"] == "hirescam" and section["mask"] == "heart"
    assert [(r["dataset"], r["loss"]) for r in section["rows"]] == [("exp2", "ce"), ("exp2", "hirescam")]
    for row in section["rows"]:
        assert row["n"] == section["images"] and 0.0 <= row["deletion_auc"] <= 1.0
        assert 0.0 <= row["relevance_mass"] <= 1.0 and 0.0 <= row["randomisation_passed"] <= 1.0
    for key in ("ce", "hm"):
        assert {f"faithfulness_exp2_{key}_{c}" for c in hf.FLAT_COLUMNS} <= set(report.metrics)
    assert any(name.startswith("faithfulness") for name in report.tables)
    saved = json.loads((report.write(out / "faith").parent / "report.json").read_text())
    assert saved["faithfulness"]["rows"][1]["loss"] == "hirescam"


def test_faithfulness_metrics_are_flat_and_nan_safe():
    section = {"rows": [{"dataset": "exp1", "loss": "hirescam", "deletion_auc": 0.25, "road": None}]}
    metrics = hf.faithfulness_metrics(section)
    assert metrics["faithfulness_exp1_hm_deletion_auc"] == 0.25
    assert math.isnan(metrics["faithfulness_exp1_hm_road"])
    assert math.isnan(metrics["faithfulness_exp1_hm_insertion_auc"])
    assert hf.representative([]) is None


def test_reproduce_command_runs_smoke_config(monkeypatch, tmp_path):
    from medinterp_widgets.cli import main

    smoke = hl.Config.from_preset
    monkeypatch.setattr(hl.Config, "from_preset", classmethod(
        lambda cls, name, **overrides: smoke("smoke", studies=("exp1:ce", "exp1:hirescam"), models_per_group=1,
                                             min_kept=1, max_models=1, **overrides)))
    monkeypatch.delenv("MEDINTERP_DATA", raising=False)
    assert main(["reproduce", "heatmap-loss", "--paper", "--out", str(tmp_path)]) == 0
    saved = json.loads((tmp_path / "report.json").read_text())
    assert "exp1:hirescam models" in saved["tables"] and (tmp_path / "figures" / "exp1_heart_overlap.png").is_file()


def test_app_builds_from_a_report_folder(smoke_report):
    pytest.importorskip("ipywidgets")
    from medinterp_widgets.apps import heatmap_loss as app

    report, out = smoke_report
    report.write(out / "app-report")
    widget = app.build(report_dir=out / "app-report")
    assert "app-report" in widget.status.value and widget.report_area.children  # the report is shown
    assert all(group.startswith(("exp1:", "exp2:")) for group in widget.group_picker.options)
    widget.close()
    empty = app.build()
    assert "no report folder" in empty.status.value and empty.group_picker.disabled
    empty.close()
