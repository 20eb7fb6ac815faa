"""The kernel-side record of one training run, as plot-ready columns (no bokeh, no widgets).

``MonitorHistory.add(event)`` turns Trainer events (training/events.py) into rows: one per optimizer
step (loss, lr, batch accuracy), one per epoch (train/val loss, accuracy, Dice, sensitivity,
specificity, PPV, NPV) and one gradient-norm column per LayerStats sample. ``since(cursor)`` returns
the rows a view has not drawn yet, so nothing is ever dropped: a view that falls behind catches up in
its next update, and a new view starts from ``since(Cursor())`` (the whole run).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from medinterp_widgets.training.events import CheckpointSaved, EpochEnd, LayerStats, RunEnded, RunStarted, StepEnd

STEP_COLUMNS = ("step", "epoch", "loss", "lr", "accuracy")
EPOCH_METRICS = ("loss", "accuracy", "dice_mean", "sensitivity", "specificity", "ppv", "npv")
SPLITS = ("train", "val")
EPOCH_COLUMNS = ("step", "epoch") + tuple(f"{split}_{name}" for split in SPLITS for name in EPOCH_METRICS)


@dataclass(frozen=True)
class Cursor:
    """How many step rows, epoch rows and layer samples a view has drawn."""

    steps: int = 0
    epochs: int = 0
    layers: int = 0


@dataclass
class Rows:
    """New rows for a view: column name -> list, plus the layer samples (layers x samples, log10 norms)."""

    steps: dict[str, list]
    epochs: dict[str, list]
    layer_steps: list[int]
    layer_log_norms: np.ndarray  # (n_layers, n_new_samples) float32, NaN where no gradient
    layer_every: int = 1  # steps between LayerStats samples (TrainConfig.monitor_every)

    def __bool__(self) -> bool:
        return bool(self.steps["step"] or self.epochs["step"] or self.layer_steps)


@dataclass
class MonitorHistory:
    """Every point of the run so far; append-only, so cursors into it stay valid."""

    steps: dict[str, list] = field(default_factory=lambda: {name: [] for name in STEP_COLUMNS})
    epochs: dict[str, list] = field(default_factory=lambda: {name: [] for name in EPOCH_COLUMNS})
    layer_names: tuple[str, ...] = ()
    layer_steps: list[int] = field(default_factory=list)
    layer_log_norms: list[list[float]] = field(default_factory=list)  # one list (n_layers,) per sample
    started: RunStarted | None = None
    ended: RunEnded | None = None
    best_checkpoint: str | None = None
    best_value: float | None = None
    best_epoch: int | None = None
    events_seen: int = 0
    start_time: float | None = None
    start_step: int = 0

    def add(self, event: Any) -> None:
        """Record one Trainer event (unknown event types are counted and ignored)."""
        self.events_seen += 1
        handler = _HANDLERS.get(type(event))
        if handler is not None:
            handler(self, event)

    # ----------------------------------------------------------------- event handlers
    def _on_run_started(self, event: RunStarted) -> None:
        self.started, self.ended = event, None
        self.start_time = time.monotonic()
        self.start_step = self.last_step

    def _on_step(self, event: StepEnd) -> None:
        row = {"step": event.step, "epoch": event.epoch, "loss": event.loss, "lr": event.lr,
               "accuracy": event.metrics.get("accuracy", math.nan)}
        for name in STEP_COLUMNS:
            self.steps[name].append(float(row[name]) if name not in ("step", "epoch") else int(row[name]))

    def _on_layers(self, event: LayerStats) -> None:
        names = tuple(stat.name for stat in event.layers)
        if self.layer_names and names != self.layer_names:
            raise ValueError(f"LayerStats at step {event.step}: layers {names} differ from {self.layer_names}")
        self.layer_names = names
        self.layer_steps.append(event.step)
        self.layer_log_norms.append([_log10(stat.grad_norm) for stat in event.layers])

    def _on_epoch(self, event: EpochEnd) -> None:
        self.epochs["step"].append(self.last_step)
        self.epochs["epoch"].append(event.epoch + 1)
        for split in SPLITS:
            values = event.metrics.get(split, {})
            for name in EPOCH_METRICS:
                self.epochs[f"{split}_{name}"].append(float(values.get(name, math.nan)))
        self._update_best(event)

    def _on_checkpoint(self, event: CheckpointSaved) -> None:
        if event.is_best:
            self.best_checkpoint = event.path

    def _on_run_ended(self, event: RunEnded) -> None:
        self.ended = event
        if event.best_value is not None:
            self.best_value = event.best_value

    def _update_best(self, event: EpochEnd) -> None:
        split, name, mode = self.best_metric
        split = split if split in event.metrics else "train"
        value = event.metrics.get(split, {}).get(name)
        if value is None or math.isnan(value):
            return
        if self.best_value is None or (value < self.best_value if mode == "min" else value > self.best_value):
            self.best_value, self.best_epoch = float(value), event.epoch + 1

    # ----------------------------------------------------------------- queries
    @property
    def last_step(self) -> int:
        return self.steps["step"][-1] if self.steps["step"] else 0

    @property
    def best_metric(self) -> tuple[str, str, str]:
        """(split, name, mode) of the run's best-checkpoint metric (default val/loss, min)."""
        config = self.started.config if self.started else {}
        split, _, name = str(config.get("best_metric", "val/loss")).partition("/")
        return split, name, str(config.get("best_mode", "min"))

    @property
    def layer_every(self) -> int:
        """Steps between LayerStats samples: the run's ``monitor_every``, else the smallest gap seen."""
        configured = int((self.started.config if self.started else {}).get("monitor_every") or 0)
        if configured:
            return configured
        gaps = np.diff(self.layer_steps)
        return max(int(gaps.min()), 1) if gaps.size else 1

    def cursor(self) -> Cursor:
        return Cursor(len(self.steps["step"]), len(self.epochs["step"]), len(self.layer_steps))

    def since(self, cursor: Cursor) -> Rows:
        """Rows added after ``cursor`` (copies; safe to hand to another thread)."""
        new_norms = self.layer_log_norms[cursor.layers:]
        matrix = np.asarray(new_norms, dtype=np.float32).T if new_norms else np.zeros((len(self.layer_names), 0),
                                                                                      np.float32)
        return Rows(steps={name: values[cursor.steps:] for name, values in self.steps.items()},
                    epochs={name: values[cursor.epochs:] for name, values in self.epochs.items()},
                    layer_steps=self.layer_steps[cursor.layers:], layer_log_norms=matrix,
                    layer_every=self.layer_every)

    def heat_matrix(self) -> np.ndarray:
        """log10 gradient norms, (n_layers, n_samples) float32."""
        return self.since(Cursor()).layer_log_norms

    def progress(self) -> dict[str, Any]:
        """epoch, step, totals, ETA in seconds (None before the first step), best metric, end reason."""
        started = self.started
        total_steps = started.total_epochs * started.steps_per_epoch if started else 0
        done = self.last_step - self.start_step
        eta = None
        if started and done > 0 and total_steps and self.ended is None:
            elapsed = time.monotonic() - (self.start_time or time.monotonic())
            eta = elapsed / done * max(total_steps - self.last_step, 0)
        split, name, _ = self.best_metric
        return {"epoch": (self.steps["epoch"][-1] + 1) if self.steps["epoch"] else 0,
                "epochs": started.total_epochs if started else 0, "step": self.last_step, "steps": total_steps,
                "eta_s": eta, "best_name": f"{split}/{name}", "best_value": self.best_value,
                "best_epoch": self.best_epoch, "ended": self.ended.reason if self.ended else None}


