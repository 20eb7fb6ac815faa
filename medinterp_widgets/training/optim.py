"""Optimizer and per-step LR scheduler from a TrainConfig (schedules come from training/schedules.py)."""

from __future__ import annotations

from functools import partial
from typing import Any, Iterable

import torch
from torch.optim.lr_scheduler import LambdaLR

from medinterp_widgets.training import schedules
from medinterp_widgets.training.config import TrainConfig


def make_optimizer(parameters: Iterable[torch.nn.Parameter], config: TrainConfig) -> torch.optim.Optimizer:
    """Adam (LV paper), SGD with momentum (rodent, covid papers) or AdamW (decoupled decay), with ``weight_decay``."""
    if config.optimizer == "sgd":
        return torch.optim.SGD(parameters, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay)
    if config.optimizer == "adamw":
        return torch.optim.AdamW(parameters, lr=config.lr, weight_decay=config.weight_decay)
    return torch.optim.Adam(parameters, lr=config.lr, weight_decay=config.weight_decay)


def make_scheduler(optimizer: torch.optim.Optimizer, config: TrainConfig) -> LambdaLR:
    """The config's schedule; a constant LambdaLR when there is nothing to decay (so state always saves)."""
    kwargs: dict[str, Any] = {  # type: ignore[assignment]
        "exponential": dict(decay_rate=config.decay_rate, decay_steps=config.decay_steps, staircase=config.staircase),
        "inverse_time": dict(decay=config.time_decay),
        "step": dict(drop=config.decay_rate, every=config.decay_steps),
        "cosine": dict(warmup=config.warmup_steps, total=config.decay_steps),
    }.get(config.schedule, {})
    if config.schedule in ("exponential", "step", "cosine") and config.decay_steps == 0:
        kwargs = {}
    scheduler = schedules.build_scheduler(optimizer, config.schedule if kwargs else None, **kwargs)
    return scheduler or LambdaLR(optimizer, partial(_constant))


def _constant(step: int) -> float:
    return 1.0
