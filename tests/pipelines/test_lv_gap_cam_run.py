"""The smoke preset end to end through `medinterp reproduce lv-gap-cam`, and the app built from its report."""

import html
import json

import ipywidgets as widgets
import numpy as np
import pytest

from medinterp_widgets.apps import build_app
from medinterp_widgets.cli import main
from medinterp_widgets.pipelines.lv_gap_cam import PRESETS
from medinterp_widgets.pipelines.lv_gap_cam.artifacts import overlay_labels, read_overlays
from medinterp_widgets.widgets.slice_browser import SliceBrowser


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory):
    """One smoke run (the quick preset swapped for the smoke values) written by the CLI."""
    out = tmp_path_factory.mktemp("lv")
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("MEDINTERP_DATA", raising=False)
        patch.setitem(PRESETS, "quick", PRESETS["smoke"])
        assert main(["reproduce", "lv-gap-cam", "--quick", "--out", str(out), "--device", "cpu"]) == 0
    return out


def test_reproduce_writes_report_with_paper_comparison(report_dir, capsys):
    data = json.loads((report_dir / "report.json").read_text())
    paper = {c["name"]: c["paper"] for c in data["comparisons"]}
    assert paper["Dice (LV, synthetic validation)"] == 94.48 and paper["APD (synthetic validation)"] == 1.93
    metrics = data["metrics"]
    assert all(not isinstance(v, (dict, list)) for v in metrics.values())  # flat
    for key in ("dice_mean", "apd_mm_mean", "paper_dice_mean", "paper_apd_mm_mean", "unet_dice_mean",
                "search_dice_mean", "cam_mass_inside_lv", "data_source", "cpu_seconds"):
        assert key in metrics
    assert metrics["paper_dice_mean"] == pytest.approx(0.9448) and metrics["paper_apd_mm_mean"] == 1.93
    assert metrics["parameters"] < metrics["unet_parameters"] * 10
    for table in ("layer table (DIGITS style)", "hyperparameter search (Optuna TPE, SQLite)",
                  "validation scores (native resolution)", "Table 1: APD (mm) and Dice (%) on Sunnybrook"):
        assert data["tables"][table]
    layer = data["tables"]["layer table (DIGITS style)"][0]
    assert {"layer", "output", "mean", "std", "params", "grad_norm"} <= set(layer)
    assert any(name.startswith("pixel accuracy vs Dice") for name in data["tables"])
    for figure in ("curves_gapfcn", "accuracy_vs_dice", "cam_overlays", "per_slice_distributions"):
        assert (report_dir / "figures" / f"{figure}.png").read_bytes()[:4] == b"\x89PNG"
    assert (report_dir / "report.html").is_file()


def test_report_carries_the_faithfulness_of_the_lv_maps(report_dir):
    """Issue #16: CAM vs Grad-CAM vs guided backprop scored on a few validation slices, LV mask as mask."""
    data = json.loads((report_dir / "report.json").read_text())
    faith = data["faithfulness"]
    assert set(faith) == {"cam", "gradcam", "guided_backprop"}
    for method, scores in faith.items():
        assert 1 <= scores["n"] <= 8
        assert 0.0 <= scores["deletion_auc"] <= 1.0 and 0.0 <= scores["insertion_auc"] <= 1.0
        assert {"road", "randomisation_passed", "pointing_game", "relevance_mass", "zero_maps"} <= set(scores)
        assert data["metrics"][f"faith_{method}_deletion_auc"] == pytest.approx(scores["deletion_auc"])
    rows = data["tables"]["faithfulness of the LV maps (validation slices, model grid)"]
    assert [row["method"] for row in rows] == ["cam", "gradcam", "guided_backprop"]
    assert any(note.startswith("Faithfulness (issue #16") for note in data["notes"])


def test_overlays_are_written_with_matching_shapes(report_dir):
    overlays = read_overlays(report_dir)
    shape = overlays["images"].shape
    assert overlays["truths"].shape == overlays["predictions"].shape == overlays["cams"].shape == shape
    assert overlays["cams"].min() >= 0 and overlays["cams"].max() <= 1


def test_app_builds_from_the_report_folder(report_dir):
    """The app shows this report: its figures in the headline, its overlays in the browser, its figures
    and notes -- not just some widgets."""
    data = json.loads((report_dir / "report.json").read_text())
    overlays = read_overlays(report_dir)
    app = build_app("lv-gap-cam", report_dir=report_dir)
    assert str(report_dir) in app.status.value
    headline = app.body.children[0].value
    assert f"Dice {100 * data['metrics']['dice_mean']:.2f} %" in headline
    assert f"APD {data['metrics']['apd_mm_mean']:.2f} mm" in headline and "paper: Dice 94.48 %" in headline
    browsers = [w for w in app.body.children if isinstance(w, SliceBrowser)]
    assert len(browsers) == 1
    browser = browsers[0]
    np.testing.assert_array_equal(browser.volume.array, overlays["images"].astype(np.float32))
    np.testing.assert_array_equal(browser.heatmaps, overlays["cams"])
    np.testing.assert_array_equal(browser.masks, overlay_labels(overlays["truths"], overlays["predictions"]))
    tabs = [w for w in app.body.children if isinstance(w, widgets.Tab)]
    titles = [tabs[0].get_title(i) for i in range(len(tabs[0].children))]
    assert titles[0] == "tables" and len(titles) == 1 + len(list((report_dir / "figures").glob("*.png")))
    notes = app.body.children[-1].value
    assert all(html.escape(note) in notes for note in data["notes"])


def test_app_builds_without_data_and_reports_a_missing_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("MEDINTERP_REPORTS", str(tmp_path))  # no report written there
    app = build_app("lv-gap-cam")
    assert "run" in app.status.value and not app.body.children
    app.load_folder(tmp_path)
    assert "not found" in app.status.value
