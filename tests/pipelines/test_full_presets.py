"""The `full` presets: paper-scale settings, and a dry run of each full configuration's code path.

The dry run is ``Config.from_preset("full", limit_steps=1, ...)`` with the smoke preset's sizes (widths,
image sizes, item counts) on synthetic data: everything else is the full preset's (epochs, schedules,
folds, searches, optimiser), so the paths only the full preset takes (5 folds, 12-trial searches
capped to DRY_RUN_TRIALS, 50-epoch runs cut by TrainConfig.max_steps, checkpoints named in the
report) run in seconds. `medinterp reproduce NAME --full --limit-steps N` does the same at full size.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import pytest
import torch

from medinterp_widgets.commands.evaluate import KINDS
from medinterp_widgets.pipelines import PIPELINES
from medinterp_widgets.pipelines.dry_run import DRY_RUN_TRIALS
from medinterp_widgets.pipelines.report import EVAL_FOLDERS
from medinterp_widgets.training.checkpoints import load_checkpoint

# smoke-preset keys that only set sizes; the test keeps every other value of the full preset
SIZE_KEYS = {
    "lv-gap-cam": ("dataset", "image_size", "crop_fraction", "synthetic_cases", "synthetic_slices",
                   "synthetic_phases", "base_channels", "depth", "unet_base_channels", "cam_examples", "batch_size"),
    "rodent-gbp": ("phantom_animals", "phantom_shape", "slice_size", "slice_step", "base_channels", "depth", "angles",
                   "flow_iterations", "shifts", "noise_levels"),
    "heatmap-loss": ("size", "n_train", "n_val", "n_test", "width", "hidden", "studies", "models_per_group", "min_kept",
                     "max_models", "secondary_models", "keep_maps"),
    "covid-interp": ("image_size", "synthetic_images", "max_lesion_slices", "lbp_size", "alexnet_size",
                     "alexnet_channels", "alexnet_hidden", "alexnet_batch_size", "widths", "ssl_batch_size",
                     "batch_size", "embedding_points", "neurons_per_layer", "layer_images", "gradcam_images"),
}
EXPECTED_CHECKPOINTS = {"lv-gap-cam": 3, "rodent-gbp": 1, "heatmap-loss": 4, "covid-interp": 5}


def _module(name: str):
    return importlib.import_module(PIPELINES[name])


def _smoke_values(name: str) -> dict:
    config = _module(name).Config.from_preset("smoke")
    return {key: getattr(config, key) for key in SIZE_KEYS[name]}


def test_full_presets_hold_the_papers_settings():
    lv = _module("lv-gap-cam").Config.from_preset("full")
    assert (lv.epochs, lv.lr, lv.decay_rate, lv.decay_steps) == (50, 0.02, 0.73, 10_000)
    assert lv.sweep_trials >= 10 and lv.image_size == 256 and lv.dataset == "auto"
    rodent = _module("rodent-gbp").Config.from_preset("full")
    assert (rodent.lr, rodent.momentum, rodent.batch_size) == (3e-4, 0.9, 5) and rodent.slice_size is None
    heatmap = _module("heatmap-loss").Config.from_preset("full")
    assert heatmap.min_kept >= 30 and heatmap.sweep_trials > 1 and heatmap.val_accuracy_bar == 0.95
    assert heatmap.cfg == "vgg16" and {"acdc:ce", "acdc:hirescam", "exp2:gradcam"} <= set(heatmap.studies)
    covid = _module("covid-interp").Config.from_preset("full")
    assert (covid.folds, covid.folds_to_run, covid.alexnet_size, covid.alexnet_hidden) == (5, None, 224, 4096)
    assert covid.alexnet_channels[0] == 96 and covid.alexnet_epochs == 50  # 96 first-layer filters, 50 epochs
    assert covid.lbp_points == 8 and covid.ablations  # 59-bin uniform LBP; the ablation rows run too
    assert set(EVAL_FOLDERS) == set(KINDS)  # every evaluate command names a known data folder


@pytest.mark.parametrize("name", sorted(PIPELINES))
def test_full_preset_dry_run_names_loadable_checkpoints(name, tmp_path):
    torch.set_num_threads(1)
    config = _module(name).Config.from_preset("full", limit_steps=1, data_root=None, device="cpu",
                                         out_dir=str(tmp_path / "runs"), **_smoke_values(name))
    report = _module(name).run(config)
    assert any(note.startswith("DRY RUN") for note in report.notes)
    assert len(report.checkpoints) == EXPECTED_CHECKPOINTS[name]
    for entry in report.checkpoints.values():
        payload = load_checkpoint(entry["path"])
        assert payload["step"] == 1 and payload["config"]["max_steps"] == 1
    if name == "lv-gap-cam":  # the search ran capped trials, each one step
        assert len(report.tables["hyperparameter search (Optuna TPE, SQLite)"]) == DRY_RUN_TRIALS
    page = report.write(tmp_path / "report")
    saved = json.loads(Path(page).with_name("report.json").read_text())
    assert len(saved["evaluate_commands"]) == sum(len(e["datasets"]) for e in report.checkpoints.values())
