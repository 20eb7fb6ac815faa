"""The training app: settings map to a TrainConfig, Start trains in the background, the end shows the
run folder and the best checkpoint (tiny synthetic data, a couple of seconds)."""

from pathlib import Path

import pytest

from medinterp_widgets.apps import build_app
from medinterp_widgets.apps.training_tasks import TASKS, task_datasets, tiny_model


@pytest.mark.parametrize("name", sorted(TASKS))
def test_every_task_gives_data_its_models_accept(name):
    task = TASKS[name]
    train, _ = task_datasets(task, n_train=2, n_val=1)
    images, labels = train.tensors
    assert images.shape == (2, 1, 32, 32) and int(labels.max()) < task.n_classes
    for model_name in task.models:
        logits = tiny_model(model_name, task.n_classes)(images)
        assert logits.shape[:2] == (2, task.n_classes)


def test_settings_become_the_train_config(tmp_path):
    app = build_app("training", runs_dir=tmp_path, task="cardiac classification (synthetic)")
    assert app.model.options == ("VGG",)
    app.lr.value, app.decay_rate.value, app.decay_steps.value, app.epochs.value = 0.05, 0.5, 7, 4
    config = app.config()
    assert (config.lr, config.decay_rate, config.decay_steps, config.epochs) == (0.05, 0.5, 7, 4)
    assert config.task == "classification" and config.num_classes == 4
    app.task.value = "brain tissue (synthetic)"
    assert app.model.value == "UNet"


def test_start_trains_and_reports_run_folder_and_best_checkpoint(tmp_path):
    app = build_app("training", runs_dir=tmp_path, n_train=8, n_val=4)
    app.epochs.value, app.batch_size.value = 2, 4
    assert app.start()
    assert app.start_button.disabled and len(app.monitor_area.children) == 1
    app.wait(timeout_s=120)
    history = app.monitor.history
    assert history.ended.reason == "completed" and history.steps["step"] == [1, 2, 3, 4]
    assert Path(history.best_checkpoint).is_file() and Path(history.best_checkpoint).parent.parent == tmp_path
    assert "run completed" in app.status and history.best_checkpoint in app.status
    assert not app.start_button.disabled
