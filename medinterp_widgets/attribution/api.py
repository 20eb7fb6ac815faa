"""``attribute``: one map per sample for any method; ``attribute_detailed`` adds the extras.

Every call leaves the model as found: ``training`` flags (the call runs in the model's current
mode), parameters' ``.grad`` and ``requires_grad``, hook dicts and norm-layer running statistics
(see ``state``); also when it raises. Gradients are taken with ``torch.autograd.grad`` only.

``relu`` applies to the CAM family (cam, gradcam, hirescam, gradcam++, scorecam, and the Grad-CAM
factor of guided_gradcam); saliency is |dY/dx|, guided/deconvnet gradients and occlusion drops
keep their sign. ``upsample`` resizes CAM maps to the input (bilinear / trilinear,
align_corners=False); the other methods already work at the input's resolution.
"""

from __future__ import annotations

from torch import Tensor, nn

from .base.result import AttributionResult
from .cam_methods import CAM, GradCAM, GradCAMPlusPlus, HiResCAM
from .gradients import Saliency
from .guided import Deconvnet, GuidedBackprop, GuidedGradCAM
from .normalise import NORMALISATIONS, normalize_maps
from .perturbation import Occlusion, ScoreCAM
from .targets import as_target
from .upsample import upsample_maps

__all__ = ["METHODS", "attribute", "attribute_detailed"]

METHODS = {
    "cam": CAM,
    "gradcam": GradCAM,
    "hirescam": HiResCAM,
    "gradcam++": GradCAMPlusPlus,
    "scorecam": ScoreCAM,
    "saliency": Saliency,
    "guided_backprop": GuidedBackprop,
    "deconvnet": Deconvnet,
    "guided_gradcam": GuidedGradCAM,
    "occlusion": Occlusion,
}


def _check_call(model, x, method: str, normalize, create_graph: bool):
    if not isinstance(model, nn.Module):
        raise TypeError(f"model: got {type(model).__name__}, expected a torch.nn.Module")
    if not isinstance(x, Tensor) or x.dim() < 3:
        shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
        raise ValueError(f"x: got {shape}, expected a tensor (B, C, H, W) or (B, C, D, H, W)")
    if method not in METHODS:
        raise ValueError(f"method: got {method!r}, expected one of {sorted(METHODS)}")
    if normalize not in NORMALISATIONS:
        raise ValueError(f"normalize: got {normalize!r}, expected one of {NORMALISATIONS}")
    if create_graph and not METHODS[method].supports_create_graph:
        supported = sorted(name for name, cls in METHODS.items() if cls.supports_create_graph)
        raise ValueError(f"create_graph=True: {method!r} is not differentiable here; use one of {supported}")


def attribute_detailed(
    model: nn.Module,
    x: Tensor,
    *,
    method: str,
    target,
    layer=None,
    create_graph: bool = False,
    upsample: bool = True,
    relu: bool = True,
    normalize: str | None = None,
    **method_kwargs,
) -> AttributionResult:
    """Like ``attribute`` but returns an ``AttributionResult`` (map, raw, layer_name, weights, ...)."""
    _check_call(model, x, method, normalize, create_graph)
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
    target,
    layer=None,
    create_graph: bool = False,
    upsample: bool = True,
    relu: bool = True,
    normalize: str | None = None,
    **method_kwargs,
) -> Tensor:
    """One attribution map per sample, (B, *x.shape[2:]) on x's device (layer size if not upsample).

    x: (B, C, H, W) or (B, C, D, H, W). target: int, (B,) tensor, ClassTarget, RegionTarget or
    PixelTarget. layer: module, dotted name or None (last conv). normalize: None, "max", "minmax".
    create_graph=True keeps the map differentiable w.r.t. the parameters (cam, gradcam, hirescam,
    gradcam++, saliency). method_kwargs go to the method (e.g. occlusion's window, stride, baseline,
    batch_size; scorecam's batch_size; cam's head; saliency's absolute).
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
