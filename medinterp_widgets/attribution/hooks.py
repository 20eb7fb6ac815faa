"""Layer lookup and activation capture with hooks that live for one call only.

``resolve_layer`` accepts a module, a dotted name from ``model.named_modules()``, or None: the
model's declared CAM layer (a ``cam_layer_name`` attribute naming a submodule, as the project's
models have) or else, given the input ``x``, the layer ``layers.default_layer`` finds by probing.

``capture_activation`` registers a forward hook and removes it in ``finally``. The hook keeps the
layer's own output tensor and hands a clone to the rest of the network, so an in-place op after
the layer (``nn.ReLU(inplace=True)``) cannot overwrite the kept activation: values and gradients
are those of the layer output itself. A module called several times in one forward keeps the
output of its last call.

``capture_activation(..., graph_from_layer=True)`` is for a forward run under ``torch.no_grad``:
the hook makes the kept output a fresh leaf that requires grad and switches gradient recording on
for the rest of the forward. Only the layers after the hook are recorded, so the layers before it
keep no tensors for backward and run at no-grad speed; dY/dA is unchanged, because everything
computed before A is a constant for it. (The caller's grad-mode context restores the mode.)
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

import torch
from torch import Tensor, nn

__all__ = ["LayerError", "resolve_layer", "capture_activation", "ActivationStore"]

CONV_TYPES = (nn.Conv1d, nn.Conv2d, nn.Conv3d)


class LayerError(ValueError):
    """The requested layer does not exist or cannot be used by the method."""


def resolve_layer(model: nn.Module, layer: nn.Module | str | None = None, x: Tensor | None = None
                  ) -> tuple[str, nn.Module]:
    """Return ``(dotted_name, module)`` for ``layer``; None: ``model.cam_layer_name`` or, with ``x``, the
    probed default (``layers.default_layer``)."""
    named = list(model.named_modules())
    declared = getattr(model, "cam_layer_name", None)
    if layer is None and isinstance(declared, str):
        layer = declared
    elif layer is None:
        if x is None:
            raise LayerError(f"layer: {type(model).__name__} declares no cam_layer_name; pass layer=<module or "
                             "name>, or the input x so that the default layer can be found by probing")
        from .layers import default_layer  # layers imports this module

        layer = default_layer(model, x)
    if isinstance(layer, str):
        modules = dict(named)
        if layer not in modules:
            names = ", ".join(name for name, _ in named if name) or "(none)"
            raise LayerError(f"layer: no module named {layer!r} in {type(model).__name__}; known: {names}")
        return layer, modules[layer]
    if isinstance(layer, nn.Module):
        for name, module in named:
            if module is layer:
                return name, module
        raise LayerError(
            f"layer: the given {type(layer).__name__} is not a submodule of {type(model).__name__}"
        )
    raise LayerError(f"layer: got {type(layer).__name__}, expected an nn.Module, a dotted name or None")


@dataclass
class ActivationStore:
    """Holds the hooked layer's output of the last call (B, C, *spatial)."""

    name: str
    tensor: Tensor | None = None

    def get(self) -> Tensor:
        if self.tensor is None:
            raise LayerError(f"layer {self.name!r} was not called during the forward pass")
        return self.tensor


@contextmanager
def capture_activation(name: str, module: nn.Module, graph_from_layer: bool = False) -> Iterator[ActivationStore]:
    """Keep ``module``'s output while the context is open; the hook is removed in ``finally``.

    graph_from_layer: record the autograd graph from this layer's output on (see the module notes).
    """
    store = ActivationStore(name)

    def keep_output(_module: nn.Module, _inputs: object, output: object) -> Tensor:
        if not isinstance(output, Tensor):
            raise LayerError(f"layer {name!r} returns {type(output).__name__}, expected a Tensor")
        if graph_from_layer:
            output = output.detach().requires_grad_(True)
            torch.set_grad_enabled(True)  # function form: stays on for the rest of this forward
        store.tensor = output
        return output.clone()  # downstream in-place ops touch the clone, not the kept tensor

    handle = module.register_forward_hook(keep_output)
    try:
        yield store
    finally:
        handle.remove()
