"""Attribution of hidden units: which input pattern drives one channel (or neuron) of a layer.

``LayerOutput(model, layer)`` is a module whose output is ``layer``'s activation A (B, C, *S')
instead of the model's logits (the hook lives for one forward only); ``ChannelTarget(k)`` then scores
``sum_S A[b, k]`` and ``ChannelTarget(k, index)`` one neuron. ``hidden_unit_attribution`` runs an
input-level method (guided backprop by default, as in the COVID-CT paper's figures 8-10) on that.
"""

from __future__ import annotations

from typing import Any

from torch import Tensor, nn

from .api import attribute
from .hooks import capture_activation, resolve_layer
from .registry import HIDDEN_UNIT_METHODS
from .targets import ChannelTarget

__all__ = ["HIDDEN_UNIT_METHODS", "LayerOutput", "hidden_unit_attribution"]

class LayerOutput(nn.Module):
    """Wraps ``model``; ``forward(x)`` runs the whole model and returns ``layer``'s output (B, C, *S')."""

    def __init__(self, model: nn.Module, layer: nn.Module | str | None):
        super().__init__()
        self.model = model
        self.layer_name, self.layer = resolve_layer(model, layer)
        self.train(model.training)  # only this wrapper's own flag; the model's flags are left alone

    def train(self, mode: bool = True) -> "LayerOutput":
        self.training = mode  # never switch the wrapped model's mode
        return self

    def forward(self, x: Tensor) -> Tensor:
        with capture_activation(self.layer_name, self.layer) as store:
            self.model(x)
        return store.get()  # (B, C, *S')


def hidden_unit_attribution(model: nn.Module, x: Tensor, *, layer: nn.Module | str, channel: int,
                            index: tuple | None = None, method: str = "guided_backprop", **kwargs: Any) -> Tensor:
    """Map (B, *x.shape[2:]) of ``method`` for channel ``channel`` of ``layer`` (all of its locations,
    or the neuron at ``index`` of the layer's spatial grid); kwargs go to ``attribute``."""
    if method not in HIDDEN_UNIT_METHODS:
        raise ValueError(f"method: got {method!r}, expected one of {HIDDEN_UNIT_METHODS} for a hidden unit")
    target = ChannelTarget(channel, None if index is None else tuple(index))
    return attribute(LayerOutput(model, layer), x, method=method, target=target, **kwargs)
