"""How the CAM of GapFCN is made meaningful: an LV-area term on the GAP head, per cell of its grid (default)
or per image.

GapFCN's per-pixel output never reads ``cam_head``, so cross-entropy on the pixels alone leaves the
head (and hence CAM_c = sum_k w_{c,k} A_k) untrained. We add an image-level term on the head's
logits z = W GAP(A) + b (B, C), whose targets are the class area fractions f_c = |{p : y_p = c}| / HW,
one sigmoid per class (so each class's weights w_c are identified; a softmax would fix only w_LV - w_bg):

    L = L_pixels(seg_logits, y) + lambda * mean_{b,c} BCE(sigmoid(z_{b,c}), f_{b,c})

Since GAP is linear, z_c = mean_p (sum_k w_{c,k} A_k(p)) + b_c = mean_p CAM_c(p) + b_c: the head
learns which bottleneck channels grow with the LV's area, so CAM_LV rises where those channels fire.
Every slice gives a signal (all Sunnybrook slices contain an LV, so a present/absent label would not).

That image-level term alone lets the head read the LV's size from context anywhere in the image (on
the quick run its CAM peak fell inside the LV on 5 % of slices). ``mode="dense"`` (the default) applies
the same per-class BCE at every cell of the bottleneck grid, with targets the LV share of each cell
(the mask area-pooled to h x w):

    L = L_pixels + lambda * mean_{b,c,i,j} BCE(sigmoid(sum_k w_{c,k} A_k(i,j) + b_c), f_{b,c}(i,j))

The head is then a per-location LV detector whose map *is* CAM_c (same weights, same formula), and
its image logit is still the GAP of that map. The CAM is explained by construction at h x w resolution;
the segmentation path (decoder, unpooling) is what adds the fine boundary.
"""

from __future__ import annotations

from typing import Callable, Literal

import torch
import torch.nn.functional as F
from torch import nn

from medinterp_widgets.training.loss_protocol import Batch, CrossEntropy, LossResult, detached_parts

MODES = ("dense", "area")


def class_fractions(target: torch.Tensor, n_classes: int) -> torch.Tensor:
    """f (B, C): share of pixels of each class in each label map (B, H, W)."""
    one_hot = F.one_hot(target.long(), n_classes)  # (B, H, W, C)
    return one_hot.flatten(1, 2).float().mean(dim=1)  # (B, C)


def area_fraction_loss(image_logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """mean_{b,c} BCE(sigmoid(z_{b,c}), f_{b,c}): soft binary cross-entropy of image logits (B, C)."""
    fractions = class_fractions(target, image_logits.shape[1])  # (B, C)
    return F.binary_cross_entropy_with_logits(image_logits, fractions)


def cell_fractions(target: torch.Tensor, n_classes: int, size) -> torch.Tensor:
    """f (B, C, h, w): share of each class's pixels inside each cell of an h x w grid (area pooling)."""
    one_hot = F.one_hot(target.long(), n_classes).movedim(-1, 1).float()  # (B, C, H, W)
    return F.adaptive_avg_pool2d(one_hot, size)  # (B, C, h, w)


def dense_cam_loss(cam_logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """mean BCE(sigmoid(CAM logits), cell fractions); CAM logits (B, C, h, w) = head applied at every cell of A."""
    fractions = cell_fractions(target, cam_logits.shape[1], cam_logits.shape[-2:])  # (B, C, h, w)
    return F.binary_cross_entropy_with_logits(cam_logits, fractions)


class CamAreaLoss:
    """Pixel loss (default cross-entropy) + ``weight`` x image-level area term. A `Loss` with
    ``inputs = "model"``: it runs the step's one forward itself (it needs the GAP head's outputs too);
    parts ``pixel`` and ``area``, logits the per-pixel segmentation logits."""

    inputs: Literal["model"] = "model"

    def __init__(self, weight: float = 0.5, pixel_loss: Callable | None = None, mode: str = "dense"):
        if mode not in MODES:
            raise ValueError(f"CamAreaLoss mode: expected one of {MODES}, got {mode!r}")
        self.weight, self.mode = weight, mode
        self.pixel_loss = pixel_loss or CrossEntropy()

    def compute(self, model: nn.Module, batch: Batch) -> LossResult:
        # one call of ``model`` itself (DistributedDataParallel-wrapped under torchrun): every output,
        # the CAM head's included, comes from the wrapped forward, so all gradients are all-reduced
        output = model(batch.x, with_cam=True)  # GapOutput: (B, C, H, W), (B, C), (B, C, h, w)
        y = batch.y
        pixel = self.pixel_loss(output.segmentation, y.long())
        if self.mode == "dense":
            area = dense_cam_loss(output.cam_logits, y)
        else:
            area = area_fraction_loss(output.image_logits, y)
        return LossResult(pixel + self.weight * area, detached_parts(pixel=pixel, area=area), output.segmentation)

    def __call__(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor, mask=None) -> LossResult:
        return self.compute(model, Batch(x, y))
