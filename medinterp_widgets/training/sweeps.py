"""Hyper-parameter sweeps on Optuna, with a storage several worker processes can share.

    space = lv_search_space(heatmap=True)
    study = sweep(objective, space, n_trials=20, run_dir="runs/lv-sweep")   # sqlite:///runs/lv-sweep/sweep.db
    study.best_params

``objective(params)`` (or ``objective(params, trial)`` to report/prune) returns the value to optimise.
Workers on several machines share any SQLAlchemy URL (``postgresql+psycopg2://user@host/db``): start
``sweep(..., storage=URL, study_name=NAME)`` in each; the study is created once and loaded by the rest.
On SQLite the database runs in WAL mode with a 60 s busy timeout, and study creation retries on
'database is locked', so concurrent local workers lose no trial.

Workers send Optuna heartbeats (every ``heartbeat_interval`` s): a trial whose worker was killed stops
beating, and the next trial any worker starts marks it FAILED (after ``grace_period`` s) and queues a
retry with the same parameters (``max_retry`` times), so no trial stays RUNNING forever.
"""

from __future__ import annotations

import dataclasses
import inspect
import sqlite3
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Literal, Union

import optuna
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError

SQLITE_TIMEOUT_S = 60
SWEEP_DB = "sweep.db"
HEARTBEAT_S = 60  # a killed worker's trial is failed and retried HEARTBEAT_S x 2 after its last beat
MAX_RETRY = 2
# ProgrammingError: PostgreSQL's "relation ... already exists" when two workers create the tables at once
_RACE_ERRORS = (OperationalError, IntegrityError, ProgrammingError, sqlite3.OperationalError,
                optuna.exceptions.DuplicatedStudyError, optuna.exceptions.StorageInternalError)


@dataclass(frozen=True)
class FloatRange:
    low: float
    high: float
    log: bool = False


@dataclass(frozen=True)
class IntRange:
    low: int
    high: int
    log: bool = False


@dataclass(frozen=True)
class Choice:
    options: tuple


SearchSpace = dict[str, Union[FloatRange, IntRange, Choice]]


def lv_search_space(heatmap: bool = False) -> SearchSpace:
    """The LV paper's search: initial LR (log scale), decay rate, decay steps; + heatmap-loss weight."""
    space: SearchSpace = {"lr": FloatRange(1e-5, 1e-2, log=True), "decay_rate": FloatRange(0.5, 1.0),
                          "decay_steps": IntRange(100, 10_000, log=True)}
    if heatmap:
        space["heatmap_weight"] = FloatRange(1e-3, 10.0, log=True)
    return space


def suggest(trial: optuna.Trial, space: SearchSpace) -> dict[str, Any]:
    """Draw one value per entry of ``space`` from ``trial``."""
    params: dict[str, Any] = {}
    for name, spec in space.items():
        if isinstance(spec, FloatRange):
            params[name] = trial.suggest_float(name, spec.low, spec.high, log=spec.log)
        elif isinstance(spec, IntRange):
            params[name] = trial.suggest_int(name, spec.low, spec.high, log=spec.log)
        elif isinstance(spec, Choice):
            params[name] = trial.suggest_categorical(name, list(spec.options))
        else:
            raise ValueError(f"search space entry {name!r}: expected FloatRange, IntRange or Choice, "
                             f"got {type(spec).__name__}")
    return params


def apply_params(config: Any, params: dict[str, Any]) -> Any:
    """A copy of a dataclass config with the sampled values; unknown names go into ``config.extra``."""
    known = {f.name for f in dataclasses.fields(config)}
    extra = {**getattr(config, "extra", {}), **{k: v for k, v in params.items() if k not in known}}
    updates = {k: v for k, v in params.items() if k in known}
    if "extra" in known:
        updates["extra"] = extra
    return dataclasses.replace(config, **updates)


def trainer_objective(base_config: Any, make_trainer: Callable[[Any], Any]) -> Callable[[dict, optuna.Trial], float]:
    """An objective that trains one run per trial and returns its best ``base_config.best_metric``.

    ``make_trainer(config) -> Trainer`` builds model + data for a config (the sampled values applied by
    ``apply_params``; heatmap_weight etc. in ``config.extra``). Each trial runs in
    ``<run_dir>/trial-<n>``; the metric is reported to Optuna after every epoch and a pruned trial is
    ended with ``Trainer.stop()``.
    """
    def objective(params: dict[str, Any], trial: optuna.Trial) -> float:
        from medinterp_widgets.training.events import EpochEnd

        run_dir = str(Path(base_config.run_dir or ".") / f"trial-{trial.number}")
        config = dataclasses.replace(apply_params(base_config, params), run_dir=run_dir)
        trainer = make_trainer(config)
        split, name = config.best_split, config.best_name

        def report(event: Any) -> None:
            if isinstance(event, EpochEnd) and name in event.metrics.get(split, {}):
                trial.report(event.metrics[split][name], step=event.epoch)
                if trial.should_prune():
                    trainer.stop()

        trainer.callbacks.append(report)
        trainer.fit()
        if trainer.best_value is None:
            raise optuna.TrialPruned(f"no finite {config.best_metric} recorded")
        if trial.should_prune():
            raise optuna.TrialPruned()
        return trainer.best_value

    return objective


