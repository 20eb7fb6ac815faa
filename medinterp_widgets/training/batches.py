"""Batches and loaders: unpack ``(x, y, ...)`` / ``{"image", "label", ...}`` items; seeded loaders."""

from __future__ import annotations

from typing import Any, Iterable, cast

import torch
from torch.utils.data import DataLoader, Dataset

from medinterp_widgets.training.distributed import DistributedContext
from medinterp_widgets.training.seeding import epoch_generator, seed_worker

INPUT_KEYS = ("image", "x", "input")
TARGET_KEYS = ("label", "mask", "target", "y")


def split_batch(batch: Any) -> tuple[torch.Tensor, torch.Tensor, dict[str, Any]]:
    """``(inputs, targets, extras)`` from a tuple/list ``(x, y, *rest)`` or a dict with image/label keys.

    Extras keep the remaining dict entries (or ``{"extra0": ...}`` for tuple items) for the loss.
    """
    if isinstance(batch, dict):
        x_key = _first_key(batch, INPUT_KEYS)
        y_key = _first_key(batch, TARGET_KEYS)
        extras = {k: v for k, v in batch.items() if k not in (x_key, y_key)}
        return batch[x_key], _class_map(batch[y_key], batch[x_key]), extras
    if isinstance(batch, (tuple, list)) and len(batch) >= 2:
        return batch[0], _class_map(batch[1], batch[0]), {f"extra{i}": item for i, item in enumerate(batch[2:])}
    raise ValueError(f"batch: expected (inputs, targets, ...) or a dict with keys {INPUT_KEYS} and {TARGET_KEYS}, "
                     f"got {type(batch).__name__}")


def to_device(value: Any, device: torch.device, channels_last: bool = False) -> Any:
    """Move tensors (also inside dicts/lists) to ``device``; 4-D float inputs optionally channels_last."""
    if isinstance(value, torch.Tensor):
        moved = value.to(device, non_blocking=True)
        if channels_last and moved.ndim == 4 and moved.is_floating_point():
            moved = moved.contiguous(memory_format=torch.channels_last)
        return moved
    if isinstance(value, dict):
        return {k: to_device(v, device) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(to_device(v, device) for v in value)
    return value


def make_loader(data: Dataset | DataLoader | Iterable, *, batch_size: int, shuffle: bool, seed: int, epoch: int,
                num_workers: int, context: DistributedContext, pin_memory: bool = False,
                drop_last: bool = False) -> Iterable:
    """A DataLoader whose order depends only on (seed, epoch); a given DataLoader is used as is.

    A training set with ``resample_epoch(generator)`` (items redrawn each epoch, its length fixed) gets a
    generator of (seed, epoch) before the epoch starts, so a resumed run draws like an uninterrupted one.
    """
    if isinstance(data, DataLoader) or not hasattr(data, "__getitem__"):
        return data
    if shuffle and hasattr(data, "resample_epoch"):
        data.resample_epoch(epoch_generator(seed, epoch))
    sampler = context.sampler(data, seed=seed, shuffle=shuffle)
    if sampler is not None:
        sampler.set_epoch(epoch)
    return DataLoader(cast(Dataset, data), batch_size=batch_size, shuffle=shuffle and sampler is None, sampler=sampler,
                      num_workers=num_workers, worker_init_fn=seed_worker, generator=epoch_generator(seed, epoch),
                      pin_memory=pin_memory, drop_last=drop_last)


def model_output_logits(output: Any) -> torch.Tensor:
    """The logits of a model output: the tensor itself, the first item of a tuple, or dict['logits']."""
    if isinstance(output, torch.Tensor):
        return output
    if isinstance(output, (tuple, list)) and output and isinstance(output[0], torch.Tensor):
        return output[0]
    if isinstance(output, dict) and isinstance(output.get("logits"), torch.Tensor):
        return output["logits"]
    raise ValueError(f"model output: expected a tensor, a tuple starting with one, or dict['logits'], "
                     f"got {type(output).__name__}")


def _class_map(target: Any, inputs: Any) -> Any:
    """A label map with a channel axis of 1, (B, 1, *S) like the inputs, becomes (B, *S) for the losses."""
    if (isinstance(target, torch.Tensor) and isinstance(inputs, torch.Tensor) and target.ndim == inputs.ndim
            and target.ndim > 2 and target.shape[1] == 1 and not target.is_floating_point()):
        return target[:, 0]  # (B, 1, *S) -> (B, *S)
    return target


def _first_key(batch: dict, keys: tuple[str, ...]) -> str:
    for key in keys:
        if key in batch:
            return key
    raise ValueError(f"batch dict: none of the keys {keys} found (has {sorted(batch)})")
