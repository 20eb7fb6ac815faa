"""Targets turn a model output into one scalar score per sample.

The attribution engine differentiates ``score.sum()`` over the batch; samples stay independent as
long as the model has no batch coupling (e.g. BatchNorm in eval mode).

- ``ClassTarget(c)``: classifier output (B, K) -> ``output[b, c_b]``; on a segmentation output
  (B, K, *spatial) the class logits are summed over every location.
- ``ContrastTarget(c)``: class c against the mean of the other classes, ``output[b, c_b] - mean_{k != c_b}
  output[b, k]`` (summed over locations on a segmentation output); with two classes the log-odds of c, so
  the maps of the two classes are each other's negatives before any ReLU.
- ``RegionTarget(c, mask)``: segmentation output (B, K, *spatial) -> ``sum(output[b, c] * mask_b)``;
  ``mask=None`` uses the predicted region ``argmax_k output[b, k] == c`` (taken from the clean output
  and held fixed for perturbation methods).
- ``PixelTarget(c, index)``: one output location ``output[b, c, *index]``.
- ``ChannelTarget(k, index=None)``: one channel (or neuron) of a hidden layer's activation, for a
  model wrapped in ``hidden.LayerOutput``.

A batch of ``n * B`` rows (perturbation methods) is read as ``n`` stacked copies of the B samples
(row ``j`` belongs to sample ``j % B``); per-sample indices and masks are tiled accordingly.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from numbers import Integral
from typing import Any

import torch
from torch import Tensor

__all__ = [
    "TargetError", "Target", "ClassTarget", "ContrastTarget", "RegionTarget", "PixelTarget", "ChannelTarget",
    "as_target",
]


class TargetError(ValueError):
    """A target does not fit the model output (bad class index, mask shape or location)."""


def _tile_rows(values: Tensor, rows: int, what: str) -> Tensor:
    """Repeat per-sample ``values`` (B, ...) to ``rows`` rows (n * B); a single row broadcasts."""
    if values.shape[0] in (1, rows):
        return values
    if rows % values.shape[0]:
        raise TargetError(f"target: {what} has {values.shape[0]} rows, expected 1 or a divisor of {rows}")
    return values.repeat(rows // values.shape[0], *([1] * (values.dim() - 1)))


def _require_tensor(output: object) -> None:
    if not isinstance(output, Tensor):
        raise TargetError(
            f"target: the model returned {type(output).__name__}, expected one Tensor (B, K, ...); "
            "wrap the model so that forward returns the logits to explain"
        )


def _check_class(index: Tensor, output: Tensor) -> None:
    _require_tensor(output)
    classes = output.shape[1] if output.dim() > 1 else 0
    if output.dim() < 2:
        raise TargetError(f"target: model output has shape {tuple(output.shape)}, expected (B, K, ...)")
    if index.numel() and (int(index.min()) < 0 or int(index.max()) >= classes):
        raise TargetError(
            f"target: class index {index.tolist()} out of range for a model output with {classes} "
            f"classes (dim 1 of shape {tuple(output.shape)})"
        )


class Target:
    """Base class: ``bind`` fixes data-dependent parts on the clean output; ``score`` -> (N,)."""

    def bind(self, output: Tensor) -> "Target":
        """Return a target whose score no longer depends on the output's prediction."""
        return self

    def score(self, output: Tensor) -> Tensor:
        raise NotImplementedError

    def class_indices(self, output: Tensor) -> Tensor:
        """The class index of every sample, (N,) long."""
        raise NotImplementedError


@dataclass(frozen=True)
class ClassTarget(Target):
    """One class per sample: an int for the whole batch or a (B,) tensor of indices."""

    index: Any

    def class_indices(self, output: Tensor) -> Tensor:
        _require_tensor(output)
        index = torch.as_tensor(self.index, device=output.device).long().reshape(-1)  # (B,) or (1,)
        if index.numel() == 0:
            raise TargetError("target: empty class index tensor, expected an int or a (B,) tensor")
        _check_class(index, output)
        return _tile_rows(index, output.shape[0], "class index").expand(output.shape[0])

    def score(self, output: Tensor) -> Tensor:
        index = self.class_indices(output)  # (N,)
        spatial = output.shape[2:]
        gather_index = index.view(-1, 1, *([1] * len(spatial))).expand(-1, 1, *spatial)
        picked = output.gather(1, gather_index)  # (N, 1, *spatial)
        return picked.flatten(1).sum(1)  # (N,)


