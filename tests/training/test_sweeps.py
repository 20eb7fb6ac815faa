"""Sweeps: search space, config updates, and concurrent workers on SQLite / PostgreSQL lose no trial."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import optuna
import pytest

from medinterp_widgets.training.config import TrainConfig
from medinterp_widgets.training.sweeps import (
    Choice,
    FloatRange,
    IntRange,
    apply_params,
    lv_search_space,
    open_storage,
    sweep,
)

ROOT = Path(__file__).resolve().parents[2]
WORKER = textwrap.dedent("""
    import sys, optuna
    from medinterp_widgets.training.sweeps import lv_search_space, sweep
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage, worker = sys.argv[1], int(sys.argv[2])
    sweep(lambda p: (p["lr"] - 1e-3) ** 2 + p["decay_rate"], lv_search_space(heatmap=True), n_trials=6,
          storage=storage if storage != "-" else None, run_dir=sys.argv[3], study_name="shared",
          worker=worker)
""")


def _run_workers(tmp_path: Path, storage: str, count: int = 2) -> None:
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    children = [subprocess.Popen([sys.executable, str(script), storage, str(i), str(tmp_path)], cwd=ROOT, env=env,
                                 stderr=subprocess.PIPE, text=True) for i in range(count)]
    for child in children:
        _, err = child.communicate(timeout=240)
        assert child.returncode == 0, err


def _completed(storage) -> list[optuna.trial.FrozenTrial]:
    study = optuna.load_study(study_name="shared", storage=storage)
    return [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]


def test_space_values_stay_in_range(tmp_path):
    space = {"lr": FloatRange(1e-4, 1e-2, log=True), "steps": IntRange(10, 20), "opt": Choice(("adam", "sgd"))}
    seen = []
    study = sweep(lambda p: seen.append(p) or 0.0, space, n_trials=4, run_dir=tmp_path, seed=3)
    assert len(study.trials) == 4 and (tmp_path / "sweep.db").is_file()
    for params in seen:
        assert 1e-4 <= params["lr"] <= 1e-2 and 10 <= params["steps"] <= 20 and params["opt"] in ("adam", "sgd")


def test_objective_can_take_the_trial(tmp_path):
    study = sweep(lambda p, trial: trial.number, {"x": FloatRange(0, 1)}, n_trials=3, run_dir=tmp_path,
                  direction="maximize")
    assert study.best_value == 2


def test_apply_params_updates_config_and_extra():
    config = apply_params(TrainConfig(), {"lr": 0.01, "decay_steps": 500, "heatmap_weight": 2.0})
    assert config.lr == 0.01 and config.decay_steps == 500 and config.extra["heatmap_weight"] == 2.0
    assert set(lv_search_space(heatmap=True)) == {"lr", "decay_rate", "decay_steps", "heatmap_weight"}


def test_two_sqlite_workers_record_every_trial(tmp_path):
    _run_workers(tmp_path, "-")
    trials = _completed(open_storage(None, tmp_path))
    assert len(trials) == 12
    assert len({t.number for t in trials}) == 12


def test_two_postgres_workers_record_every_trial(tmp_path, postgres_url):
    _run_workers(tmp_path, postgres_url)
    assert len(_completed(postgres_url)) == 12


def test_trainer_objective_runs_one_training_per_trial(tmp_path, seg_data, make_seg_model):
    from medinterp_widgets.training.sweeps import trainer_objective
    from medinterp_widgets.training.trainer import Trainer

    train, val = seg_data
    base = TrainConfig(epochs=2, batch_size=8, progress=False, run_dir=str(tmp_path), best_metric="val/loss")
    objective = trainer_objective(base, lambda config: Trainer(make_seg_model(), train, val, config))
    study = sweep(objective, lv_search_space(heatmap=True), n_trials=2, run_dir=tmp_path, seed=1)
    assert [t.state.name for t in study.trials] == ["COMPLETE", "COMPLETE"]
    trial_config = json.loads((tmp_path / "trial-0" / "config.json").read_text())
    assert trial_config["lr"] == study.trials[0].params["lr"]
    assert trial_config["extra"]["heatmap_weight"] == study.trials[0].params["heatmap_weight"]


def test_table_creation_race_is_retried():
    """Two PostgreSQL workers creating the schema at once: the loser sees 'relation ... already exists'."""
    from sqlalchemy.exc import ProgrammingError

    from medinterp_widgets.training.sweeps import _retry

    calls = []

    def create_tables():
        calls.append(1)
        if len(calls) == 1:
            raise ProgrammingError("CREATE TABLE studies", {}, Exception('relation "studies" already exists'))
        return "ready"

    assert _retry(create_tables, delay_s=0.0) == "ready" and len(calls) == 2


KILLED_WORKER = textwrap.dedent("""
    import os, signal, sys, time, optuna
    from medinterp_widgets.training.sweeps import FloatRange, sweep
    optuna.logging.set_verbosity(optuna.logging.WARNING)

    def objective(params):
        time.sleep(1.5)  # the trial's heartbeat is recorded meanwhile
        os.kill(os.getpid(), signal.SIGKILL)

    sweep(objective, {"x": FloatRange(0, 1)}, n_trials=1, storage=sys.argv[1], study_name="killed",
          heartbeat_interval=1, grace_period=2)
""")


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_killed_workers_trial_ends_failed_and_is_retried(tmp_path, request, backend):
    storage = f"sqlite:///{tmp_path / 'sweep.db'}" if backend == "sqlite" else request.getfixturevalue("postgres_url")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    child = subprocess.run([sys.executable, "-c", KILLED_WORKER, storage], cwd=ROOT, env=env, capture_output=True,
                           text=True, timeout=240)
    assert child.returncode == -9, child.stderr[-2000:]
    killed = optuna.load_study(study_name="killed", storage=storage).trials
    assert [t.state.name for t in killed] == ["RUNNING"]  # what a killed worker leaves behind
    time.sleep(3)  # past the grace period
    seen = []
    study = sweep(lambda p: seen.append(p["x"]) or p["x"], {"x": FloatRange(0, 1)}, n_trials=2, storage=storage,
                  study_name="killed", heartbeat_interval=1, grace_period=2)
    states = {t.number: t for t in study.trials}
    assert states[0].state.name == "FAIL"
    retried = [t for t in study.trials if t.system_attrs.get("failed_trial") == 0]
    assert len(retried) == 1 and retried[0].state.name == "COMPLETE"
    assert retried[0].params == states[0].params and seen[0] == states[0].params["x"]
    assert not [t for t in study.trials if t.state.name == "RUNNING"]
