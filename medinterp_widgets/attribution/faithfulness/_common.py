"""Shared pieces of the faithfulness metrics: argument checks, the score read off the model, baselines,
the order in which features are removed, and cancellation.

Score: ``output="probability"`` (default) scores softmax(output, dim 1) with the target and divides by
the target's size (the score of an all-ones output), so a classifier gives p_c and a ``RegionTarget``
the mean probability of its class inside the region; ``output="logit"`` scores the raw output. The
target is bound on the clean output (a predicted region stays fixed while the input is perturbed).
"""

from __future__ import annotations

import math
from typing import Any, Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from medinterp_widgets.attribution.state import attribution_session
from medinterp_widgets.attribution.targets import as_target

__all__ = ["FaithfulnessCancelled", "OUTPUTS", "BASELINES", "ORDERS", "Scorer", "check_maps", "baseline_image",
           "gaussian_blur", "feature_ranks", "stop_check"]

OUTPUTS = ("probability", "logit")
BASELINES = ("blur", "mean", "zero")
ORDERS = ("morf", "lerf")  # most / least relevant first


class FaithfulnessCancelled(Exception):
    """``should_stop()`` returned True between two steps: the computation was abandoned."""


def stop_check(should_stop: Callable[[], bool] | None) -> Callable[[], None]:
    """A function that raises FaithfulnessCancelled when ``should_stop()`` is true (no-op for None)."""

    def check() -> None:
        if should_stop is not None and should_stop():
            raise FaithfulnessCancelled("faithfulness: cancelled")

    return check


def check_maps(x: Any, maps: Any) -> Tensor:
    """x (B, C, *S) and maps (B, *S) or (B, 1, *S) -> maps as a float tensor (B, *S) on x's device."""
    if not isinstance(x, Tensor) or x.dim() not in (4, 5) or x.shape[0] == 0:
        shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
        raise ValueError(f"x: got {shape}, expected a non-empty tensor (B, C, H, W) or (B, C, D, H, W)")
    maps = torch.as_tensor(maps).detach()
    spatial = tuple(x.shape[2:])
    if maps.dim() == x.dim() and maps.shape[1] == 1:
        maps = maps[:, 0]  # (B, 1, *S) -> (B, *S)
    if tuple(maps.shape) != (x.shape[0], *spatial):
        raise ValueError(f"maps: got shape {tuple(maps.shape)}, expected {(x.shape[0], *spatial)} (one map per "
                         "sample, shaped like x's spatial dims)")
    if not torch.isfinite(maps).all():
        raise ValueError("maps: contain NaN or infinite values")
    return maps.to(x.device, torch.float32)


