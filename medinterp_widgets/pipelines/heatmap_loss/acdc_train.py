"""Grouped training of the ACDC classifiers with an auxiliary heart-segmentation head (training only).

Each of the K grouped VGG classifiers gets a segmentation head (``GroupedSegHead``): a 1x1 conv on the
output of each of its conv blocks at half the input size or less, upsampled bilinearly to the input
size and summed, giving logits of 8 labels (background, RV, myocardium, LV cavity of ED, then of ES).
Loss of model k on a batch (labels ``code = 4 ed + es`` per pixel, heart = code > 0):

    L_k = L_cls,k [+ weight * heatmap penalty_k]  +  seg_weight * mean_pixels(CE_ed + CE_es) / 2

The head only shapes the shared conv features; the saved classifier is the plain VGGClassifier
(images in, class logits out): no label is read at test time. The seg head sees the activations of the
classifier's own forward (forward hooks), so no second forward runs.
"""

from __future__ import annotations

from typing import Callable, Sequence, cast

import torch
import torch.nn.functional as F
from torch import nn

from medinterp_widgets.models.grouped import GroupedVGG
from medinterp_widgets.models.vgg import VGGClassifier
from medinterp_widgets.training.grouped import ImageSet, Member, MemberResult, train_group

FRAME_LABELS = 4  # background, RV, myocardium, LV cavity


def seg_taps(model: GroupedVGG | VGGClassifier, size: int) -> list[tuple[int, int]]:
    """(module index in ``features``, channels per model) of every ReLU whose output is at most
    ``size / 2`` px (the blocks after the first max-pool)."""
    taps, side, channels = [], size, 0
    for index, module in enumerate(model.features):
        if isinstance(module, nn.MaxPool2d):
            side //= 2
        elif isinstance(module, nn.Conv2d):
            channels = module.out_channels // getattr(model, "n_models", 1)
        elif isinstance(module, nn.ReLU) and side <= size // 2:
            taps.append((index, channels))
    return taps


class GroupedSegHead(nn.Module):
    """Segmentation head of K grouped models: taps (B, K * C_t, h_t, w_t) -> logits (B, K, 8, H, W)."""

    def __init__(self, n_models: int, taps: Sequence[tuple[int, int]], classes: int = 2 * FRAME_LABELS):
        super().__init__()
        self.n_models, self.classes = n_models, classes
        self.convs = nn.ModuleList(nn.Conv2d(n_models * c, n_models * classes, 1, groups=n_models) for _, c in taps)

    def forward(self, activations: Sequence[torch.Tensor], size: tuple[int, int]) -> torch.Tensor:
        total = sum(F.interpolate(conv(a), size=size, mode="bilinear", align_corners=False)
                    for conv, a in zip(self.convs, activations))
        total = cast(torch.Tensor, total)
        return total.view(total.shape[0], self.n_models, self.classes, *size)


def seg_loss(logits: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
    """Per-model segmentation loss (K,): logits (B, K, 8, H, W), codes (B, K, H, W) = 4 ed + es;
    the mean over pixels and batch of (CE_ed + CE_es) / 2."""
    codes = codes.round().long()
    b, k = codes.shape[:2]
    flat = logits.flatten(0, 1)  # (B K, 8, H, W)
    per_pixel = sum(F.cross_entropy(flat[:, f * FRAME_LABELS:(f + 1) * FRAME_LABELS], target.flatten(0, 1),
                                    reduction="none")
                    for f, target in enumerate((codes // FRAME_LABELS, codes % FRAME_LABELS)))
    return cast(torch.Tensor, per_pixel).view(b, k, -1).mean((0, 2)) / 2


def heart_from_codes(codes: torch.Tensor) -> torch.Tensor:
    """Allowed region (B, K, H, W) float: code > 0 (heart in either frame); all ones where a slice shows none."""
    heart = (codes > 0.5).float()
    empty = heart.flatten(2).amax(2) == 0  # (B, K)
    heart[empty] = 1.0
    return heart


class SegAuxiliary(nn.Module):
    """The segmentation term of ``train_group`` (``training.grouped.Auxiliary``): forward hooks on the
    ``seg_taps`` of the grouped network feed ``GroupedSegHead``; the batch masks are label codes."""

    def __init__(self, model: GroupedVGG, seed: int, size: int, seg_weight: float):
        super().__init__()
        self.taps, self.size, self.seg_weight = seg_taps(model, size), size, seg_weight
        with torch.random.fork_rng(devices=[]):  # the head's weights draw nothing from the global stream
            torch.manual_seed(seed)
            self.head = GroupedSegHead(model.n_models, self.taps).to(next(model.parameters()).device)
        self.store: dict[int, torch.Tensor] = {}
        self.hooks = [model.features[i].register_forward_hook(lambda _m, _i, out, i=i: self.store.__setitem__(i, out))
                      for i, _ in self.taps] if seg_weight > 0 else []

    def allowed_region(self, masks: torch.Tensor | None) -> torch.Tensor | None:
        return None if masks is None else heart_from_codes(masks)

    def penalty(self, masks: torch.Tensor | None) -> torch.Tensor:
        if self.seg_weight == 0 or masks is None:
            return torch.zeros(())
        logits = self.head([self.store[i] for i, _ in self.taps], (self.size, self.size))
        return self.seg_weight * seg_loss(logits, masks).sum()

    def close(self) -> None:
        for hook in self.hooks:
            hook.remove()


def train_group_seg(make_model: Callable[[int], nn.Module], members: Sequence[Member], train: ImageSet, *, loss,
                    epochs: int, batch_size: int, seg_weight: float, device=None, max_steps: int | None = None,
                    augment: Callable | None = None) -> list[MemberResult]:
    """``training.grouped.train_group`` (no validation: each member's last state) with the segmentation
    term above; ``train.masks`` holds the label codes (N, H, W). ``seg_weight = 0``: no head's loss."""
    size = int(train.images.shape[-1])
    return train_group(make_model, members, train, None, loss=loss, epochs=epochs, batch_size=batch_size,
                       device=device, max_steps=max_steps, augment=augment,
                       auxiliary=lambda model: SegAuxiliary(model, members[0].seed, size, seg_weight))
