"""Run folders: resume reproduces an uninterrupted run exactly; best.pt follows the chosen metric."""

from __future__ import annotations

import json

import pytest
import torch

from medinterp_widgets.training import runs
from medinterp_widgets.training.config import TrainConfig
from medinterp_widgets.training.events import StepEnd
from medinterp_widgets.training.trainer import Trainer


def _config(run_dir, **overrides) -> TrainConfig:
    values = dict(epochs=3, batch_size=4, lr=0.05, progress=False, seed=7, run_dir=str(run_dir),
                  decay_rate=0.9, decay_steps=3, optimizer="sgd")
    values.update(overrides)
    return TrainConfig(**values)


def test_resume_after_interruption_matches_uninterrupted_run(tmp_path, seg_data, make_seg_model):
    train, val = seg_data
    full = Trainer(make_seg_model(), train, val, _config(tmp_path / "full"))
    full.fit()

    interrupted = Trainer(make_seg_model(), train, val, _config(tmp_path / "cut"))

    def kill_in_second_epoch(event):
        if isinstance(event, StepEnd) and event.step == 6:
            raise KeyboardInterrupt  # like Ctrl-C / a killed kernel mid-epoch

    interrupted.callbacks.append(kill_in_second_epoch)
    with pytest.raises(KeyboardInterrupt):
        interrupted.fit()
    assert runs.load_run(tmp_path / "cut").epochs_completed == 1

    resumed = Trainer(make_seg_model(seed=99), train, val, _config(tmp_path / "cut"), resume=True)
    steps = []
    resumed.callbacks.append(lambda e: steps.append(e.step) if isinstance(e, StepEnd) else None)
    resumed.fit()
    assert steps[0] == 5  # epoch 2 restarts at its first step: nothing lost, nothing repeated

    expected = runs.load_run(tmp_path / "full").epoch_metrics()
    got = runs.load_run(tmp_path / "cut").epoch_metrics()
    assert got == expected  # exact on CPU
    for a, b in zip(full.base_model.state_dict().values(), resumed.base_model.state_dict().values()):
        assert torch.equal(a, b)
    assert runs.load_run(tmp_path / "cut").status == "completed"


def test_resume_without_checkpoint_starts_fresh(tmp_path, seg_data, make_seg_model):
    """resume=True on a folder without last.pt (killed before the first epoch ended) is a fresh, seeded
    run: step 1 first, the same weights and metrics as a run that never asked to resume."""
    train, _ = seg_data
    steps = []
    resumed = Trainer(make_seg_model(seed=5), train, None, _config(tmp_path / "resumed", epochs=2), resume=True,
                      callbacks=[lambda e: steps.append(e.step) if isinstance(e, StepEnd) else None])
    history = resumed.fit()
    fresh = Trainer(make_seg_model(seed=5), train, None, _config(tmp_path / "fresh", epochs=2))
    assert steps[0] == 1 and len(history) == 2 and history == fresh.fit()
    for a, b in zip(resumed.base_model.state_dict().values(), fresh.base_model.state_dict().values()):
        assert torch.equal(a, b)
    assert torch.load(tmp_path / "resumed" / runs.LAST_CHECKPOINT, weights_only=True)["epoch"] == 2


@pytest.mark.parametrize("mode", ["min", "max"])
def test_best_checkpoint_follows_metric_and_mode(tmp_path, seg_data, make_seg_model, mode):
    train, val = seg_data
    config = _config(tmp_path, epochs=3, best_metric="val/loss", best_mode=mode)
    history = Trainer(make_seg_model(), train, val, config).fit()
    values = [epoch["val"]["loss"] for epoch in history]
    best_epoch = values.index(min(values) if mode == "min" else max(values))
    best = torch.load(tmp_path / runs.BEST_CHECKPOINT, weights_only=True)
    last = torch.load(tmp_path / runs.LAST_CHECKPOINT, weights_only=True)
    assert best["epoch"] == best_epoch + 1 and last["epoch"] == 3
    assert best["best_value"] == pytest.approx(values[best_epoch])


def test_list_and_load_runs(tmp_path, seg_data, make_seg_model):
    train, val = seg_data
    for name in ("a", "b"):
        Trainer(make_seg_model(), train, val, _config(tmp_path / name, epochs=1)).fit()
    found = runs.list_runs(tmp_path)
    assert sorted(info.path.name for info in found) == ["a", "b"]
    info = found[0]
    assert info.status == "completed" and info.epochs_completed == 1
    assert info.best_checkpoint is not None and info.last_checkpoint is not None
    assert info.config["model_class"].endswith(":TinySegNet") and info.config["model_kwargs"]["width"] == 4


def test_torn_last_line_is_ignored(tmp_path):
    (tmp_path / runs.CONFIG_FILE).write_text(json.dumps({"epochs": 1}))
    (tmp_path / runs.METRICS_FILE).write_text('{"event": "EpochEnd", "epoch": 0, "metrics": {}}\n{"event": "Ep')
    assert runs.load_run(tmp_path).epochs_completed == 1


def test_checkpoint_with_path_in_extra_loads_weights_only(tmp_path, seg_data, make_seg_model):
    from pathlib import Path

    train, _ = seg_data
    config = _config(tmp_path, epochs=1, best_metric="train/loss", extra={"source": Path("/data/acdc")})
    Trainer(make_seg_model(), train, None, config).fit()
    payload = torch.load(tmp_path / runs.LAST_CHECKPOINT, weights_only=True)
    assert payload["config"]["extra"]["source"] == "/data/acdc"
