"""Train the paper's U-Net on skull-stripped slices: soft Dice, SGD + momentum, lr / (1 + decay * step).

``Config.lr_drop_epoch`` > 0 replaces the paper's (negligible) decay by one drop of the learning rate
(x ``lr_drop``) at that epoch; ``Config.loss = "dice_ce"`` adds cross-entropy to the soft Dice.

The best epoch by validation Dice (mean of WM / GM / CSF Dice per validation slice) is kept as
``best.pt``; the pipeline then adds the GBP mask templates and the input preparation to it
(``store_gbp_extras``), as plain data so that ``weights_only`` loading still works.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch.utils.data import TensorDataset

from medinterp_widgets.models import UNet
from medinterp_widgets.training import TrainConfig, Trainer
from medinterp_widgets.training.checkpoints import atomic_save, load_checkpoint, plain_data
from medinterp_widgets.training.losses import build_loss

from .augment import AugmentedSlices
from .config import Config

EXTRAS_KEY = "rodent_gbp"


def slice_dataset(images: np.ndarray, tissue: np.ndarray) -> TensorDataset:
    """(N, C, H, W) or (N, H, W) images and (N, H, W) tissue maps -> TensorDataset of ((N, C or 1, H, W)
    float32, (N, H, W) int64)."""
    x = torch.from_numpy(np.ascontiguousarray(images, np.float32))
    return TensorDataset(x[:, None] if x.dim() == 3 else x, torch.from_numpy(tissue.astype(np.int64)))


def training_set(config: Config, train: tuple[np.ndarray, np.ndarray]) -> TensorDataset | AugmentedSlices:
    """The training slices, under ``AugmentedSlices`` when any ``Config.augment_*`` is set."""
    dataset = slice_dataset(*train)
    if not config.augmenting:
        return dataset
    return AugmentedSlices(dataset, config.augment_rotation, config.augment_scale, config.augment_intensity,
                           config.augment_mirror)


def make_trainer(config: Config, dataset, run_dir: Path, device, callbacks=(), source: str = "",
                 val=None) -> Trainer:
    """The paper's U-Net (bg / WM / GM / CSF) and its Trainer (see the module docstring)."""
    torch.manual_seed(config.seed)
    model = UNet(in_channels=config.input_channels, n_classes=4, base_channels=config.base_channels, depth=config.depth)
    steps_per_epoch = max(len(dataset) // config.batch_size, 1)
    schedule = dict(schedule="inverse_time", time_decay=config.time_decay)
    if config.lr_drop_epoch > 0:  # lr * lr_drop ** floor(step / decay_steps): one drop within the run
        schedule = dict(schedule="step", decay_rate=config.lr_drop, decay_steps=config.lr_drop_epoch * steps_per_epoch)
    train_config = TrainConfig(
        epochs=config.epochs, batch_size=config.batch_size, lr=config.lr, optimizer=config.optimizer,
        momentum=config.momentum, **schedule, seed=config.seed,
        device=str(device), run_dir=str(run_dir), num_classes=4, drop_last=len(dataset) % config.batch_size == 1,
        best_metric="val/dice_mean" if val is not None else "train/loss",
        best_mode="max" if val is not None else "min", progress=config.progress, max_steps=config.limit_steps,
        extra={"paper": "rodent-gbp", "data": source, "input_size": list(config.slice_size or []) or None})
    loss = build_loss(config.loss, class_weights=config.dice_weights)
    return Trainer(model, dataset, val, train_config, loss=loss, callbacks=callbacks)


def train_unet(config: Config, train: tuple[np.ndarray, np.ndarray], val: tuple[np.ndarray, np.ndarray],
               run_dir: Path, device, callbacks=(), source: str = "") -> tuple[UNet, list]:
    """Train on (images, tissue) slices, select on the validation slices; returns (best model in eval
    mode, per-epoch history). Without validation slices the last epoch is kept."""
    val_set = slice_dataset(*val) if len(val[0]) else None
    trainer = make_trainer(config, training_set(config, train), run_dir, device, callbacks, source, val_set)
    history = trainer.fit()
    best = Path(run_dir) / "best.pt"
    model = trainer.base_model
    if val_set is not None and best.is_file():
        model.load_state_dict(load_checkpoint(best, map_location="cpu")["model_state"])
    return model.eval(), history


def store_gbp_extras(checkpoint: Path, extras: dict) -> None:
    """Add the rodent-gbp extras (templates as tensors, settings as plain data) to a checkpoint file."""
    payload = load_checkpoint(checkpoint)
    payload[EXTRAS_KEY] = {key: value if isinstance(value, torch.Tensor) else plain_data(value)
                           for key, value in extras.items()}
    atomic_save(payload, checkpoint)