def open_storage(storage: str | None = None, run_dir: str | Path = ".", *, heartbeat_interval: int | None = None,
                 grace_period: int | None = None, max_retry: int = MAX_RETRY) -> optuna.storages.RDBStorage:
    """An RDBStorage for ``storage`` (any SQLAlchemy URL) or ``sqlite:///<run_dir>/sweep.db``; with
    ``heartbeat_interval`` (s) its trials send heartbeats and stale ones are failed and retried."""
    if storage is None:
        folder = Path(run_dir)
        folder.mkdir(parents=True, exist_ok=True)
        storage = f"sqlite:///{(folder / SWEEP_DB).resolve()}"
    engine_kwargs: dict[str, Any] = {}
    if storage.startswith("sqlite:///"):
        _enable_wal(Path(storage.removeprefix("sqlite:///")))
        engine_kwargs["connect_args"] = {"timeout": SQLITE_TIMEOUT_S}
    heartbeat = _heartbeat_options(heartbeat_interval, grace_period, max_retry)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return _retry(lambda: optuna.storages.RDBStorage(storage, engine_kwargs=engine_kwargs, **heartbeat))


def _heartbeat_options(interval: int | None, grace_period: int | None, max_retry: int) -> dict[str, Any]:
    """RDBStorage keywords for heartbeats + retrying stale trials (Optuna >= 4.9 names, else the old ones)."""
    if interval is None:
        return {}
    retry = getattr(optuna.storages, "RetryHeartbeatStaleTrialCallback", None)
    key = "heartbeat_stale_trial_callback"
    if retry is None:  # Optuna < 4.9
        retry, key = optuna.storages.RetryFailedTrialCallback, "failed_trial_callback"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        callback = retry(max_retry=max_retry)
    return {"heartbeat_interval": int(interval), "grace_period": grace_period, key: callback}


def sweep(objective: Callable[..., float], space: SearchSpace, n_trials: int, *, storage: str | None = None,
          study_name: str = "sweep", direction: Literal["minimize", "maximize"] = "minimize", seed: int | None = 0,
          worker: int = 0, run_dir: str | Path = ".", max_total_trials: int | None = None,
          heartbeat_interval: int = HEARTBEAT_S, grace_period: int | None = None,
          max_retry: int = MAX_RETRY) -> optuna.Study:
    """Run ``n_trials`` trials in this process on a shared study (created once, then loaded).

    The TPE sampler is seeded with ``seed + worker`` so parallel workers explore different points.
    ``max_total_trials`` stops every worker once the study as a whole holds that many trials.
    Heartbeats: see the module docstring (``grace_period`` default: 2 x ``heartbeat_interval``).
    """
    rdb = open_storage(storage, run_dir, heartbeat_interval=heartbeat_interval, grace_period=grace_period,
                       max_retry=max_retry)
    sampler = optuna.samplers.TPESampler(seed=None if seed is None else seed + worker)
    study = _retry(lambda: optuna.create_study(storage=rdb, study_name=study_name, direction=direction,
                                               sampler=sampler, load_if_exists=True))
    wants_trial = len(inspect.signature(objective).parameters) >= 2

    def run_trial(trial: optuna.Trial) -> float:
        params = suggest(trial, space)
        return objective(params, trial) if wants_trial else objective(params)

    _optimize_until_done(study, run_trial, n_trials, max_total_trials)
    return study


def _optimize_until_done(study: optuna.Study, run_trial, n_trials: int, max_total_trials: int | None,
                         attempts: int = 8) -> None:
    """``study.optimize`` that survives a storage race mid-sweep: finish ``n_trials`` recorded trials."""
    finished: list[int] = []
    callbacks = [lambda _study, trial: finished.append(trial.number)]
    if max_total_trials:
        callbacks.append(optuna.study.MaxTrialsCallback(max_total_trials))
    for attempt in range(attempts):
        try:
            study.optimize(run_trial, n_trials=n_trials - len(finished), callbacks=callbacks, gc_after_trial=False)
            return
        except _RACE_ERRORS as error:
            if attempt == attempts - 1 or not _is_race(error):
                raise
            time.sleep(0.2 * (2**attempt))


def _enable_wal(path: Path) -> None:
    """WAL lets readers and one writer work at once; the setting persists in the database file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    _retry(lambda: _set_wal(path))


def _set_wal(path: Path) -> None:
    with sqlite3.connect(path, timeout=SQLITE_TIMEOUT_S) as connection:
        connection.execute("PRAGMA journal_mode=WAL")
    connection.close()


def _retry(action: Callable[[], Any], attempts: int = 8, delay_s: float = 0.2) -> Any:
    """Run ``action``, retrying races of concurrent workers (locked database, study created twice)."""
    for attempt in range(attempts):
        try:
            return action()
        except _RACE_ERRORS as error:
            if attempt == attempts - 1 or not _is_race(error):
                raise
            time.sleep(delay_s * (2**attempt))
    raise AssertionError("unreachable")


def _is_race(error: BaseException) -> bool:
    text = " ".join(str(e).lower() for e in (error, error.__cause__) if e is not None)
    words = ("locked", "busy", "unique", "duplicate", "already exists", "could not serialize", "deadlock")
    return any(word in text for word in words)
