"""Training engine: Trainer with events, losses (incl. heatmap loss), schedules, checkpoints, sweeps.

    from medinterp_widgets.training import Trainer, TrainConfig
    trainer = Trainer(model, train_set, val_set, TrainConfig(epochs=20, lr=1e-3, decay_rate=0.9,
                      decay_steps=500, run_dir="runs/lv"), callbacks=[print])
    trainer.fit()            # trainer.stop() from another thread ends it after the current step

Sweeps (Optuna) and evaluation are imported on first use: ``training.sweep``, ``training.evaluate_checkpoint``.
"""

from medinterp_widgets.training.checkpoints import atomic_save, build_model, load_checkpoint, model_spec
from medinterp_widgets.training.config import TrainConfig
from medinterp_widgets.training.distributed import DistributedContext
from medinterp_widgets.training.events import (CheckpointSaved, EpochEnd, Evaluation, LayerStat, LayerStats,
                                               RunEnded, RunStarted, StepEnd, to_record)
from medinterp_widgets.training.monitor import LayerMonitor
from medinterp_widgets.training.runs import RunInfo, list_runs, load_run
from medinterp_widgets.training.trainer import Trainer

_LAZY = {
    "sweep": "sweeps", "lv_search_space": "sweeps", "FloatRange": "sweeps", "IntRange": "sweeps",
    "Choice": "sweeps", "apply_params": "sweeps", "open_storage": "sweeps",
    "evaluate_checkpoint": "evaluate", "evaluate_model": "evaluate", "open_eval_data": "evaluate",
}

__all__ = [
    "CheckpointSaved", "DistributedContext", "EpochEnd", "Evaluation", "LayerMonitor", "LayerStat", "LayerStats",
    "RunEnded", "RunInfo", "RunStarted", "StepEnd", "TrainConfig", "Trainer", "atomic_save", "build_model",
    "list_runs", "load_checkpoint", "load_run", "model_spec", "to_record", *_LAZY,
]


def __getattr__(name: str):
    """Import Optuna / the data loaders only when a sweep or an evaluation is asked for."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"medinterp_widgets.training.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'medinterp_widgets.training' has no attribute {name!r}")
