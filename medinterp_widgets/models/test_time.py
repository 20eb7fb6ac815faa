"""Test-time augmentation over the symmetries a model was trained with.

``dihedral_softmax``: the mean over the 8 symmetries g of the square (4 quarter turns, each with and
without a horizontal flip) of g^-1(softmax(model(g x))), i.e. p(x) = 1/8 sum_g g^-1 softmax(f(g x)).
For a model trained with random flips and quarter turns, this averages 8 equally valid readings of the
image; for a model that is already equivariant to them it equals softmax(f(x)).
"""

from __future__ import annotations

import torch
from torch import nn

from medinterp_widgets.data.preprocessing import TEST_TIME_MODES

_PLANE = (-2, -1)


def _apply(x: torch.Tensor, turns: int, flip: bool) -> torch.Tensor:
    x = torch.flip(x, dims=(-1,)) if flip else x
    return torch.rot90(x, turns, dims=_PLANE)


def _undo(x: torch.Tensor, turns: int, flip: bool) -> torch.Tensor:
    x = torch.rot90(x, -turns, dims=_PLANE)
    return torch.flip(x, dims=(-1,)) if flip else x


def dihedral_softmax(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) class probabilities averaged over the 8 dihedral transforms of square inputs (H == W)."""
    if x.shape[-1] != x.shape[-2]:
        raise ValueError(f"dihedral test-time augmentation needs square inputs, got {tuple(x.shape[-2:])}")
    total = torch.zeros(())
    for turns in range(4):
        for flip in (False, True):
            total = total + _undo(torch.softmax(model(_apply(x, turns, flip)).float(), dim=1), turns, flip)
    return total / 8.0


def predict_softmax(model: nn.Module, x: torch.Tensor, mode: str = "none") -> torch.Tensor:
    """softmax(model(x)) over dim 1, or its ``dihedral`` average (``TEST_TIME_MODES``)."""
    if mode == "dihedral":
        return dihedral_softmax(model, x)
    if mode != "none":
        raise ValueError(f"test-time mode: expected one of {TEST_TIME_MODES}, got {mode!r}")
    return torch.softmax(model(x).float(), dim=1)
