"""RunBrowser without a browser: runs folders and Optuna storages, sorting, curves, deploying a model."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from medinterp_widgets.models import UNet
from medinterp_widgets.training.runs import load_run
from medinterp_widgets.widgets.run_browser import RunBrowser
from medinterp_widgets.widgets.run_sources import lower_is_better, read_run_records
from medinterp_widgets.widgets.transport import record_patches


def _column(browser: RunBrowser, title: str):
    field = next(c.field for c in browser.table.columns if c.title == title)
    return browser.table_source.data[field]


def test_runs_folder_table_lists_knobs_and_best_metrics(runs_folder):
    browser = RunBrowser(runs_folder)
    titles = [c.title for c in browser.table.columns]
    for name in ("run", "lr", "decay_rate", "decay_steps", "heatmap_weight", "best val/dice_mean", "best val/loss"):
        assert name in titles
    assert sorted(_column(browser, "run")) == ["lr-large", "lr-small"]
    assert (browser.sort_by, browser.ascending) == ("best val/dice_mean", False)  # config: best_mode max
    assert titles[2] == "best val/dice_mean"  # the ranking metric is the first metric column
    best = _column(browser, "best val/dice_mean")
    assert best.dtype == np.float64 and best[0] >= best[1]  # best run first
    for run in ("lr-small", "lr-large"):
        curve = [epoch["val"]["dice_mean"] for epoch in load_run(runs_folder / run).epoch_metrics()]
        row = list(_column(browser, "run")).index(run)
        assert best[row] == pytest.approx(max(curve))


def test_selecting_a_run_draws_its_curves_as_float32(runs_folder):
    browser = RunBrowser(runs_folder)
    other = browser._row_keys[1]
    with record_patches(browser.curves_figure) as log:
        browser.table_source.selected.indices = [1]  # a click on the second row
    assert browser.selected == other and browser.curve == "dice_mean"
    data = browser.curve_source.data
    assert data["split"] == ["train", "val"]
    expected = [e["val"]["dice_mean"] for e in load_run(runs_folder / other).epoch_metrics()]
    np.testing.assert_allclose(data["ys"][1], expected, rtol=1e-6)
    assert list(data["xs"][1]) == [1, 2]
    assert "float64" not in log.buffer_dtypes()
    browser.curve = "loss"
    assert browser.curves_figure.yaxis.axis_label == "loss"
    assert "loss" in browser.curve_control.options and browser.curve_control.value == "loss"


def test_sorting_in_the_kernel(runs_folder):
    browser = RunBrowser(runs_folder)
    browser.sort_by, browser.ascending = "lr", True
    assert list(_column(browser, "run")) == ["lr-small", "lr-large"]
    browser.ascending = False
    assert list(_column(browser, "run")) == ["lr-large", "lr-small"]
    assert browser.table_source.selected.indices == [browser._row_keys.index(browser.selected)]
    with pytest.raises(Exception, match="sort_by"):
        browser.sort_by = "no such column"


def test_deploy_loads_the_best_checkpoint_and_fires_an_event(runs_folder):
    browser = RunBrowser(runs_folder)
    events = []
    browser.observe(lambda change: events.append(change.new), "deployed")
    browser.selected = "lr-small"
    browser.deploy_button.click()
    assert browser.error == ""
    assert events == [{"run": "lr-small", "checkpoint": str(runs_folder / "lr-small" / "best.pt"), "count": 1}]
    assert isinstance(browser.model, UNet) and not browser.model.training
    saved = torch.load(runs_folder / "lr-small" / "best.pt", weights_only=True)["model_state"]
    for name, value in browser.model.state_dict().items():
        assert torch.equal(value, saved[name])
    browser.deploy_button.click()  # the same run again is still an event
    assert len(events) == 2 and events[-1]["count"] == 2
    assert "UNet" in browser.deploy_status.value


def test_optuna_storage_lists_trials(sweep_db):
    browser = RunBrowser(sweep_db)  # a .db path; a sqlite:/// URL works the same
    assert len(browser.records) == 5
    assert [c.title for c in browser.table.columns] == ["run", "status", "value", "lr", "decay_steps", "val_dice"]
    assert (browser.sort_by, browser.ascending) == ("value", False)  # study direction: maximize
    values = _column(browser, "value")
    assert list(values) == sorted(values, reverse=True)
    best = max(browser.records, key=lambda r: r.summary["value"])
    assert browser.selected == best.key == browser._row_keys[0]  # starts on the best trial
    assert browser.curve == "value" and len(browser.curve_source.data["xs"][0]) == 3
    assert browser.deploy_button.disabled  # toy trials have no checkpoints
    assert browser.error == ""
    url_browser = RunBrowser(f"sqlite:///{sweep_db}", study_name="toy")
    assert [r.key for r in url_browser.records] == [r.key for r in browser.records]


def test_optuna_trials_pick_up_their_run_folders(runs_folder, sweep_db, tmp_path):
    (tmp_path / "trial-0").symlink_to(runs_folder / "lr-small", target_is_directory=True)
    records = {r.key: r for r in read_run_records(f"sqlite:///{sweep_db}", runs_root=tmp_path)}
    first = records["trial 0"]
    assert first.checkpoint is not None and first.checkpoint.name == "best.pt"
    assert "val/dice_mean" in first.curves and "value" in first.curves
    assert "best val/dice_mean" in first.summary and records["trial 1"].checkpoint is None


def test_bad_source_is_reported_not_raised(tmp_path):
    browser = RunBrowser(tmp_path / "missing")
    assert "missing" in browser.error and browser.records == []
    assert browser.deploy_button.disabled
    with pytest.raises(KeyError):
        browser.load_model()


def test_refresh_sees_new_runs(runs_folder, tmp_path):
    import shutil

    shutil.copytree(runs_folder / "lr-small", tmp_path / "first")
    browser = RunBrowser(tmp_path)
    assert browser._row_keys == ["first"]
    shutil.copytree(runs_folder / "lr-large", tmp_path / "second")
    browser.refresh()
    assert sorted(browser._row_keys) == ["first", "second"] and browser.selected == "first"


def test_metric_direction():
    assert lower_is_better("val/loss") and lower_is_better("apd_mm")
    assert not lower_is_better("val/dice_mean") and not lower_is_better("accuracy")
    assert not math.isnan(0.0)
