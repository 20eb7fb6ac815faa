"""``attribute``: one map per sample for any method; ``attribute_detailed`` adds the extras.

Every call leaves the model as found: ``training`` flags (the call runs in the model's current
mode), parameters' ``.grad`` and ``requires_grad``, hook dicts and norm-layer running statistics
(see ``state``); also when it raises. Gradients are taken with ``torch.autograd.grad`` only.

``relu`` applies to the CAM family (cam, gradcam, hirescam, gradcam++, scorecam, and the Grad-CAM
factor of guided_gradcam); saliency is |dY/dx|, guided/deconvnet gradients and occlusion drops
keep their sign. ``upsample`` resizes CAM maps to the input (bilinear / trilinear,
align_corners=False); the other methods already work at the input's resolution.

Arguments are checked first: an empty batch or NaN/inf input is an `InputError`; ``layer=`` given to a
method that uses none (saliency, guided_backprop, deconvnet, occlusion, rise) and a layer without spatial
output are `LayerError`s; a method the model cannot run (hooks on a TorchScript model, gradients of an
ONNX model: ``methods.model_access``) is a `MethodUnavailableError`. ``layer=None`` is the model's
declared CAM layer or the one ``layers.default_layer`` finds by probing; ``layer_name`` of the result
says which was used.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from .base.result import AttributionResult
from .hooks import LayerError
from .methods import MethodUnavailableError, model_access
from .normalise import NORMALIZATIONS, normalize_maps
from .registry import LAYER_METHODS, METHODS, available_methods
from .targets import as_target
from .upsample import upsample_maps

__all__ = ["InputError", "LAYER_METHODS", "METHODS", "attribute", "attribute_detailed"]


class InputError(ValueError):
    """The input batch cannot be explained: empty, of the wrong shape, or holding NaN/inf values."""


def _check_input(x: Any) -> None:
    if not isinstance(x, Tensor) or x.dim() < 3:
        shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
        raise InputError(f"x: got {shape}, expected a tensor (B, C, H, W) or (B, C, D, H, W)")
    if x.shape[0] == 0 or 0 in x.shape[1:]:
        raise InputError(f"x: shape {tuple(x.shape)} is empty; expected at least one sample with C, H, W > 0")
    if x.is_floating_point() or x.is_complex():
        bad = int((~torch.isfinite(x)).sum())
        if bad:
            raise InputError(f"x: {bad} of {x.numel()} values are NaN/inf; the maps would be meaningless")


def _check_call(model: Any, x: Any, method: str, normalize: str | None, create_graph: bool,
                layer: Any = None) -> None:
    if not isinstance(model, nn.Module):
        raise TypeError(f"model: got {type(model).__name__}, expected a torch.nn.Module")
    _check_input(x)
    if method not in METHODS:
        raise ValueError(f"method: got {method!r}, expected one of {sorted(METHODS)}")
    info = METHODS[method].info
    reason = info.unavailable_on(model_access(model))
    if reason is not None:
        runnable = [name for name, why in available_methods(model).items() if why is None]
        raise MethodUnavailableError(f"{reason}; methods that run on it: {', '.join(runnable) or 'none'}")
    if layer is not None and not info.uses_layer:
        raise LayerError(f"layer: {method!r} works on the input and uses no layer (got layer={layer!r}); "
                         f"pass layer=None, or use one of {list(LAYER_METHODS)}")
    if normalize not in NORMALIZATIONS:
        raise ValueError(f"normalize: got {normalize!r}, expected one of {NORMALIZATIONS}")
    if create_graph and not info.differentiable:
        supported = sorted(name for name, cls in METHODS.items() if cls.info.differentiable)
        raise ValueError(f"create_graph=True: {method!r} is not differentiable here; use one of {supported}")


def attribute_detailed(
    model: nn.Module,
    x: Tensor,
    *,
    method: str,
    target: Any,
    layer: Any = None,
    create_graph: bool = False,
    upsample: bool = True,
    relu: bool = True,
    normalize: str | None = None,
    **method_kwargs: Any,
) -> AttributionResult:
    """Like ``attribute`` but returns an ``AttributionResult`` (map, raw, layer_name, weights, ...)."""
    _check_call(model, x, method, normalize, create_graph, layer)
    runner = METHODS[method](**method_kwargs)
    found = runner(model, x, as_target(target), layer=layer, create_graph=create_graph, relu=relu)
    maps = upsample_maps(found.raw, x.shape[2:]) if upsample else found.raw  # (B, *S)
    maps = normalize_maps(maps, normalize)
    return AttributionResult(
        map=maps,
        raw=found.raw,
        method=method,
        layer_name=found.layer_name,
        weights=found.weights,
        scores=found.scores,
        logits=found.logits,
    )


def attribute(
    model: nn.Module,
    x: Tensor,
    *,
    method: str,
    target: Any,
    layer: Any = None,
    create_graph: bool = False,
    upsample: bool = True,
    relu: bool = True,
    normalize: str | None = None,
    **method_kwargs: Any,
) -> Tensor:
    """One attribution map per sample, (B, *x.shape[2:]) on x's device (layer size if not upsample).

    x: (B, C, H, W) or (B, C, D, H, W). target: int, (B,) tensor, ClassTarget, RegionTarget or
    PixelTarget. layer: module, dotted name or None (the declared or probed default layer, see
    ``layers.default_layer``). normalize: None, "max", "minmax".
    create_graph=True keeps the map differentiable w.r.t. the parameters (cam, gradcam, hirescam,
    gradcam++, saliency). method_kwargs go to the method (e.g. occlusion's window, stride, baseline,
    batch_size; scorecam's batch_size; rise's n_masks, cells, p, seed; cam's head; saliency's absolute).
    """
    return attribute_detailed(
        model,
        x,
        method=method,
        target=target,
        layer=layer,
        create_graph=create_graph,
        upsample=upsample,
        relu=relu,
        normalize=normalize,
        **method_kwargs,
    ).map
