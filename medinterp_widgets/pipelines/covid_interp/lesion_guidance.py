"""Lesion-guided training of the explained classifier: the heatmap loss on MedSeg *dev*-half slices.

Each training step appends ``count`` randomly drawn, randomly moved MedSeg dev slices (label COVID,
their radiologist lesion mask as the allowed region) to the UCSD batch and trains one forward of the
project's heatmap loss (``training.heatmap_loss.HeatmapLoss``, Grad-CAM at the classifier's CAM layer,
"share" penalty):

    total = CE_w(B + k items) + weight' * mean_(B + k) P_b,   P_b = 1 - sum(h_b m_b) / sum(h_b)

with m_b = 1 everywhere for the UCSD images (P_b = 0: no constraint on them) and the lesion mask,
dilated by ``dilate`` pixels, for the MedSeg slices; weight' = weight (B + k) / k, so ``weight`` is the
penalty's weight per lesion slice. Only the dev half (``data.split_lesions``) is ever drawn; the
untouched half stays for scoring. Geometry: one ``data.affine.affine_pair`` per slice (image and mask
together: rotation, zoom, shift, a left-right mirror); intensity: ``augment.jitter_intensity``.

CE_w weighs the UCSD items 1 and the lesion slices ``ce_weight`` (``HeatmapLoss``'s ``sample_weight``):
at 1 the slices are also COVID examples of the cross-entropy, which moves the classifier's prior towards
COVID (B = 32, k = 8: a fifth of every batch); at 0 they only steer the map.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import torch
from scipy import ndimage

from medinterp_widgets.data.affine import affine_pair
from medinterp_widgets.training.heatmap_loss import HeatmapLoss
from medinterp_widgets.training.loss_protocol import Batch, LossResult, detached_parts

from .augment import jitter_intensity

COVID_LABEL = 1


def dilate_masks(masks: np.ndarray, pixels: int) -> np.ndarray:
    """(N, H, W) 0/1 masks grown by ``pixels`` (a (2 p + 1)^2 square) -> (N, H, W) uint8."""
    if pixels <= 0:
        return (np.asarray(masks) > 0).astype(np.uint8)
    structure = np.ones((1, 2 * pixels + 1, 2 * pixels + 1), bool)
    return ndimage.binary_dilation(np.asarray(masks) > 0, structure=structure).astype(np.uint8)


def moved_slices(inputs: torch.Tensor, masks: torch.Tensor, generator=None, *, degrees: float = 15.0,
                 zoom: tuple[float, float] = (0.85, 1.2), shift: float = 0.1, contrast: float = 0.2,
                 noise: float = 0.05) -> tuple[torch.Tensor, torch.Tensor]:
    """inputs (k, 1, S, S) preprocessed, masks (k, S, S) 0/1 -> both through one random affine per slice
    (a left-right mirror with p = 0.5), then intensity jitter on the images (module docstring)."""
    images, labels = [], []
    for image, mask in zip(inputs, masks):
        draw = torch.rand(5, generator=generator).tolist()
        angle = degrees * (2 * draw[0] - 1)
        scale = zoom[0] + (zoom[1] - zoom[0]) * draw[1]
        offset = (shift * (2 * draw[2] - 1), shift * (2 * draw[3] - 1))
        moved, label = affine_pair(image, mask.long(), angle, scale, offset, image_padding="border")
        if draw[4] < 0.5:
            moved, label = moved.flip(-1), label.flip(-1)
        images.append(moved)
        labels.append(label)
    return jitter_intensity(torch.stack(images), generator, contrast=contrast, noise=noise), torch.stack(labels)


class LesionGuidedLoss:
    """The Trainer's ``Loss`` (inputs "model"): UCSD batch + ``count`` dev lesion slices through the
    heatmap loss (module docstring). ``inputs`` (n, 1, S, S) preprocessed dev slices, ``masks`` (n, S, S);
    ``augment`` False: the slices as given (tests)."""

    amp_safe = False
    inputs: Literal["model"] = "model"

    def __init__(self, inputs: torch.Tensor, masks: np.ndarray, *, weight: float = 1.0, count: int = 8,
                 layer: str | None = None, dilate: int = 0, method: str = "gradcam", augment: bool = True,
                 ce_weight: float = 1.0):
        if len(inputs) != len(masks) or len(inputs) == 0:
            raise ValueError(f"LesionGuidedLoss: {len(inputs)} slices and {len(masks)} masks; expected the "
                             f"same number, at least one")
        if count < 1:
            raise ValueError(f"LesionGuidedLoss count: expected >= 1, got {count!r}")
        if ce_weight < 0:
            raise ValueError(f"LesionGuidedLoss ce_weight: expected >= 0, got {ce_weight!r}")
        self.ce_weight = float(ce_weight)
        self.slices = inputs.float()
        self.masks = torch.from_numpy(dilate_masks(masks, dilate))
        self.count, self.weight, self.augment = min(count, len(inputs)), float(weight), augment
        self.heatmap = HeatmapLoss(method, weight, classification="ce", layer=layer, penalty="share")

    def compute(self, model, batch: Batch) -> LossResult:
        chosen = torch.randperm(len(self.slices))[:self.count]
        extra, region = self.slices[chosen], self.masks[chosen]
        if self.augment:
            extra, region = moved_slices(extra, region)
        b = batch.x.shape[0]
        x = torch.cat([batch.x, extra.to(batch.x)])
        y = torch.cat([batch.y.long(), torch.full((len(extra),), COVID_LABEL, device=batch.y.device)])
        allowed = torch.cat([torch.ones((b, *region.shape[1:])), region.float()]).to(x.device)
        self.heatmap.weight = self.weight * len(x) / len(extra)
        sample_weight = None if self.ce_weight == 1.0 else torch.cat(
            [torch.ones(b), torch.full((len(extra),), self.ce_weight)]).to(x.device)
        result = self.heatmap(model, x, y, allowed, sample_weight)
        lesion_share = result.share[b:].mean()
        return LossResult(result.total, detached_parts(classification=result.classification,
                                                       lesion_outside=lesion_share), result.logits[:b])

    def evaluation_form(self):
        """Validation scores the classification term only (``HeatmapLoss.evaluation_form``)."""
        return self.heatmap.evaluation_form()