class Scorer:
    """Reads one score per sample off the model (see the module docstring); forwards run without grad,
    in the model's current mode, norm-layer statistics shielded. ``forwards`` counts the calls."""

    def __init__(self, model: nn.Module, x: Tensor, target: Any, output: str = "probability"):
        if output not in OUTPUTS:
            raise ValueError(f"output: got {output!r}, expected one of {OUTPUTS}")
        self.model, self.output, self.forwards = model, output, 0
        clean = self.forward(x)
        self.target = as_target(target).bind(clean)
        probability = output == "probability"
        self.scale = self.target.score(torch.ones_like(clean)).clamp_min(1.0) if probability else None  # (B,)
        self.clean = self.read(clean)  # (B,)
        self.clean_output = clean

    def forward(self, x: Tensor) -> Tensor:
        with attribution_session(self.model, grad=False):
            output = self.model(x)
        self.forwards += 1
        return output

    def read(self, output: Tensor) -> Tensor:
        if self.output == "logit":
            return self.target.score(output).float()
        score = self.target.score(output.softmax(1))  # (N,)
        assert self.scale is not None  # set for output == "probability"
        return (score / self.scale.repeat(len(score) // len(self.scale))).float()

    def __call__(self, x: Tensor) -> Tensor:
        """Scores (N,) of a batch of N = n * B rows (n stacked copies of the B samples)."""
        return self.read(self.forward(x))


def gaussian_blur(x: Tensor, sigma: float) -> Tensor:
    """Separable Gaussian blur over the spatial dims of (B, C, *S); kernel radius ceil(3 sigma), edges
    replicated. exp(-d² / 2σ²) normalised to sum 1."""
    if sigma <= 0:
        return x.clone()
    radius = max(1, math.ceil(3 * sigma))
    offsets = torch.arange(-radius, radius + 1, dtype=torch.float32, device=x.device)
    kernel = torch.exp(-offsets ** 2 / (2 * sigma ** 2))
    kernel = (kernel / kernel.sum()).view(1, 1, -1)  # (1, 1, K)
    blurred = x.float()
    for axis in range(2, x.dim()):
        moved = blurred.movedim(axis, -1)
        shape = moved.shape
        rows = F.pad(moved.reshape(-1, 1, shape[-1]), (radius, radius), mode="replicate")  # (N, 1, L + 2r)
        blurred = F.conv1d(rows, kernel).reshape(shape).movedim(-1, axis)
    return blurred.to(x.dtype)


def baseline_image(x: Tensor, baseline: Any = "blur", *, blur_sigma: float | None = None) -> Tensor:
    """What removed features are replaced with, shaped like x (B, C, *S).

    "zero": 0; "mean": each sample's per-channel mean; "blur": a Gaussian blur of x (σ default
    side / 16, at least 1 px; Petsiuk et al. 2018 insert into a blurred image); a number: that value;
    a tensor: broadcast to x.
    """
    if isinstance(baseline, Tensor):
        return torch.broadcast_to(baseline.to(x.device, x.dtype), x.shape)
    if isinstance(baseline, (int, float)) and not isinstance(baseline, bool):
        return torch.full_like(x, float(baseline))
    if baseline == "zero":
        return torch.zeros_like(x)
    if baseline == "mean":
        return x.mean(dim=tuple(range(2, x.dim())), keepdim=True).expand_as(x)
    if baseline == "blur":
        sigma = blur_sigma if blur_sigma is not None else max(1.0, min(x.shape[2:]) / 16)
        return gaussian_blur(x, sigma)
    raise ValueError(f"baseline: got {baseline!r}, expected one of {BASELINES}, a number or a tensor")


def _patch_sums(maps: Tensor, patch: int) -> Tensor:
    """Sum of the map over non-overlapping patches of side ``patch`` (the border ones may be partial):
    (B, *S) -> (B, *ceil(S / patch))."""
    spatial = maps.shape[1:]
    padding = []
    for side in reversed(spatial):
        padding += [0, (-side) % patch]
    padded = F.pad(maps, padding)  # zeros: partial patches sum only their own pixels
    blocks = [side // patch for side in padded.shape[1:]]
    shape = [maps.shape[0]] + [n for count in blocks for n in (count, patch)]
    summed = padded.reshape(shape)
    return summed.sum(dim=tuple(range(2, summed.dim(), 2)))


def feature_ranks(maps: Tensor, *, patch: int | None = None, order: str = "morf") -> tuple[Tensor, int]:
    """Position of each pixel's feature in the removal order, (B, *S) long, and the number of features.

    A feature is a pixel, or a patch (``patch`` side, scored by the sum of the map inside it). "morf"
    removes the highest-scoring feature first, "lerf" the lowest; ties keep raster order (stable sort).
    Removing the first k features is then ``ranks < k``.
    """
    if order not in ORDERS:
        raise ValueError(f"order: got {order!r}, expected one of {ORDERS}")
    if patch is not None and (int(patch) != patch or patch < 1):
        raise ValueError(f"patch: got {patch!r}, expected a positive integer or None")
    units = maps if patch is None or patch == 1 else _patch_sums(maps, int(patch))  # (B, *U)
    flat = units.flatten(1)  # (B, n)
    ordering = torch.argsort(flat, dim=1, descending=order == "morf", stable=True)
    positions = torch.empty_like(ordering)
    positions.scatter_(1, ordering, torch.arange(flat.shape[1], device=flat.device).expand_as(ordering))
    ranks = positions.view_as(units)
    if patch is not None and units.shape != maps.shape:
        for axis in range(1, maps.dim()):
            ranks = ranks.repeat_interleave(int(patch), dim=axis)
        ranks = ranks[(slice(None),) + tuple(slice(0, side) for side in maps.shape[1:])]
    return ranks, flat.shape[1]
