"""LR schedules: values at known steps, LambdaLR integration, state dicts that load weights-only."""

from __future__ import annotations

import io

import pytest
import torch

from medinterp_widgets.training.schedules import (
    build_scheduler,
    exponential_decay_lr,
    exponential_decay_scheduler,
    inverse_time_decay_lr,
    sgd_with_decay,
    step_decay_lr,
    warmup_cosine_factor,
)


@pytest.mark.parametrize("step, expected", [(0, 0.1), (9, 0.1), (10, 0.05), (25, 0.025), (30, 0.0125)])
def test_exponential_staircase_values(step, expected):
    assert exponential_decay_lr(step, lr0=0.1, decay_rate=0.5, decay_steps=10) == pytest.approx(expected)


def test_exponential_smooth_values():
    assert exponential_decay_lr(5, 0.1, 0.5, 10, staircase=False) == pytest.approx(0.1 * 0.5**0.5)
    assert exponential_decay_lr(20, 0.1, 0.5, 10, staircase=False) == pytest.approx(0.025)


def test_inverse_time_and_step_decay_values():
    assert inverse_time_decay_lr(0, 0.01, 0.1) == pytest.approx(0.01)
    assert inverse_time_decay_lr(10, 0.01, 0.1) == pytest.approx(0.005)
    assert step_decay_lr(19, 1.0, 0.1, 10) == pytest.approx(0.1)


def _lrs(optimizer, scheduler, steps):
    seen = []
    for _ in range(steps):
        seen.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return seen


def test_lambda_lr_follows_the_formula_per_optimizer_step():
    optimizer = torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))], lr=0.2)
    scheduler = exponential_decay_scheduler(optimizer, decay_rate=0.5, decay_steps=3)
    assert _lrs(optimizer, scheduler, 7) == pytest.approx([0.2, 0.2, 0.2, 0.1, 0.1, 0.1, 0.05])


def test_warmup_cosine_values():
    """warmup 2, total 6: 1/2, 2/2, then (1 + cos(pi t)) / 2 for t = 0, 1/4, 1/2, 3/4, 1 (and 0 after)."""
    factors = [warmup_cosine_factor(step, warmup=2, total=6) for step in range(8)]
    assert factors == pytest.approx([0.5, 1.0, 1.0, 0.5 + 0.5 ** 1.5, 0.5, 0.5 - 0.5 ** 1.5, 0.0, 0.0])
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.4)
    scheduler = build_scheduler(optimizer, "cosine", warmup=0, total=2)
    assert _lrs(optimizer, scheduler, 3) == pytest.approx([0.4, 0.2, 0.0])


def test_sgd_with_decay_and_weights_only_state_dict():
    optimizer, scheduler = sgd_with_decay([torch.nn.Parameter(torch.zeros(1))], lr=0.01, momentum=0.9, decay=0.5)
    assert optimizer.param_groups[0]["momentum"] == 0.9
    assert _lrs(optimizer, scheduler, 3) == pytest.approx([0.01, 0.01 / 1.5, 0.01 / 2.0])
    buffer = io.BytesIO()
    torch.save(scheduler.state_dict(), buffer)
    buffer.seek(0)
    state = torch.load(buffer, weights_only=True)
    _, resumed = sgd_with_decay([torch.nn.Parameter(torch.zeros(1))], lr=0.01, decay=0.5)
    resumed.load_state_dict(state)
    assert resumed.last_epoch == 3


def test_build_scheduler_and_bad_values():
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    assert build_scheduler(optimizer, "constant") is None
    scheduler = build_scheduler(optimizer, "step", drop=0.5, every=2)
    rates = []
    for _ in range(5):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    assert rates == pytest.approx([1.0, 1.0, 0.5, 0.5, 0.25])  # lr * drop ** floor(step / every)
    with pytest.raises(ValueError, match="schedule name"):
        build_scheduler(optimizer, "cyclic")
    with pytest.raises(ValueError, match="schedule decay_steps: expected a positive"):
        exponential_decay_scheduler(optimizer, decay_rate=0.9, decay_steps=0)
