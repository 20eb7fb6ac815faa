"""Mild in-plane augmentation of training slices (not in the paper; ``Config.augment_*``).

Each item of ``AugmentedSlices`` is a training slice (C, H, W) with its tissue map (H, W) under a
random similarity transform about the slice centre: rotation by U(-r, r) degrees and scale by
U(1 - s, 1 + s) (bilinear for the image, nearest for the labels, zero / background outside), then an
intensity change x -> clip(a * x ** g, 0, 1) with log a and log g each U(-i, i) on brain voxels (x > 0).
With ``mirror`` the context channels are reversed at random: the neighbour slices on the left and right
swap, which is the slice of a mirrored (left-right flipped) brain, so it is anatomically harmless for
sagittal slices; in-plane flips would turn the head upside down or front to back and are not used.
Randomness comes from torch's global generator, which the Trainer seeds. No preset turns it on: on
animal 5 (animals 1-4 training, 25 epochs) it did not raise WM and lowered CSF (see ``summary.AUGMENT_NOTE``).
"""

from __future__ import annotations

import math

import torch
from torch.utils.data import Dataset, TensorDataset

from medinterp_widgets.data.affine import affine_pair as similarity  # (image, tissue, degrees, scale)


class AugmentedSlices(Dataset):
    """``(image (C, H, W) float32, tissue (H, W) int64)`` items of ``base`` under random mild transforms."""

    def __init__(self, base: TensorDataset, rotation: float = 0.0, scale: float = 0.0, intensity: float = 0.0,
                 mirror: bool = False):
        if rotation < 0 or not 0 <= scale < 1 or intensity < 0:
            raise ValueError(f"augmentation: expected rotation >= 0, 0 <= scale < 1, intensity >= 0; got "
                             f"{rotation}, {scale}, {intensity}")
        self.base, self.rotation, self.scale, self.intensity, self.mirror = base, rotation, scale, intensity, mirror

    def __len__(self) -> int:
        return len(self.base)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        image, tissue = self.base[index]
        if self.mirror and torch.rand(()) < 0.5:
            image = image.flip(0)
        if self.rotation or self.scale:
            image, tissue = similarity(image, tissue, _uniform(self.rotation), 1 + _uniform(self.scale))
        if self.intensity:
            gain, gamma = math.exp(_uniform(self.intensity)), math.exp(_uniform(self.intensity))
            image = torch.where(image > 0, (gain * image.clamp_min(0) ** gamma).clamp(0, 1), image)
        return image, tissue


def _uniform(half_width: float) -> float:
    """One draw of U(-half_width, half_width) from torch's global generator."""
    return float((2 * torch.rand(()) - 1) * half_width)
