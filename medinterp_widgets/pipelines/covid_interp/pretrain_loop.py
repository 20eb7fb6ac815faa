"""The epoch loop both pretrainings share (SimCLR in ``ssl.py``, simulated lesions in ``synthetic.py``).

AdamW, linear warmup then cosine decay (``training.schedules.warmup_cosine_scheduler``); each epoch
visits ``count // batch_size`` batches of a fresh permutation drawn from one seeded
generator, which is also handed to ``batch_loss`` for its random views.
"""

from __future__ import annotations

import time
from typing import Callable

import torch

from medinterp_widgets.training.schedules import warmup_cosine_scheduler


def pretrain_epochs(parameters, count: int, batch_loss: Callable[[torch.Tensor, torch.Generator], torch.Tensor], *,
                    epochs: int, batch_size: int, lr: float, weight_decay: float, warmup_epochs: float = 1.0,
                    seed: int = 0, max_steps: int | None = None, progress=None) -> list[dict]:
    """Minimise ``batch_loss(rows, generator)`` (rows: item indices of one batch; autocast is the caller's)
    over ``epochs``; one row per epoch: ``{"epoch", "loss" (mean over its batches), "cpu_seconds"}``.
    ``max_steps`` caps the steps (dry runs)."""
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.AdamW(parameters, lr=lr, weight_decay=weight_decay)
    per_epoch = max(1, count // batch_size)
    total = max(1, epochs * per_epoch)
    schedule = warmup_cosine_scheduler(optimizer, warmup=max(1, int(warmup_epochs * per_epoch)), total=total)
    history, step, started = [], 0, time.process_time()
    for epoch in range(epochs):
        order = torch.randperm(count, generator=generator)
        losses = []
        for start in range(0, per_epoch * batch_size, batch_size):
            loss = batch_loss(order[start:start + batch_size], generator)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            losses.append(loss.item())
            step += 1
            if max_steps is not None and step >= max_steps:
                break
        history.append({"epoch": epoch + 1, "loss": float(sum(losses) / len(losses)),
                        "cpu_seconds": time.process_time() - started})
        if progress is not None:
            progress(history[-1])
        if max_steps is not None and step >= max_steps:
            break
    return history
