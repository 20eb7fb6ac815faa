"""Training engine: Trainer with events, losses (incl. heatmap loss), schedules, checkpoints, sweeps.

    from medinterp_widgets.training import Trainer, TrainConfig
    trainer = Trainer(model, train_set, val_set, TrainConfig(epochs=20, lr=1e-3, decay_rate=0.9,
                      decay_steps=500, run_dir="runs/lv"), callbacks=[print])
    trainer.fit()            # trainer.stop() from another thread ends it after the current step

Names are imported on first use, so a sweep worker (``training.sweeps``) does not pay for torch and
``medinterp --help`` stays fast.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "checkpoints": ("atomic_save", "checkpoint_payload", "describe_model", "load_checkpoint", "model_from_checkpoint"),
    "config": ("TrainConfig",),
    "distributed": ("DistributedContext",),
    "events": ("CheckpointSaved", "EpochEnd", "Evaluation", "LayerStat", "LayerStats", "RunEnded", "RunStarted",
               "StepEnd", "to_record"),
    "monitor": ("LayerMonitor",),
    "layer_probe": ("probe_layers",),
    "runs": ("RunInfo", "list_runs", "load_run"),
    "trainer": ("Trainer",),
    "sweeps": ("Choice", "FloatRange", "IntRange", "apply_params", "lv_search_space", "open_storage", "sweep",
               "trainer_objective"),
    "evaluate": ("evaluate_checkpoint", "evaluate_model", "open_eval_data"),
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}
__all__ = sorted(_MODULE_OF)


def __getattr__(name: str):
    if name in _MODULE_OF:
        return getattr(importlib.import_module(f"medinterp_widgets.training.{_MODULE_OF[name]}"), name)
    raise AttributeError(f"module 'medinterp_widgets.training' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
