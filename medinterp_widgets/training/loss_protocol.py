"""The `Loss` protocol the Trainer relies on: declared inputs, a total with named parts, one forward a step.

A loss declares what it needs with ``inputs``:

- ``"logits"``: ``loss.compute(logits, target) -> LossResult``; the Trainer runs the forward once and
  hands the logits over (cross-entropy, soft Dice, Dice + CE).
- ``"model"``: ``loss.compute(model, batch) -> LossResult`` with ``result.logits`` set; the loss runs the
  one forward of the step itself, because it needs more than the logits (the heatmap loss hooks a
  layer and differentiates through dY/dA; the LV CAM-head loss reads the GAP head's outputs). ``batch``
  is a `Batch` (x, y, extras; ``batch.mask`` is the extra named ``mask``, else the first extra).

``LossResult.total`` is the scalar to back-propagate; ``parts`` holds the named terms (detached
scalars; empty for a single-term loss) that the Trainer logs per step for the curves.

Validation uses the same loss unless it declares an evaluation form: a method ``evaluation_form()``
returning the loss to score with (the heatmap loss needs ``autograd.grad`` inside its step, which
validation under ``no_grad`` does not allow, so it declares its classification term).

``as_loss(fn)`` turns a plain ``fn(logits, target) -> Tensor`` (e.g. ``nn.CrossEntropyLoss(...)``)
into a logits loss; anything else must implement the protocol.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Literal, Protocol, Union, runtime_checkable

import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["Batch", "CrossEntropy", "LogitsLoss", "Loss", "LossResult", "ModelLoss", "PlainLoss", "as_loss",
           "evaluation_loss"]


@dataclass
class LossResult:
    """``total`` (scalar, differentiable), ``parts`` {name: detached scalar}, ``logits`` of the forward."""

    total: Tensor
    parts: dict[str, Tensor] = field(default_factory=dict)
    logits: Tensor | None = None


@dataclass
class Batch:
    """One batch as the Trainer unpacked it: inputs, targets and the remaining items by name."""

    x: Tensor
    y: Tensor
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def mask(self) -> Any:
        """The extra named ``mask``, else the first extra (a tuple item ``(x, y, mask)``), else None."""
        return self.extras.get("mask", next(iter(self.extras.values()), None))


@runtime_checkable
class LogitsLoss(Protocol):
    inputs: Literal["logits"]

    def compute(self, logits: Tensor, target: Tensor) -> LossResult: ...


@runtime_checkable
class ModelLoss(Protocol):
    inputs: Literal["model"]

    def compute(self, model: nn.Module, batch: Batch) -> LossResult: ...


Loss = Union[LogitsLoss, ModelLoss]


class PlainLoss:
    """A plain ``fn(logits, target) -> scalar Tensor`` as a logits loss (no parts)."""

    inputs: Literal["logits"] = "logits"

    def __init__(self, fn: Callable[[Tensor, Tensor], Tensor]):
        self.fn = fn
        self.amp_safe = bool(getattr(fn, "amp_safe", True))

    def compute(self, logits: Tensor, target: Tensor) -> LossResult:
        total = self.fn(logits, target)
        if not isinstance(total, Tensor) or total.dim() != 0:
            raise TypeError(f"loss {self.fn!r}: expected a scalar tensor from loss(logits, target), got "
                            f"{type(total).__name__}; a loss that runs the model itself implements the Loss "
                            "protocol (inputs = 'model', compute(model, batch) -> LossResult with logits)")
        return LossResult(total)


class CrossEntropy:
    """Cross-entropy on logits (B, C[, *S]) and class indices (B[, *S]): the Trainer's default loss."""

    inputs: Literal["logits"] = "logits"

    def __init__(self, **options: Any):
        self.options = options  # F.cross_entropy keywords: weight, label_smoothing, ignore_index ...

    def compute(self, logits: Tensor, target: Tensor) -> LossResult:
        return LossResult(F.cross_entropy(logits, target.long(), **self.options))

    def __call__(self, logits: Tensor, target: Tensor) -> Tensor:
        return self.compute(logits, target).total


def as_loss(loss: Any) -> Loss:
    """``loss`` itself when it implements the protocol, a `PlainLoss` for a plain callable."""
    inputs = getattr(loss, "inputs", None)
    if inputs in ("logits", "model") and callable(getattr(loss, "compute", None)):
        return loss
    if inputs is not None:
        raise TypeError(f"loss {loss!r}: inputs={inputs!r}, expected 'logits' or 'model' with a compute() method")
    if not callable(loss):
        raise TypeError(f"loss: expected a Loss or a callable loss(logits, target), got {type(loss).__name__}")
    return PlainLoss(loss)


def evaluation_loss(loss: Loss) -> Loss:
    """The loss validation scores with: ``loss.evaluation_form()`` when it declares one, else ``loss``."""
    form = getattr(loss, "evaluation_form", None)
    return as_loss(form()) if callable(form) else loss


def detached_parts(**parts: Tensor) -> dict[str, Tensor]:
    """Named terms for ``LossResult.parts``: detached, summed to scalars (grouped models give (K,))."""
    return {name: value.detach().sum() for name, value in parts.items()}


def forward_with_loss(loss: Loss, model: nn.Module, batch: Batch,
                      to_logits: Callable[[Any], Tensor]) -> tuple[Tensor, LossResult]:
    """(logits, result) of one step: exactly one forward of ``model``, by the Trainer or by the loss."""
    if loss.inputs == "model":
        result = loss.compute(model, batch)
        if not isinstance(result, LossResult) or result.logits is None:
            raise TypeError(f"loss {type(loss).__name__} (inputs='model'): compute() must return a LossResult "
                            "with the logits of its forward, so the step needs no second forward")
        return to_logits(result.logits), result
    logits = to_logits(model(batch.x))
    result = loss.compute(logits, batch.y)
    if not isinstance(result, LossResult):
        raise TypeError(f"loss {type(loss).__name__}: compute() must return a LossResult, got {type(result).__name__}")
    return logits, result
