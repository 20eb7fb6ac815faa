"""What the run browser lists: run folders (``training.runs``) or Optuna trials, as uniform records.

    records = read_run_records("runs/lv")                 # a folder of run folders
    records = read_run_records("runs/lv-sweep/sweep.db")  # an Optuna SQLite file (trials + trial-<n>/ runs)
    records = read_run_records("postgresql+psycopg2://...", runs_root="runs/lv-sweep")

Each ``RunRecord`` holds the knobs (LR, decay rate, decay steps, heatmap weight, ...), a summary of
its metrics (best value of each validation curve: min for losses and distances, max otherwise),
per-epoch curves and the checkpoint to deploy (``best.pt``, else ``last.pt``). No UI here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from medinterp_widgets.training.runs import RunInfo, list_runs, load_run

KNOB_NAMES = ("lr", "decay_rate", "decay_steps", "batch_size", "epochs", "optimizer", "schedule", "weight_decay")
LOWER_IS_BETTER = ("loss", "apd", "distance", "hausdorff", "error")
TRIAL_FOLDER = "trial-{number}"


@dataclass
class RunRecord:
    """One row of the run browser."""

    key: str  # unique label: run folder relative to the source, or "trial <n>"
    params: dict[str, Any]
    summary: dict[str, float]  # column name -> value, e.g. "best val/dice_mean"
    curves: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)  # "val/loss" -> (x, y)
    checkpoint: Path | None = None
    status: str = ""
    primary: str = ""  # the summary column that ranks runs
    maximize: bool = False


def lower_is_better(metric: str) -> bool:
    """True for losses and distances (``val/loss``, ``apd_mm``), False for scores (Dice, accuracy)."""
    return any(word in metric.lower() for word in LOWER_IS_BETTER)


def read_run_records(source: str | os.PathLike, *, study_name: str | None = None,
                     runs_root: str | os.PathLike | None = None) -> list[RunRecord]:
    """Records of a runs folder, an Optuna ``.db`` file or an Optuna storage URL (``scheme://...``)."""
    text = str(source)
    if "://" in text:
        return study_records(text, study_name=study_name, runs_root=runs_root)
    path = Path(source)
    if path.is_file():
        return study_records(f"sqlite:///{path.resolve()}", study_name=study_name, runs_root=runs_root or path.parent)
    if not path.is_dir():
        raise FileNotFoundError(f"run source not found: {path} (expected a runs folder, a sweep .db file "
                                "or an Optuna storage URL)")
    return [record_from_run(info, path) for info in list_runs(path)]


def record_from_run(info: RunInfo, root: Path | None = None) -> RunRecord:
    """A record of one run folder: knobs from config.json, curves and best values from metrics.jsonl."""
    config = info.config
    params = {name: config[name] for name in KNOB_NAMES if name in config}
    params.update({name: value for name, value in config.get("extra", {}).items() if _is_scalar(value)})
    curves = run_curves(info)
    best_metric = config.get("best_metric", "val/loss")
    maximize = config.get("best_mode", "min") == "max"
    summary = {f"best {name}": _best(y, _maximize_for(name, best_metric, maximize))
               for name, (_, y) in curves.items() if name.startswith(_summary_split(curves))}
    summary["epochs done"] = float(info.epochs_completed)
    key = str(info.path.relative_to(root)) if root is not None and info.path != root else info.path.name
    return RunRecord(key=key, params=params, summary=summary, curves=curves,
                     checkpoint=info.best_checkpoint or info.last_checkpoint, status=info.status,
                     primary=f"best {best_metric}", maximize=maximize)


def run_curves(info: RunInfo) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``{"<split>/<metric>": (epoch numbers (k,) int32, 1-based, values (k,) float64)}`` from EpochEnd records."""
    points: dict[str, list[tuple[int, float]]] = {}
    for record in info.records:
        if record.get("event") != "EpochEnd":
            continue
        for split, values in record["metrics"].items():
            for name, value in values.items():
                if _is_number(value):
                    points.setdefault(f"{split}/{name}", []).append((int(record["epoch"]) + 1, float(value)))
    return {name: (np.array([p[0] for p in pairs], np.int32), np.array([p[1] for p in pairs], np.float64))
            for name, pairs in points.items()}


def study_records(storage_url: str, *, study_name: str | None = None,
                  runs_root: str | os.PathLike | None = None) -> list[RunRecord]:
    """Records of every trial of one study (or of all studies, keyed "<study> trial <n>")."""
    import optuna

    from medinterp_widgets.training.sweeps import open_storage

    storage = open_storage(storage_url)
    names = [study_name] if study_name else optuna.get_all_study_names(storage)
    records = []
    for name in names:
        study = optuna.load_study(study_name=name, storage=storage)
        prefix = f"{name} " if len(names) > 1 else ""
        records += [_trial_record(trial, study, prefix, runs_root) for trial in study.trials]
    return records


def _trial_record(trial, study, prefix: str, runs_root) -> RunRecord:
    maximize = study.direction.name == "MAXIMIZE"
    summary = {"value": float("nan") if trial.value is None else float(trial.value)}
    summary.update({name: float(value) for name, value in trial.user_attrs.items() if _is_number(value)})
    steps = sorted(trial.intermediate_values)
    curves = {"value": (np.array(steps, np.int32),
                        np.array([trial.intermediate_values[s] for s in steps], np.float64))} if steps else {}
    record = RunRecord(key=f"{prefix}trial {trial.number}", params=dict(trial.params), summary=summary,
                       curves=curves, status=trial.state.name.lower(), primary="value", maximize=maximize)
    folder = _trial_folder(trial, runs_root)
    if folder is not None:  # the trial's own run folder (trainer_objective): real curves and checkpoint
        run = record_from_run(load_run(folder))
        record.curves.update(run.curves)
        record.summary.update({k: v for k, v in run.summary.items() if k not in record.summary})
        record.checkpoint = run.checkpoint
    return record


def _trial_folder(trial, runs_root) -> Path | None:
    candidates = [trial.user_attrs.get("run_dir")]
    if runs_root is not None:
        candidates.append(Path(runs_root) / TRIAL_FOLDER.format(number=trial.number))
    for candidate in candidates:
        if candidate and (Path(candidate) / "config.json").is_file():
            return Path(candidate)
    return None


def _summary_split(curves: dict[str, Any]) -> str:
    """Summaries use the validation curves when there are any, else the training curves."""
    return "val/" if any(name.startswith("val/") for name in curves) else "train/"


def _maximize_for(name: str, best_metric: str, best_is_max: bool) -> bool:
    return best_is_max if name == best_metric else not lower_is_better(name)


def _best(values: np.ndarray, maximize: bool) -> float:
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return float("nan")
    return float(finite.max() if maximize else finite.min())


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_scalar(value: Any) -> bool:
    return isinstance(value, (int, float, str, bool))
