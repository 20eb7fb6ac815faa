"""Learning-rate schedules of the reproduced papers, as pure functions and torch LambdaLR factories.

Step convention: ``step`` counts optimizer steps (TensorFlow's global_step); call
``scheduler.step()`` once after every ``optimizer.step()``. LambdaLR multiplies each param group's
initial lr by ``factor(step)``. Factors are ``functools.partial`` objects: the scheduler's state dict
then holds only plain data (``last_epoch`` etc.), so checkpoints load with ``weights_only=True``.

- LV paper (exponential decay): lr(step) = lr0 * decay_rate ** floor(step / decay_steps) (staircase),
  or lr0 * decay_rate ** (step / decay_steps) (smooth).
- Rodent paper (SGD with momentum and Keras-style time decay): lr(step) = lr0 / (1 + decay * step);
  or step decay: lr(step) = lr0 * drop ** floor(step / every).
- Warmup + cosine (covid-interp): lr0 * (step + 1) / warmup during the first ``warmup`` steps, then
  lr0 * (1 + cos(pi * t)) / 2 with t = (step - warmup) / (total - warmup) clipped to [0, 1].
"""

from __future__ import annotations

import math
from functools import partial
from typing import Callable

import torch
from torch.optim.lr_scheduler import LambdaLR


def exponential_decay_factor(step: int, decay_rate: float, decay_steps: int, staircase: bool = True) -> float:
    """decay_rate ** floor(step / decay_steps) (staircase) or decay_rate ** (step / decay_steps)."""
    _check_positive(decay_steps=decay_steps, decay_rate=decay_rate)
    exponent = step // decay_steps if staircase else step / decay_steps
    return decay_rate**exponent


def exponential_decay_lr(step: int, lr0: float, decay_rate: float, decay_steps: int, staircase: bool = True) -> float:
    """lr0 * decay_rate ** floor(step / decay_steps) (the LV paper's staircase; smooth if staircase=False)."""
    return lr0 * exponential_decay_factor(step, decay_rate, decay_steps, staircase)


def inverse_time_decay_lr(step: int, lr0: float, decay: float) -> float:
    """lr0 / (1 + decay * step): Keras SGD(decay=...) as used with momentum in the rodent paper."""
    _check_non_negative(decay=decay)
    return lr0 / (1.0 + decay * step)


def step_decay_lr(step: int, lr0: float, drop: float, every: int) -> float:
    """lr0 * drop ** floor(step / every)."""
    _check_positive(every=every, drop=drop)
    return lr0 * drop ** (step // every)


def warmup_cosine_factor(step: int, warmup: int, total: int) -> float:
    """(step + 1) / warmup while step < warmup, then (1 + cos(pi t)) / 2, t = (step - warmup) / (total - warmup)."""
    _check_positive(total=total)
    _check_non_negative(warmup=warmup)
    if step < warmup:
        return (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return 0.5 * (1.0 + math.cos(math.pi * progress))


def warmup_cosine_scheduler(optimizer: torch.optim.Optimizer, warmup: int, total: int) -> LambdaLR:
    """LambdaLR with ``warmup_cosine_factor`` (linear warmup, then cosine decay to 0 at ``total`` steps)."""
    _check_positive(total=total)
    return LambdaLR(optimizer, partial(warmup_cosine_factor, warmup=warmup, total=total))


def exponential_decay_scheduler(optimizer: torch.optim.Optimizer, decay_rate: float, decay_steps: int,
                                staircase: bool = True) -> LambdaLR:
    """LambdaLR with factor decay_rate ** floor(step / decay_steps) (smooth exponent if not staircase)."""
    _check_positive(decay_steps=decay_steps, decay_rate=decay_rate)
    return LambdaLR(optimizer, partial(exponential_decay_factor, decay_rate=decay_rate,
                                       decay_steps=decay_steps, staircase=staircase))


def inverse_time_decay_scheduler(optimizer: torch.optim.Optimizer, decay: float) -> LambdaLR:
    """LambdaLR with factor 1 / (1 + decay * step)."""
    _check_non_negative(decay=decay)
    return LambdaLR(optimizer, partial(inverse_time_decay_lr, lr0=1.0, decay=decay))


def step_decay_scheduler(optimizer: torch.optim.Optimizer, drop: float, every: int) -> LambdaLR:
    """LambdaLR with factor drop ** floor(step / every)."""
    _check_positive(every=every, drop=drop)
    return LambdaLR(optimizer, partial(step_decay_lr, lr0=1.0, drop=drop, every=every))


def sgd_with_decay(params, lr: float = 0.01, momentum: float = 0.9, decay: float = 1e-6,
                   nesterov: bool = False, weight_decay: float = 0.0) -> tuple[torch.optim.SGD, LambdaLR]:
    """The rodent paper's optimiser: SGD with momentum and lr / (1 + decay * step); returns (opt, sched)."""
    optimizer = torch.optim.SGD(params, lr=lr, momentum=momentum, nesterov=nesterov, weight_decay=weight_decay)
    return optimizer, inverse_time_decay_scheduler(optimizer, decay)


SCHEDULES: dict[str, Callable[..., LambdaLR]] = {
    "exponential": exponential_decay_scheduler,
    "inverse_time": inverse_time_decay_scheduler,
    "step": step_decay_scheduler,
    "cosine": warmup_cosine_scheduler,
}


def build_scheduler(optimizer: torch.optim.Optimizer, name: str | None, **kwargs) -> LambdaLR | None:
    """Scheduler by name ('exponential', 'inverse_time', 'step'); None or 'constant' -> None."""
    if name in (None, "none", "constant"):
        return None
    if name not in SCHEDULES:
        raise ValueError(f"schedule name: expected one of {sorted(SCHEDULES)} or 'constant', got {name!r}")
    return SCHEDULES[name](optimizer, **kwargs)


def _check_positive(**values) -> None:
    for name, value in values.items():
        if not (isinstance(value, (int, float)) and value > 0 and math.isfinite(value)):
            raise ValueError(f"schedule {name}: expected a positive finite number, got {value!r}")


def _check_non_negative(**values) -> None:
    for name, value in values.items():
        if not (isinstance(value, (int, float)) and value >= 0 and math.isfinite(value)):
            raise ValueError(f"schedule {name}: expected a non-negative finite number, got {value!r}")
