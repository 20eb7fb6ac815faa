"""Test-time augmentation over the symmetries a model was trained with.

For a set G of input transforms, the prediction is p(x) = 1/|G| sum_g g^-1 softmax(f(g x)):

- ``mirror``: G = {identity, horizontal flip} (a model trained with random left-right flips);
- ``dihedral``: the 8 symmetries of the square (4 quarter turns, each with and without a horizontal flip).

g^-1 takes a per-pixel output (B, C, H, W) back onto the input's grid; a per-image output (B, C) (a
classifier) needs no undoing. Each reading is an equally valid view of the image; for a model already
invariant (or equivariant) to G the mean equals softmax(f(x)).
"""

from __future__ import annotations

import torch
from torch import nn

from medinterp_widgets.data.preprocessing import TEST_TIME_MODES

_PLANE = (-2, -1)
# (quarter turns, horizontal flip) of each mode's transforms
TRANSFORMS = {"none": ((0, False),), "mirror": ((0, False), (0, True)),
              "dihedral": tuple((turns, flip) for turns in range(4) for flip in (False, True))}


def _apply(x: torch.Tensor, turns: int, flip: bool) -> torch.Tensor:
    x = torch.flip(x, dims=(-1,)) if flip else x
    return torch.rot90(x, turns, dims=_PLANE)


def _undo(x: torch.Tensor, turns: int, flip: bool) -> torch.Tensor:
    if x.dim() < 3:  # (B, C) per-image probabilities: nothing to move back
        return x
    x = torch.rot90(x, -turns, dims=_PLANE)
    return torch.flip(x, dims=(-1,)) if flip else x


def symmetry_softmax(model: nn.Module, x: torch.Tensor, mode: str) -> torch.Tensor:
    """Class probabilities over dim 1 averaged over the transforms of ``mode`` (module docstring)."""
    if mode not in TRANSFORMS:
        raise ValueError(f"test-time mode: expected one of {TEST_TIME_MODES}, got {mode!r}")
    transforms = TRANSFORMS[mode]
    if any(turns for turns, _ in transforms) and x.shape[-1] != x.shape[-2]:
        raise ValueError(f"{mode} test-time augmentation needs square inputs, got {tuple(x.shape[-2:])}")
    total = torch.zeros(())
    for turns, flip in transforms:
        total = total + _undo(torch.softmax(model(_apply(x, turns, flip)).float(), dim=1), turns, flip)
    return total / len(transforms)


def dihedral_softmax(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) class probabilities averaged over the 8 dihedral transforms of square inputs (H == W)."""
    return symmetry_softmax(model, x, "dihedral")


def predict_softmax(model: nn.Module, x: torch.Tensor, mode: str = "none") -> torch.Tensor:
    """softmax(model(x)) over dim 1, or its average over a test-time mode's transforms (``TEST_TIME_MODES``)."""
    return symmetry_softmax(model, x, mode)
