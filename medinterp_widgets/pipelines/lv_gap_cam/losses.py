"""How the CAM of GapFCN is made meaningful: an image-level LV-area term on the GAP head.

GapFCN's per-pixel output never reads ``cam_head``, so cross-entropy on the pixels alone leaves the
head (and hence CAM_c = sum_k w_{c,k} A_k) untrained. We add an image-level term on the head's
logits z = W GAP(A) + b (B, C), whose targets are the class area fractions f_c = |{p : y_p = c}| / HW,
one sigmoid per class (so each class's weights w_c are identified; a softmax would fix only w_LV - w_bg):

    L = L_pixels(seg_logits, y) + lambda * mean_{b,c} BCE(sigmoid(z_{b,c}), f_{b,c})

Since GAP is linear, z_c = mean_p (sum_k w_{c,k} A_k(p)) + b_c = mean_p CAM_c(p) + b_c: the head
learns which bottleneck channels grow with the LV's area, so CAM_LV rises where those channels fire.
Every slice gives a signal (all Sunnybrook slices contain an LV, so a present/absent label would not).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn


def class_fractions(target: torch.Tensor, n_classes: int) -> torch.Tensor:
    """f (B, C): share of pixels of each class in each label map (B, H, W)."""
    one_hot = F.one_hot(target.long(), n_classes)  # (B, H, W, C)
    return one_hot.flatten(1, 2).float().mean(dim=1)  # (B, C)


def area_fraction_loss(image_logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """mean_{b,c} BCE(sigmoid(z_{b,c}), f_{b,c}): soft binary cross-entropy of image logits (B, C)."""
    fractions = class_fractions(target, image_logits.shape[1])  # (B, C)
    return F.binary_cross_entropy_with_logits(image_logits, fractions)


@dataclass
class CamAreaResult:
    """What the Trainer reads: ``total`` to back-propagate, ``logits`` for metrics, and the two terms
    (Trainer logs terms named ``classification`` / ``attribution``: here the pixel loss and the area term)."""

    total: torch.Tensor
    logits: torch.Tensor
    classification: torch.Tensor
    attribution: torch.Tensor


class CamAreaLoss:
    """Pixel loss (default cross-entropy) + ``weight`` x image-level area term; runs the model's forward
    itself (a plain callable whose first parameter is ``model``, which is how the Trainer recognises it)."""

    def __init__(self, weight: float = 0.5, pixel_loss: Callable | None = None):
        self.weight = weight
        self.pixel_loss = pixel_loss or nn.CrossEntropyLoss()

    def __call__(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor, mask=None) -> CamAreaResult:
        base = getattr(model, "module", model)  # DistributedDataParallel wraps the model
        seg_logits, image_logits = base.forward_with_image_logits(x)  # (B, C, H, W), (B, C)
        pixel = self.pixel_loss(seg_logits, y.long())
        area = area_fraction_loss(image_logits, y)
        return CamAreaResult(pixel + self.weight * area, seg_logits, pixel.detach(), area.detach())
