"""A model's layers as one dry forward sees them, and the default layer chosen from that.

``trace_layers(model, x)`` runs the model once (no gradients, its mode unchanged, running statistics
shielded, hooks removed in ``finally``) with a forward hook on every named module and returns one
`LayerShape` per module that ran, in the order the modules *finished* (a block after its children;
a module called several times counts at its last call).

A spatial output is a tensor (B, C, *S) with as many spatial dims as x and more than one voxel.

``default_layer(model, x)``: the model's declared ``cam_layer_name`` if it has one; otherwise the last
module to finish with a spatial output that is not the model's output tensor itself, preferring one
whose channel count differs from the output's class count K. In a classifier that is the last block
before global pooling collapses the spatial dims, taken after its activation: of the modules returning
the same tensor the outermost finishes last (``layer4`` rather than ``layer4.1.relu``). In a
segmentation net it is the last feature map before the layers that produce the K class maps. The
choice is cached per model, input shape and module set, so repeated calls cost no extra forward.
"""

from __future__ import annotations

import math
import weakref
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from .hooks import LayerError
from .state import attribution_session

__all__ = ["LayerShape", "default_layer", "spatial_layers", "trace_layers"]

_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class LayerShape:
    """One module in a forward: dotted name, class name, output shape (None: not a tensor), finishing order."""

    name: str
    type: str
    shape: tuple[int, ...] | None
    order: int
    is_output: bool = False
    spatial: bool = False

    @property
    def channels(self) -> int | None:
        return self.shape[1] if self.shape is not None and len(self.shape) > 1 else None


def _is_spatial(shape: tuple[int, ...] | None, dims: int) -> bool:
    return shape is not None and len(shape) == dims + 2 and math.prod(shape[2:]) > 1


def trace_layers(model: nn.Module, x: Tensor) -> list[LayerShape]:
    """Every named module's output shape in one forward of ``x`` (B, C, *S), in finishing order."""
    return _trace(model, x)[0]


def _trace(model: nn.Module, x: Tensor) -> tuple[list[LayerShape], tuple[int, ...] | None]:
    """(layers, the model output's shape or None when it is not a tensor)."""
    if isinstance(model, torch.jit.ScriptModule):
        raise LayerError("layers: a TorchScript model cannot be hooked, so its layers cannot be traced")
    seen: dict[str, tuple] = {}  # name -> (type, shape, weak reference to the output)
    handles = []

    def recorder(name: str):
        def record(module: nn.Module, _inputs: object, output: Any) -> None:
            is_tensor = isinstance(output, Tensor)
            seen.pop(name, None)  # re-insert: dict order = finishing order of the last call
            seen[name] = (type(module).__name__, tuple(output.shape) if is_tensor else None,
                          weakref.ref(output) if is_tensor else None)
        return record

    try:
        for name, module in model.named_modules():
            if name:
                handles.append(module.register_forward_hook(recorder(name)))
        with attribution_session(model, grad=False):
            output = model(x)
    finally:
        for handle in handles:
            handle.remove()
    dims = x.dim() - 2
    layers = [LayerShape(name, kind, shape, order, ref is not None and ref() is output, _is_spatial(shape, dims))
              for order, (name, (kind, shape, ref)) in enumerate(seen.items())]
    return layers, tuple(output.shape) if isinstance(output, Tensor) else None


def spatial_layers(model: nn.Module, x: Tensor) -> list[LayerShape]:
    """The traced modules with a spatial output (B, C, *S), in finishing order."""
    return [layer for layer in trace_layers(model, x) if layer.spatial]


def _pick_default(layers: list[LayerShape], classes: int | None) -> str | None:
    candidates = [layer for layer in layers if layer.spatial and not layer.is_output]
    preferred = [layer for layer in candidates if layer.channels != classes]
    chosen = (preferred or candidates)[-1:]
    return chosen[0].name if chosen else None


def _signature(model: nn.Module, x: Tensor) -> tuple:
    return (tuple(x.shape[1:]), x.dtype, x.device, tuple((n, id(m)) for n, m in model.named_modules()))


def default_layer(model: nn.Module, x: Tensor) -> str:
    """The layer methods use when none is given (see the module docstring); `LayerError` when no module
    has a spatial output."""
    declared = getattr(model, "cam_layer_name", None)
    if isinstance(declared, str):
        return declared
    signature = _signature(model, x)
    cached = _CACHE.get(model)
    if cached is not None and cached[0] == signature:
        return cached[1]
    probe = x if x.shape[0] <= 2 else x[:2]
    layers, output_shape = _trace(model, probe)
    name = _pick_default(layers, output_shape[1] if output_shape is not None and len(output_shape) > 1 else None)
    if name is None:
        raise LayerError(f"layer: no module of {type(model).__name__} has a spatial output (B, C, *S) for an input "
                         f"of shape {tuple(x.shape)}; layer methods need one: pass layer=, or use a method that "
                         "works on the input (saliency, occlusion, rise)")
    _CACHE[model] = (signature, name)
    return name
