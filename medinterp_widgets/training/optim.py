"""Optimizer and LR schedule from a TrainConfig (schedule stand-in until training/schedules.py lands)."""

from __future__ import annotations

import math
from typing import Iterable

import torch

from medinterp_widgets.training.config import TrainConfig


def make_optimizer(parameters: Iterable[torch.nn.Parameter], config: TrainConfig) -> torch.optim.Optimizer:
    """Adam (LV paper) or SGD with momentum (rodent paper), both with ``weight_decay``."""
    if config.optimizer == "sgd":
        return torch.optim.SGD(parameters, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay)
    return torch.optim.Adam(parameters, lr=config.lr, weight_decay=config.weight_decay)


def make_scheduler(optimizer: torch.optim.Optimizer, config: TrainConfig) -> torch.optim.lr_scheduler.LRScheduler:
    """Per-step exponential decay: lr * decay_rate ** (step / decay_steps), floored when staircase."""
    def factor(step: int) -> float:
        if config.decay_steps <= 0:
            return 1.0
        exponent = step / config.decay_steps
        return config.decay_rate ** (math.floor(exponent) if config.staircase else exponent)

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
