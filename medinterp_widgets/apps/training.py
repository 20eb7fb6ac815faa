"""The training page: pick a synthetic task, a tiny model and the schedule, press Start, watch it live.

Start builds the data, the model and a Trainer writing to a new run folder, attaches a fresh
TrainingMonitor and trains in a background thread (the page stays responsive; the monitor's Stop
button ends the run after the current step). When the run ends the page shows the run folder and
the best checkpoint.
"""

from __future__ import annotations

import html
import os
import tempfile
import time
from pathlib import Path

import ipywidgets as widgets
from traitlets import Unicode

from medinterp_widgets.apps.training_tasks import TASKS, task_datasets, tiny_model
from medinterp_widgets.training import TrainConfig, Trainer
from medinterp_widgets.training.events import RunEnded
from medinterp_widgets.widgets.training_monitor import TrainingMonitor

DEFAULT_TASK = "LV segmentation (synthetic cine)"


class TrainingApp(widgets.VBox):
    """Settings, Start, the live monitor and the result; ``status`` is the last message shown."""

    status = Unicode("")

    def __init__(self, runs_dir: str | os.PathLike | None = None, task: str = DEFAULT_TASK, *, n_train: int = 48,
                 n_val: int = 16, monitor_every: int = 2, **kwargs):
        super().__init__(**kwargs)
        self.runs_dir = Path(runs_dir) if runs_dir else Path(tempfile.gettempdir()) / "medinterp_runs"
        self.n_train, self.n_val, self.monitor_every = n_train, n_val, monitor_every
        self.trainer: Trainer | None = None
        self.monitor: TrainingMonitor | None = None
        self.task = widgets.Dropdown(options=list(TASKS), value=task, description="task",
                                     layout=widgets.Layout(width="420px"))
        self.model = widgets.Dropdown(description="model", layout=widgets.Layout(width="260px"))
        self.epochs = widgets.BoundedIntText(value=3, min=1, max=500, description="epochs")
        self.batch_size = widgets.BoundedIntText(value=8, min=1, max=256, description="batch size")
        self.lr = widgets.BoundedFloatText(value=1e-2, min=1e-6, max=1.0, step=1e-3, description="LR")
        self.decay_rate = widgets.BoundedFloatText(value=0.9, min=0.01, max=1.0, step=0.01, description="decay rate")
        self.decay_steps = widgets.BoundedIntText(value=10, min=0, max=100_000, description="decay steps")
        self.start_button = widgets.Button(description="Start", icon="play", button_style="success")
        self.start_button.add_class("mi-training-start")
        self.epochs.add_class("mi-training-epochs")
        self.message = widgets.HTML()
        self.message.add_class("mi-training-message")
        self.monitor_area = widgets.VBox()
        self.task.observe(lambda _: self._offer_models(), names="value")
        self.observe(lambda change: setattr(self.message, "value", _status_html(change["new"])), names="status")
        self.start_button.on_click(lambda _: self.start())
        self._offer_models()
        settings = widgets.VBox([widgets.HBox([self.task, self.model]),
                                 widgets.HBox([self.epochs, self.batch_size]),
                                 widgets.HBox([self.lr, self.decay_rate, self.decay_steps])])
        self.children = [widgets.HTML("<h3 style='margin:4px 0'>medinterp training</h3>"), settings,
                         widgets.HBox([self.start_button, self.message]), self.monitor_area]
        self.add_class("mi-training-app")
        self.status = f"ready; runs are written under {self.runs_dir}"

    def _offer_models(self) -> None:
        self.model.options = list(TASKS[self.task.value].models)
        self.model.value = self.model.options[0]

    def config(self, run_dir: str | None = None) -> TrainConfig:
        """The TrainConfig the current settings describe (LR decay: lr * rate ** floor(step / steps))."""
        task = TASKS[self.task.value]
        return TrainConfig(epochs=self.epochs.value, batch_size=self.batch_size.value, lr=self.lr.value,
                           decay_rate=self.decay_rate.value, decay_steps=self.decay_steps.value, task=task.kind,
                           num_classes=task.n_classes, best_metric=task.best_metric, best_mode=task.best_mode,
                           monitor_every=self.monitor_every, run_dir=run_dir, progress=False,
                           extra={"app": "training", "task": task.name, "model": self.model.value})

    def start(self) -> bool:
        """Build data, model and trainer from the settings and train in the background."""
        if self.monitor is not None and self.monitor.running:
            self.status = "a run is already in progress; press Stop first"
            return False
        task = TASKS[self.task.value]
        run_dir = self.runs_dir / f"{time.strftime('%Y%m%d-%H%M%S')}-{self.model.value.lower()}"
        try:
            train, val = task_datasets(task, self.n_train, self.n_val)
            model = tiny_model(self.model.value, task.n_classes)
            self.trainer = Trainer(model, train, val, self.config(str(run_dir)))
        except Exception as error:  # bad settings or data: say so, keep the page usable
            self.status = f"could not start: {type(error).__name__}: {error}"
            return False
        if self.monitor is not None:
            self.monitor.detach()
        self.monitor = TrainingMonitor(self.trainer, title=f"{task.name}: {self.model.value}")
        self.monitor.on_event(self._on_run_event)
        self.monitor_area.children = [self.monitor.view()]
        self.start_button.disabled = True
        self.status = f"training {self.model.value} on {task.name}; run folder {run_dir}"
        self.monitor.start()
        return True

    def _on_run_event(self, event) -> None:
        if not isinstance(event, RunEnded):
            return
        self.start_button.disabled = False
        best = self.monitor.history.best_checkpoint
        error = f"; error: {event.error}" if event.error else ""
        self.status = (f"run {event.reason} after {event.steps} steps{error}; run folder {self.trainer.run_dir}; "
                       f"best checkpoint {best or 'none'}")

    def wait(self, timeout_s: float | None = None) -> None:
        """Block until the background run ends (for scripts and tests)."""
        if self.monitor is not None and self.monitor.thread is not None:
            self.monitor.thread.join(timeout_s)
            self.monitor.flush()


def _status_html(text: str) -> str:
    return f"<span class='mi-status'>{html.escape(text)}</span>"


def build(runs_dir: str | os.PathLike | None = None, task: str = DEFAULT_TASK, **kwargs) -> TrainingApp:
    """The training app (``build_app("training", runs_dir=..., task=...)``)."""
    return TrainingApp(runs_dir=runs_dir, task=task, **kwargs)