def _log10(value: float) -> float:
    return math.log10(value) if value > 0 and math.isfinite(value) else math.nan


_HANDLERS = {RunStarted: MonitorHistory._on_run_started, StepEnd: MonitorHistory._on_step,
             LayerStats: MonitorHistory._on_layers, EpochEnd: MonitorHistory._on_epoch,
             CheckpointSaved: MonitorHistory._on_checkpoint, RunEnded: MonitorHistory._on_run_ended}


def status_text(progress: dict[str, Any]) -> str:
    """One status line: ``epoch 2/5 · step 40/100 · ETA 0:12 · best val/loss 0.231 (epoch 2)``."""
    if not progress["epochs"]:
        return "waiting for the run to start"
    parts = [f"epoch {progress['epoch']}/{progress['epochs']}", f"step {progress['step']}/{progress['steps']}"]
    if progress["eta_s"] is not None:
        minutes, seconds = divmod(int(round(progress["eta_s"])), 60)
        parts.append(f"ETA {minutes}:{seconds:02d}")
    if progress["best_value"] is not None:
        where = f" (epoch {progress['best_epoch']})" if progress["best_epoch"] else ""
        parts.append(f"best {progress['best_name']} {progress['best_value']:.4g}{where}")
    if progress["ended"]:
        parts.append(f"run {progress['ended']}")
    return " · ".join(parts)
