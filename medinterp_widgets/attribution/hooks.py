"""Layer lookup and activation capture with hooks that live for one call only.

``resolve_layer`` accepts a module, a dotted name from ``model.named_modules()``, or None: the
model's declared CAM layer (a ``cam_layer_name`` attribute naming a submodule, as the project's
models have) or else the last convolution (Conv1d/2d/3d, in registration order).

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

__all__ = ["LayerError", "resolve_layer", "capture_activation", "ActivationStore", "find_cam_head"]

CONV_TYPES = (nn.Conv1d, nn.Conv2d, nn.Conv3d)


class LayerError(ValueError):
    """The requested layer does not exist or cannot be used by the method."""


def resolve_layer(model: nn.Module, layer: nn.Module | str | None = None) -> tuple[str, nn.Module]:
    """Return ``(dotted_name, module)`` for ``layer``; None: ``model.cam_layer_name`` or the last conv."""
    named = list(model.named_modules())
    if layer is None and isinstance(getattr(model, "cam_layer_name", None), str):
        layer = model.cam_layer_name
    if layer is None:
        convs = [(name, module) for name, module in named if isinstance(module, CONV_TYPES)]
        if not convs:
            raise LayerError(
                f"layer: {type(model).__name__} has no Conv1d/2d/3d; pass layer=<module or name>"
            )
        return convs[-1]
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

    def keep_output(_module, _inputs, output):
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


def _head_matrix(module: nn.Module) -> Tensor | None:
    """Weight of a Linear or 1x1(x1) convolution as a (K, C) matrix, else None."""
    if isinstance(module, nn.Linear):
        return module.weight
    if isinstance(module, CONV_TYPES) and all(k == 1 for k in module.kernel_size) and module.groups == 1:
        return module.weight.flatten(1)  # (K, C, 1, 1) -> (K, C)
    return None


def find_cam_head(model: nn.Module, layer_name: str, channels: int, head=None) -> tuple[str, Tensor]:
    """The classifier after GAP whose weights w_{c,k} define CAM: ``head``, else the model's
    ``cam_head`` attribute, else the first Linear / 1x1 conv registered after ``layer_name`` (not
    inside it) with ``channels`` inputs. Returns (name, (K, C) weight)."""
    if head is None and isinstance(getattr(model, "cam_head", None), nn.Module):
        head = model.cam_head
    if head is not None:
        name, module = resolve_layer(model, head)
        weight = _head_matrix(module)
        if weight is None or weight.shape[1] != channels:
            raise LayerError(
                f"cam: head {name!r} must be a Linear or 1x1 conv with {channels} input channels "
                f"(the layer must feed GAP -> linear)"
            )
        return name, weight
    seen_layer = False
    for name, module in model.named_modules():
        if name == layer_name or name.startswith(layer_name + "."):
            seen_layer = True
            continue
        weight = _head_matrix(module) if seen_layer else None
        if weight is not None and weight.shape[1] == channels:
            return name, weight
    raise LayerError(
        f"cam: no Linear or 1x1 conv with {channels} inputs after layer {layer_name!r}; CAM needs "
        "layer -> GAP -> linear head (pass head=<module or name>)"
    )
