"""Guided backprop of the brain prediction, the paper's enhancement, and mask placement by correlation.

1. ``brain_gbp``: guided backprop of ``BrainTarget`` (each brain class's logits summed over its own
   predicted region) w.r.t. the input, one map per image.
2. ``enhance_gradient``: z = (l - mean(l)) / std(l) with l = log(|g| + eps), then
   f(z) = exp(-((z - c) / w)^2) (paper: c = 2, w = 0.5): keeps the pixels about two standard
   deviations above the mean log-gradient, where the brain-shaped response sits.
3. ``mask_template``: the reference brain mask pre-multiplied by the reference enhanced gradient,
   cropped to the mask's bounding box (+ margin).
4. ``place_mask``: normalised 2-D cross-correlation (``skimage.feature.match_template``) of an
   enhanced gradient image with the template; the peak gives the offset at which the reference mask
   is pasted.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch
from scipy import ndimage
from skimage.feature import match_template
from torch import Tensor, nn

from medinterp_widgets.attribution import Target, attribute

BRAIN_CLASSES = (1, 2, 3)


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


def brain_gbp(model: nn.Module, images: np.ndarray, device: torch.device, batch_size: int = 8) -> np.ndarray:
    """Guided-backprop maps (N, H, W) float32 of the predicted brain for images (N, H, W)."""
    maps = []
    for start in range(0, len(images), batch_size):
        x = torch.from_numpy(np.ascontiguousarray(images[start:start + batch_size]))[:, None].to(device)  # (B, 1, H, W)
        maps.append(attribute(model, x, method="guided_backprop", target=BrainTarget()).detach().cpu().numpy())
    return np.concatenate(maps).astype(np.float32)


def enhance_gradient(gradient: np.ndarray, *, eps: float = 1e-6, centre: float = 2.0, width: float = 0.5) -> np.ndarray:
    """exp(-((z - centre) / width)^2) with z the z-score of log(|gradient| + eps) over the image."""
    logged = np.log(np.abs(np.asarray(gradient, dtype=np.float64)) + eps)
    spread = logged.std()
    z = (logged - logged.mean()) / (spread if spread > 0 else 1.0)
    return np.exp(-(((z - centre) / width) ** 2)).astype(np.float32)


def bounding_box(mask: np.ndarray, margin: int = 0) -> tuple[slice, slice]:
    """Row and column slices of the mask's bounding box grown by ``margin`` (clipped to the image)."""
    rows, cols = np.nonzero(mask)
    if rows.size == 0:
        raise ValueError("mask: empty, expected at least one brain pixel to build a template")
    return (slice(max(rows.min() - margin, 0), min(rows.max() + margin + 1, mask.shape[0])),
            slice(max(cols.min() - margin, 0), min(cols.max() + margin + 1, mask.shape[1])))


@dataclass(frozen=True)
class MaskTemplate:
    """A reference mask and its correlation template (mask * enhanced gradient, cropped)."""

    mask: np.ndarray  # (H, W) bool reference mask, reference image grid
    template: np.ndarray  # (h, w) float32
    box: tuple[slice, slice]  # where the template was cut from the reference grid


def mask_template(reference_mask: np.ndarray, reference_enhanced: np.ndarray, margin: int = 2) -> MaskTemplate:
    """Template = (mask * enhanced gradient)[bounding box of the mask + margin]."""
    mask = np.asarray(reference_mask, dtype=bool)
    box = bounding_box(mask, margin)
    template = (mask * np.asarray(reference_enhanced, dtype=np.float32))[box]
    if not np.any(template > 0):  # flat gradient inside the mask: fall back to the mask's shape
        template = mask[box].astype(np.float32)
    return MaskTemplate(mask=mask.copy(), template=template.astype(np.float32), box=box)


@dataclass(frozen=True)
class Placement:
    """Where the template fits best: ``offset`` (dy, dx) of the reference mask, the correlation map."""

    offset: tuple[int, int]
    peak: float
    correlation: np.ndarray  # (H, W) normalised cross-correlation, centred on the template
    mask: np.ndarray  # (H, W) bool reference mask moved by offset


def place_mask(enhanced: np.ndarray, template: MaskTemplate) -> Placement:
    """Cross-correlate ``enhanced`` (H, W) with the template and paste the reference mask at the peak."""
    if enhanced.shape != template.mask.shape:
        raise ValueError(f"enhanced: shape {enhanced.shape}, expected the reference grid {template.mask.shape}")
    correlation = match_template(np.asarray(enhanced, dtype=np.float32), template.template, pad_input=True)
    peak = np.unravel_index(int(np.argmax(correlation)), correlation.shape)
    h, w = template.template.shape
    home = (template.box[0].start + h // 2, template.box[1].start + w // 2)  # template centre on the reference
    offset = (int(peak[0] - home[0]), int(peak[1] - home[1]))
    return Placement(offset=offset, peak=float(correlation[peak]), correlation=correlation.astype(np.float32),
                     mask=shift_image(template.mask, offset))


def best_placement(enhanced: np.ndarray, templates: list[MaskTemplate]) -> tuple[int, Placement]:
    """(index, placement) of the template whose correlation peak is highest."""
    placements = [place_mask(enhanced, template) for template in templates]
    best = int(np.argmax([p.peak for p in placements]))
    return best, placements[best]


def shift_image(image: np.ndarray, offset: tuple[int, int]) -> np.ndarray:
    """Whole-pixel translation by (dy, dx), zero fill (a new array of the same dtype)."""
    array = np.asarray(image)
    moved = ndimage.shift(array.astype(np.float32), offset, order=0, mode="constant", cval=0.0)
    return moved.astype(array.dtype)


def remove_background(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """image * mask (new float32 array): the skull-stripping step before re-segmentation."""
    return (np.asarray(image, dtype=np.float32) * np.asarray(mask, dtype=bool)).astype(np.float32)
