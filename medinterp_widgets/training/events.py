"""Typed events the Trainer emits, in order: RunStarted, StepEnd..., LayerStats (sampled),
EpochEnd, Evaluation (one per split), CheckpointSaved, ..., RunEnded.

A callback is any ``callable(event)``. ``to_record(event)`` turns an event into a JSON-ready dict
(``{"event": "EpochEnd", ...}``) for ``metrics.jsonl``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Callable, Literal

EndReason = Literal["completed", "stopped", "error"]


@dataclass(frozen=True)
class RunStarted:
    run_dir: str | None
    config: dict[str, Any]
    start_epoch: int  # 0 for a fresh run, >0 when resumed
    total_epochs: int
    steps_per_epoch: int


@dataclass(frozen=True)
class StepEnd:
    step: int  # global optimizer step, counted from 1 (lr: the rate this step used)
    epoch: int  # 0-based epoch the step belongs to
    loss: float
    lr: float
    metrics: dict[str, float] = field(default_factory=dict)  # batch metrics (e.g. accuracy)


@dataclass(frozen=True)
class LayerStat:
    """Summary of one module at a sampled step (NaN where a value does not apply)."""

    name: str
    grad_norm: float  # L2 norm over the module's own parameter gradients
    weight_mean: float
    weight_std: float
    activation_mean: float
    activation_std: float


@dataclass(frozen=True)
class LayerStats:
    step: int
    epoch: int
    layers: tuple[LayerStat, ...]


@dataclass(frozen=True)
class EpochEnd:
    epoch: int
    metrics: dict[str, dict[str, float]]  # split -> metric -> value, e.g. {"train": {...}, "val": {...}}
    seconds: float


@dataclass(frozen=True)
class Evaluation:
    epoch: int
    split: str
    metrics: dict[str, float]


@dataclass(frozen=True)
class CheckpointSaved:
    epoch: int
    path: str
    is_best: bool


@dataclass(frozen=True)
class RunEnded:
    reason: EndReason
    epochs_completed: int
    steps: int
    best_value: float | None = None
    error: str | None = None


Event = RunStarted | StepEnd | LayerStats | EpochEnd | Evaluation | CheckpointSaved | RunEnded
Callback = Callable[[Any], None]


def to_record(event: Any) -> dict[str, Any]:
    """``{"event": <class name>, **fields}`` with nested dataclasses turned into dicts."""
    return {"event": type(event).__name__, **dataclasses.asdict(event)}
