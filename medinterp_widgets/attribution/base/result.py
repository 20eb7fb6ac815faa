"""What a method returns (``RawAttribution``) and what the API hands out (``AttributionResult``)."""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor


@dataclass
class RawAttribution:
    """A method's output before upsampling and normalisation.

    raw: (B, *spatial) at the layer's resolution (CAM family) or at the input's (the others).
    weights: (B, C) channel weights when the method has them, else None.
    scores: (B,) target scores of the clean input; logits: the model output (both detached).
    """

    raw: Tensor
    scores: Tensor
    logits: Tensor
    layer_name: str | None = None
    weights: Tensor | None = None


@dataclass
class AttributionResult:
    """``map``: what ``attribute`` returns (B, *spatial); ``raw``: the un-normalised map at the
    layer's resolution (equal to the input's for input-level methods); plus the extras."""

    map: Tensor
    raw: Tensor
    method: str
    layer_name: str | None
    weights: Tensor | None
    scores: Tensor
    logits: Tensor
