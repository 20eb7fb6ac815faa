"""Guided backprop of the brain prediction and the paper's enhancement of the gradient image.

1. ``brain_gbp``: guided backprop of ``BrainTarget`` (each brain class's logits summed over its own
   predicted region) w.r.t. the input, one map per slice.
2. ``enhancement_steps`` (paper, Fig. 5): linear expansion x1 = expand_max * |g| / max|g|, log
   compression x2 = log(1 + x1), z-score z = (x2 - mean) / std over the slice, and
   f(z) = exp(-((z - centre) / width)^2) (centre 2, width 0.5): keeps the pixels about two standard
   deviations above the mean log-gradient, where the brain-shaped response sits.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch
from scipy import ndimage
from torch import Tensor, nn

from medinterp_widgets.attribution import Target, attribute

from .data import model_channels, network_input

BRAIN_CLASSES = (1, 2, 3)
STEP_NAMES = ("linear expansion", "log compression", "z-score", "f(z)")


@dataclass(frozen=True)
class BrainTarget(Target):
    """Sum over the brain classes c of ``output[b, c]`` inside the region predicted as c (fixed at bind)."""

    classes: tuple[int, ...] = BRAIN_CLASSES
    predicted: Tensor | None = None  # (B, *spatial) argmax labels of the clean output

    def bind(self, output: Tensor) -> "BrainTarget":
        if self.predicted is not None:
            return self
        return replace(self, predicted=output.detach().argmax(1))  # (B, K, *S) -> (B, *S)

    def class_indices(self, output: Tensor) -> Tensor:
        return torch.full((output.shape[0],), self.classes[0], dtype=torch.long, device=output.device)

    def score(self, output: Tensor) -> Tensor:
        predicted = self.bind(output).predicted.to(output.device)  # (B, *S)
        total = output.new_zeros(output.shape[0])
        for c in self.classes:
            total = total + (output[:, c] * (predicted == c)).flatten(1).sum(1)  # (B,)
        return total


def brain_gbp(model: nn.Module, images: np.ndarray, device, batch_size: int = 8) -> np.ndarray:
    """Guided-backprop maps (N, H, W) float32 of the predicted brain for a stack of slices (N, H, W) (or a
    built ``network_input`` (N, C, H, W)). With neighbouring slices as channels, the map is the attribution
    engine's channel reduction: per pixel the gradient of largest magnitude over the slices."""
    inputs = network_input(images, model_channels(model))
    maps = []
    for start in range(0, len(inputs), batch_size):
        x = torch.from_numpy(inputs[start:start + batch_size]).to(device)
        maps.append(attribute(model, x, method="guided_backprop", target=BrainTarget()).detach().cpu().numpy())
    return np.concatenate(maps).astype(np.float32) if maps else np.zeros((0, *inputs.shape[2:]), np.float32)


def enhancement_steps(gradient: np.ndarray, *, expand_max: float = 255.0, centre: float = 2.0,
                      width: float = 0.5) -> dict[str, np.ndarray]:
    """The paper's four steps on one gradient image (see the module docstring), keyed by STEP_NAMES."""
    magnitude = np.abs(np.asarray(gradient, dtype=np.float64))
    top = magnitude.max()
    expanded = expand_max * magnitude / top if top > 0 else magnitude
    compressed = np.log1p(expanded)
    spread = compressed.std()
    z = (compressed - compressed.mean()) / (spread if spread > 0 else 1.0)
    bump = np.exp(-(((z - centre) / width) ** 2))
    return dict(zip(STEP_NAMES, (expanded, compressed, z, bump)))


def enhance_gradient(gradient: np.ndarray, *, expand_max: float = 255.0, centre: float = 2.0, width: float = 0.5,
                     smooth_sigma: float = 0.0) -> np.ndarray:
    """f(z) of ``enhancement_steps`` (float32), Gaussian-blurred by ``smooth_sigma`` px when > 0."""
    bump = enhancement_steps(gradient, expand_max=expand_max, centre=centre, width=width)[STEP_NAMES[-1]]
    return (ndimage.gaussian_filter(bump, smooth_sigma) if smooth_sigma > 0 else bump).astype(np.float32)


def enhance_volume(gradients: np.ndarray, config) -> np.ndarray:
    """``enhance_gradient`` of every slice (N, H, W) with the config's constants."""
    return np.stack([enhance_gradient(g, expand_max=config.expand_max, centre=config.bump_centre,
                                      width=config.bump_width, smooth_sigma=config.smooth_sigma)
                     for g in gradients]) if len(gradients) else np.zeros_like(gradients)


def feature_map(gradient: np.ndarray, *, expand_max: float = 255.0, smooth_sigma: float = 1.0) -> np.ndarray:
    """The log-compressed |GBP| (step 2 of the enhancement), Gaussian-blurred: a dense map for the optical
    flow of the multi-template placement (the sparse f(z) map has too little texture to follow)."""
    compressed = enhancement_steps(gradient, expand_max=expand_max)[STEP_NAMES[1]]
    return (ndimage.gaussian_filter(compressed, smooth_sigma) if smooth_sigma > 0 else compressed).astype(np.float32)


def feature_volume(gradients: np.ndarray, config) -> np.ndarray:
    """``feature_map`` of every slice (N, H, W)."""
    return np.stack([feature_map(g, expand_max=config.expand_max, smooth_sigma=config.smooth_sigma)
                     for g in gradients]) if len(gradients) else np.zeros_like(gradients)


def remove_background(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """image * mask (new float32 array): the skull-stripping step before re-segmentation."""
    return (np.asarray(image, dtype=np.float32) * np.asarray(mask, dtype=bool)).astype(np.float32)


def shift_image(image: np.ndarray, offset) -> np.ndarray:
    """Whole-pixel translation by ``offset`` (one entry per axis), zero fill (same dtype, new array)."""
    array = np.asarray(image)
    moved = ndimage.shift(array.astype(np.float32), tuple(offset), order=0, mode="constant", cval=0.0)
    return moved.astype(array.dtype)
