"""One affine map applied to an image and its label map together (training augmentation).

``affine_pair`` rotates by ``degrees`` and zooms by ``scale`` about the centre, then shifts: output
point p reads input point R(-degrees) p / scale + shift, in pixel units (a non-square image rotates
without shear), via ``torch.nn.functional.affine_grid`` / ``grid_sample``: bilinear for the image,
nearest for the labels (background 0 outside the image).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def affine_pair(image: torch.Tensor, labels: torch.Tensor, degrees: float, scale: float,
                shift: tuple[float, float] = (0.0, 0.0), image_padding: str = "zeros"
                ) -> tuple[torch.Tensor, torch.Tensor]:
    """image (C, H, W) float, labels (H, W) int -> both moved (module docstring). ``shift`` = (y, x) in
    grid units (the side spans 2); ``image_padding``: grid_sample's padding mode for the image."""
    angle = math.radians(degrees)
    cos, sin = math.cos(angle) / scale, math.sin(angle) / scale
    height, width = image.shape[-2:]
    aspect = height / width  # normalised coordinates: rotate in pixel units, not in [-1, 1]^2
    theta = torch.tensor([[[cos, -sin * aspect, shift[1]], [sin / aspect, cos, shift[0]]]], dtype=image.dtype)
    grid = F.affine_grid(theta, [1, 1, height, width], align_corners=False)
    moved = F.grid_sample(image[None], grid, mode="bilinear", padding_mode=image_padding, align_corners=False)[0]
    label = F.grid_sample(labels[None, None].to(image.dtype), grid, mode="nearest", padding_mode="zeros",
                          align_corners=False)[0, 0]
    return moved, label.round().to(labels.dtype)