@dataclass(frozen=True)
class ContrastTarget(ClassTarget):
    """Class c_b against the others: ``output[b, c_b] - mean_{k != c_b} output[b, k]`` (module docstring)."""

    def score(self, output: Tensor) -> Tensor:
        if output.dim() < 2 or output.shape[1] < 2:
            raise TargetError(f"ContrastTarget: needs >= 2 classes in dim 1, got shape {tuple(output.shape)}")
        picked = super().score(output)  # (N,)
        total = output.flatten(1).sum(1)  # every class, summed over locations
        return picked - (total - picked) / (output.shape[1] - 1)


@dataclass(frozen=True)
class RegionTarget(Target):
    """Sum of one class's logits inside a mask broadcastable to (B, *spatial); None = predicted region."""

    class_index: int
    mask: Any = None

    def _check(self, output: Tensor) -> None:
        _require_tensor(output)
        if output.dim() < 3:
            raise TargetError(
                f"RegionTarget: model output has shape {tuple(output.shape)}, expected (B, K, *spatial)"
            )
        _check_class(torch.tensor([self.class_index]), output)

    def bind(self, output: Tensor) -> "RegionTarget":
        if self.mask is not None:
            return self
        self._check(output)
        predicted = output.detach().argmax(1) == self.class_index  # (B, *spatial)
        return replace(self, mask=predicted.to(output.dtype))

    def class_indices(self, output: Tensor) -> Tensor:
        self._check(output)
        return torch.full((output.shape[0],), self.class_index, dtype=torch.long, device=output.device)

    def score(self, output: Tensor) -> Tensor:
        bound = self.bind(output)
        bound._check(output)
        logits = output[:, self.class_index]  # (N, *spatial)
        mask = torch.as_tensor(bound.mask, device=output.device, dtype=output.dtype)
        if mask.dim() == output.dim():  # (B, 1, *spatial)
            mask = mask.squeeze(1)
        if mask.dim() == logits.dim():
            mask = _tile_rows(mask, logits.shape[0], "mask")
        try:
            region = logits * mask  # (N, *spatial)
        except RuntimeError as error:
            raise TargetError(
                f"RegionTarget: mask of shape {tuple(mask.shape)} does not broadcast to the class map "
                f"{tuple(logits.shape)} (expected (B, *spatial) or (*spatial))"
            ) from error
        return region.flatten(1).sum(1)  # (N,)


@dataclass(frozen=True)
class PixelTarget(Target):
    """One output location: ``output[b, class_index, *index]``."""

    class_index: int
    index: tuple

    def class_indices(self, output: Tensor) -> Tensor:
        _check_class(torch.tensor([self.class_index]), output)
        return torch.full((output.shape[0],), self.class_index, dtype=torch.long, device=output.device)

    def score(self, output: Tensor) -> Tensor:
        self.class_indices(output)
        spatial = tuple(output.shape[2:])
        location = tuple(int(i) for i in self.index)
        if len(location) != len(spatial) or any(not 0 <= i < s for i, s in zip(location, spatial)):
            raise TargetError(
                f"PixelTarget: index {location} is not a location in the output's spatial shape {spatial}"
            )
        return output[(slice(None), self.class_index) + location]  # (N,)


def as_target(target: Any) -> Target:
    """An int, a sequence or a (B,) tensor of class indices becomes a ClassTarget."""
    if isinstance(target, Target):
        return target
    if isinstance(target, (Integral, Tensor, list, tuple)) or hasattr(target, "__array__"):
        return ClassTarget(target)
    raise TargetError(
        f"target: got {type(target).__name__}, expected an int, a (B,) tensor of class indices, "
        "ClassTarget, RegionTarget or PixelTarget"
    )


@dataclass(frozen=True)
class ChannelTarget(Target):
    """One channel of a hidden layer: ``sum_S A[b, channel]`` or one neuron ``A[b, channel, *index]``.

    Meant for a model that returns a layer's activation A (B, C, *S) as its output: wrap the model in
    ``hidden.LayerOutput(model, layer)`` (``hidden_unit_attribution`` does both), so that e.g.
    guided backprop shows the input pattern one hidden unit responds to (COVID paper, figs. 8-10).
    """

    channel: int
    index: tuple | None = None

    def class_indices(self, output: Tensor) -> Tensor:
        _check_class(torch.tensor([self.channel]), output)
        return torch.full((output.shape[0],), self.channel, dtype=torch.long, device=output.device)

    def score(self, output: Tensor) -> Tensor:
        if self.index is None:
            return ClassTarget(self.channel).score(output)  # (N,)
        return PixelTarget(self.channel, self.index).score(output)  # (N,)
