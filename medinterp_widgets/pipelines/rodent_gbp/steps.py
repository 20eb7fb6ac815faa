"""The pipeline's steps: train the U-Net, GBP mask placement per test slice, the translation experiment."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from scipy import ndimage
from torch.utils.data import TensorDataset

from medinterp_widgets.models import UNet
from medinterp_widgets.training import TrainConfig, Trainer
from medinterp_widgets.training.losses import SoftDiceLoss

from .config import Config
from .data import SliceSet, reference_indices
from .evaluate import saliency_shift, segment
from .gbp import (MaskTemplate, best_placement, brain_gbp, enhance_gradient, mask_template, place_mask,
                  remove_background, shift_image)


def make_trainer(config: Config, dataset, run_dir: Path, device, callbacks=(), source: str = "") -> Trainer:
    """The paper's U-Net (bg/WM/GM/CSF) and Trainer: soft Dice, SGD + momentum, lr / (1 + decay * step)."""
    torch.manual_seed(config.seed)
    model = UNet(in_channels=1, n_classes=4, base_channels=config.base_channels, depth=config.depth)
    train_config = TrainConfig(
        epochs=config.epochs, batch_size=config.batch_size, lr=config.lr, optimizer="sgd", momentum=config.momentum,
        schedule="inverse_time", time_decay=config.time_decay, seed=config.seed, device=str(device),
        run_dir=str(run_dir), num_classes=4, drop_last=len(dataset) % config.batch_size == 1,
        best_metric="train/loss", progress=config.progress, max_steps=config.limit_steps,
        extra={"paper": "rodent-gbp", "data": source, "input_size": list(config.slice_size or []) or None})
    return Trainer(model, dataset, None, train_config, loss=SoftDiceLoss(), callbacks=callbacks)


def train_unet(config: Config, train: SliceSet, run_dir: Path, device: torch.device, callbacks=()) -> tuple[UNet, list]:
    """Train ``make_trainer``'s U-Net on the skull-stripped slices; returns (model in eval mode, history)."""
    images = torch.from_numpy(train.images)[:, None]  # (N, H, W) -> (N, 1, H, W)
    dataset = TensorDataset(images, torch.from_numpy(train.labels.astype(np.int64)))
    trainer = make_trainer(config, dataset, run_dir, device, callbacks, source=train.source)
    history = trainer.fit()
    return trainer.base_model.eval(), history


@dataclass(frozen=True)
class GbpAnalysis:
    """Per test slice (N, H, W) arrays of the GBP step and the three segmentations."""

    gradients: np.ndarray
    enhanced: np.ndarray
    correlations: np.ndarray
    placed_masks: np.ndarray
    offsets: np.ndarray  # (N, 2) placement offsets
    seg_unmasked: np.ndarray
    seg_placed: np.ndarray
    seg_true_mask: np.ndarray


def enhance(config: Config, gradients: np.ndarray) -> np.ndarray:
    """The paper's enhancement of each map (N, H, W), then a Gaussian blur of ``config.smooth_sigma`` px."""
    enhanced = [enhance_gradient(g, eps=config.log_eps, centre=config.bump_centre, width=config.bump_width)
                for g in gradients]
    return np.stack([ndimage.gaussian_filter(e, config.smooth_sigma) if config.smooth_sigma else e for e in enhanced])


def reference_templates(config: Config, model, train: SliceSet, level: int, device) -> list[MaskTemplate]:
    """One MaskTemplate per training animal / phantom, from its skull-stripped slice nearest ``level``."""
    indices = reference_indices(train, int(level))
    enhanced = enhance(config, brain_gbp(model, train.images[indices], device))
    return [mask_template(train.masks[i], e, config.template_margin) for i, e in zip(indices, enhanced)]


def gbp_analysis(config: Config, model, train: SliceSet, test: SliceSet, device) -> GbpAnalysis:
    """Segment unmasked; GBP -> enhance -> correlate with the reference template -> place the mask;
    remove the background and segment again; also segment with the true mask for the upper bound."""
    gradients = brain_gbp(model, test.images, device)
    enhanced = enhance(config, gradients)
    placements = [best_placement(e, reference_templates(config, model, train, level, device))[1]
                  for e, level in zip(enhanced, test.levels)]
    placed = np.stack([p.mask for p in placements])
    cleaned = np.stack([remove_background(image, mask) for image, mask in zip(test.images, placed)])
    stripped = np.stack([remove_background(image, mask) for image, mask in zip(test.images, test.masks)])
    return GbpAnalysis(
        gradients=gradients, enhanced=enhanced, correlations=np.stack([p.correlation for p in placements]),
        placed_masks=placed, offsets=np.array([p.offset for p in placements]),
        seg_unmasked=segment(model, test.images, device), seg_placed=segment(model, cleaned, device),
        seg_true_mask=segment(model, stripped, device))


def translation_rows(config: Config, model, train: SliceSet, test: SliceSet, device, index: int) -> tuple[list, dict]:
    """Shift test slice ``index`` by each of ``config.shifts``: does the saliency follow, does placement recover it?

    The template that fits the unshifted slice best is kept for every shift.
    """
    image, level = test.images[index], int(test.levels[index])
    base_gradient = brain_gbp(model, image[None], device)[0]  # (H, W)
    templates = reference_templates(config, model, train, level, device)
    chosen, base = best_placement(enhance(config, base_gradient[None])[0], templates)
    moved = np.stack([shift_image(image, shift) for shift in config.shifts])
    gradients = brain_gbp(model, moved, device)
    enhanced = enhance(config, gradients)
    offsets = [place_mask(e, templates[chosen]).offset for e in enhanced]
    base_offset = base.offset
    rows = []
    for (dy, dx), gradient, offset in zip(config.shifts, gradients, offsets):
        sy, sx = saliency_shift(gradient, base_gradient)
        ry, rx = offset[0] - base_offset[0], offset[1] - base_offset[1]
        rows.append({"true dy": dy, "true dx": dx, "saliency dy": sy, "saliency dx": sx,
                     "recovered dy": ry, "recovered dx": rx, "error px": float(np.hypot(ry - dy, rx - dx))})
    return rows, {"images": moved, "gradients": gradients, "enhanced": enhanced}
