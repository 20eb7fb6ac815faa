"""RISE (Petsiuk et al., 2018): the score of randomly masked copies of the input, averaged per voxel.

Forward passes only (no hooks, no gradients), so it runs on any model, ONNX files included.

Masks: a grid of ``cells`` per axis is drawn with each cell kept (1) with probability ``p``; it is
upsampled (bilinear / trilinear, align_corners=False) to ``(cells + 1) * ceil(side / cells)`` per axis
and cropped at a random shift in [0, cell) per axis, giving smooth masks M_i in [0, 1] of x's size.
Each masked copy keeps x where M = 1 and shows ``baseline`` where M = 0:
``x_i = M_i x + (1 - M_i) baseline``. The map is the Monte-Carlo estimate

    S(u) = 1 / (N p) * sum_i Y(x_i) M_i(u)

with Y the target's score (a logit, where the paper used a probability: the sign is kept). The grids and
shifts are drawn up front from a generator seeded with ``seed``, so the map does not depend on
``batch_size`` and the global RNG is left alone; the masks are built chunk by chunk.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from tqdm.auto import tqdm

from .base.result import RawAttribution
from .methods import MethodInfo
from .perturbation import batched_scores, variants_per_forward
from .state import attribution_session
from .targets import Target

__all__ = ["RISE", "rise_masks", "rise_options"]

_MODES = {1: "linear", 2: "bilinear", 3: "trilinear"}


def rise_options(spatial: tuple[int, ...], cells: int | None = None) -> dict:
    """2-D: 512 masks of 8 cells per axis; 3-D: 128 masks of 6 (each mask is one forward pass)."""
    volume = len(spatial) >= 3
    return {"n_masks": 128 if volume else 512, "cells": cells or (6 if volume else 8)}


def _draws(n: int, spatial: tuple[int, ...], cells: int, p: float, seed: int) -> tuple[Tensor, Tensor]:
    """Kept grid cells (n, *cells) and crop shifts (n, dims) in voxels, from a generator seeded with ``seed``."""
    generator = torch.Generator().manual_seed(seed)
    grids = (torch.rand((n,) + (cells,) * len(spatial), generator=generator) < p).float()
    steps = torch.tensor([math.ceil(side / cells) for side in spatial], dtype=torch.float64)
    shifts = (torch.rand((n, len(spatial)), generator=generator, dtype=torch.float64) * steps).long()
    return grids, shifts


def rise_masks(grids: Tensor, shifts: Tensor, spatial: tuple[int, ...]) -> Tensor:
    """Masks (n, *spatial) in [0, 1] from grids (n, *cells) and shifts (n, dims) (see the module docstring)."""
    cells = grids.shape[1]
    big = tuple((cells + 1) * math.ceil(side / cells) for side in spatial)
    upsampled = F.interpolate(grids[:, None], size=big, mode=_MODES[len(spatial)], align_corners=False)[:, 0]
    crops = [upsampled[(i,) + tuple(slice(int(s), int(s) + side) for s, side in zip(shift, spatial))]
             for i, shift in enumerate(shifts)]
    return torch.stack(crops)  # (n, *spatial)


class RISE:
    """Randomised input sampling: mean target score of masked copies, weighted by each mask."""

    info: ClassVar[MethodInfo]
    info = MethodInfo("rise", "RISE: score of randomly masked copies of the input, averaged per voxel",
                      uses_layer=False, differentiable=False, cost="perturbation", needs_hooks=False,
                      needs_gradients=False, options=rise_options)

    def __init__(self, n_masks: int = 512, cells: int = 8, p: float = 0.5, baseline: float | Tensor = 0.0,
                 seed: int = 0, batch_size: int | None = None, progress: bool = False):
        """n_masks: forward passes per image; cells: grid cells per axis; p: chance a cell is kept; baseline:
        value of the masked-out input (float or tensor broadcastable to x); batch_size: masked copies of the
        batch per forward (None: ``variants_per_forward``); progress: a tqdm bar."""
        if not isinstance(n_masks, int) or n_masks < 1 or not isinstance(cells, int) or cells < 1:
            raise ValueError(f"rise: n_masks={n_masks!r}, cells={cells!r}; expected positive ints")
        if not 0 < p <= 1:
            raise ValueError(f"rise: p={p!r}, expected a probability in (0, 1]")
        self.n_masks, self.cells, self.p, self.baseline, self.seed = n_masks, cells, float(p), baseline, seed
        self.batch_size, self.progress = batch_size, progress

    def __call__(self, model: nn.Module, x: Tensor, target: Target, *, layer: Any = None,
                 create_graph: bool = False, relu: bool = True) -> RawAttribution:
        x = x.detach()
        spatial = tuple(x.shape[2:])
        with attribution_session(model, grad=False):
            output = model(x)
        bound = target.bind(output)
        clean = bound.score(output)  # (B,)
        baseline = torch.as_tensor(self.baseline, dtype=x.dtype, device=x.device).expand_as(x)
        grids, shifts = _draws(self.n_masks, spatial, self.cells, self.p, self.seed)
        total = x.new_zeros(x.shape[0], *spatial)  # (B, *S)
        chunk = variants_per_forward(self.batch_size, x.shape[0], x.device, x.shape[2:].numel())
        for start in tqdm(range(0, self.n_masks, chunk), desc="rise", disable=not self.progress, leave=False):
            masks = rise_masks(grids[start:start + chunk], shifts[start:start + chunk], spatial)
            masks = masks.to(device=x.device, dtype=x.dtype)  # (n, *S)
            weights = masks[:, None, None]  # (n, 1, 1, *S)
            variants = weights * x.unsqueeze(0) + (1 - weights) * baseline.unsqueeze(0)  # (n, B, C, *S)
            scores = batched_scores(model, variants, bound, len(masks))  # (n, B)
            total += torch.einsum("nb,n...->b...", scores, masks)
        raw = total / (self.n_masks * self.p)  # (B, *S)
        return RawAttribution(raw, clean.detach(), output.detach())
