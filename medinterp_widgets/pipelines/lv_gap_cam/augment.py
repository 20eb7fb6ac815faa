"""Random training augmentation on the model grid: flips / quarter turns, a small affine, gamma.

ACDC comes in several in-plane orientations (transposed and flipped fields of view) while the
Sunnybrook studies share one, so flips and quarter turns make the LV's look, not its place relative
to the RV, what the network learns. The affine (rotation, isotropic scale, shift) covers heart size
and position; gamma x**g covers the contrast difference between scanners. Draws use torch's global
generator, which the Trainer seeds, so a run is repeatable.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from medinterp_widgets.data.affine import affine_pair


@dataclass(frozen=True)
class Augmentation:
    flips: bool = True  # random horizontal / vertical flip and quarter turn
    rotation_deg: float = 15.0  # uniform in +-rotation_deg
    scale: tuple[float, float] = (0.85, 1.15)  # isotropic zoom factor
    shift: float = 0.08  # fraction of the side, each axis
    gamma: tuple[float, float] | None = (0.7, 1.4)  # log-uniform; None: no gamma (e.g. z-scored inputs)

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(x (C, h, w) float, y (h, w) int64) -> the same, transformed together."""
        if self.flips:
            x, y = _flips(x, y)
        x, y = self._affine(x, y)
        if self.gamma is not None:
            low, high = (math.log(g) for g in self.gamma)
            x = x.clamp(0.0, 1.0) ** math.exp(_uniform(low, high))
        return x, y

    def _affine(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        degrees = _uniform(-self.rotation_deg, self.rotation_deg)
        zoom = _uniform(*self.scale)
        shift_y, shift_x = (_uniform(-2 * self.shift, 2 * self.shift) for _ in range(2))  # grid units span 2
        return affine_pair(x, y, degrees, zoom, (shift_y, shift_x), image_padding="border")


def _uniform(low: float, high: float) -> float:
    return low + (high - low) * float(torch.rand(()))


def _flips(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    turns = int(torch.randint(0, 4, ()))
    x, y = torch.rot90(x, turns, dims=(-2, -1)), torch.rot90(y, turns, dims=(-2, -1))
    if bool(torch.rand(()) < 0.5):
        x, y = torch.flip(x, dims=(-1,)), torch.flip(y, dims=(-1,))
    return x, y
