"""`TrainConfig`: everything one training run needs besides the model and the data."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal


@dataclass
class TrainConfig:
    """Run settings; saved as ``config.json`` in the run folder and inside every checkpoint.

    Learning rate (training/schedules.py, stepped once per optimizer step):
    ``schedule="exponential"``: lr * decay_rate ** floor(step / decay_steps) (LV paper; smooth exponent
    when not ``staircase``; constant when ``decay_steps == 0``); ``"inverse_time"``: lr / (1 + time_decay
    * step) (rodent paper, with ``optimizer="sgd"`` and ``momentum``); ``"step"``: lr * decay_rate **
    floor(step / decay_steps); ``"cosine"``: linear warmup over ``warmup_steps``, then a cosine decay to 0
    at ``decay_steps`` (covid-interp); ``"constant"``.
    ``cpu_bf16``: bfloat16 autocast on CPUs with native bf16 instructions (AVX512-BF16; ignored elsewhere).
    ``best_metric`` is ``"<split>/<name>"`` (e.g. ``"val/loss"``, ``"val/dice_mean"``).
    ``max_steps`` caps the run's optimisation steps (a dry run of a long preset): the epoch in which the
    cap is reached ends early, is evaluated and checkpointed as usual, and no further epoch starts.
    """

    epochs: int = 10
    batch_size: int = 8
    lr: float = 1e-3
    decay_rate: float = 1.0
    decay_steps: int = 0
    staircase: bool = True
    schedule: Literal["exponential", "inverse_time", "step", "cosine", "constant"] = "exponential"
    warmup_steps: int = 0  # "cosine" schedule only
    time_decay: float = 0.0
    optimizer: Literal["adam", "sgd", "adamw"] = "adam"
    momentum: float = 0.9
    weight_decay: float = 0.0
    seed: int = 0
    device: str = "auto"
    amp: bool = True  # only takes effect on CUDA
    channels_last: bool = True  # only takes effect on CUDA
    cpu_bf16: bool = False  # bfloat16 autocast on a CPU with native bf16 (see class docstring)
    monitor_every: int = 0  # layer statistics every N steps; 0 = never
    best_metric: str = "val/loss"
    best_mode: Literal["min", "max"] = "min"
    run_dir: str | None = None
    task: Literal["segmentation", "classification"] = "segmentation"
    num_classes: int | None = None  # default: the model output's channel count
    num_workers: int = 0
    drop_last: bool = False  # drop a last, smaller training batch (BatchNorm cannot train on 1 sample)
    progress: bool = True
    grad_clip: float | None = None
    save_checkpoints: bool = True
    max_steps: int | None = None  # dry runs: stop after this many optimisation steps in all (None: every epoch)
    extra: dict[str, Any] = field(default_factory=dict)  # free-form notes (paper, data set, ...)

    def __post_init__(self) -> None:
        checks = {
            "epochs": self.epochs >= 1,
            "batch_size": self.batch_size >= 1,
            "lr": self.lr > 0,
            "decay_rate": 0 < self.decay_rate <= 1,
            "decay_steps": self.decay_steps >= 0,
            "optimizer": self.optimizer in ("adam", "sgd", "adamw"),
            "schedule": self.schedule in ("exponential", "inverse_time", "step", "cosine", "constant"),
            "warmup_steps": self.warmup_steps >= 0,
            "time_decay": self.time_decay >= 0,
            "best_mode": self.best_mode in ("min", "max"),
            "task": self.task in ("segmentation", "classification"),
            "monitor_every": self.monitor_every >= 0,
            "best_metric": "/" in self.best_metric,
            "max_steps": self.max_steps is None or self.max_steps >= 1,
        }
        bad = [name for name, ok in checks.items() if not ok]
        if bad:
            values = ", ".join(f"{name}={getattr(self, name)!r}" for name in bad)
            raise ValueError(f"TrainConfig: invalid {values}")

    @property
    def best_split(self) -> str:
        return self.best_metric.split("/", 1)[0]

    @property
    def best_name(self) -> str:
        return self.best_metric.split("/", 1)[1]

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "TrainConfig":
        """Build from a dict, ignoring keys this version does not know (older/newer run folders)."""
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})
