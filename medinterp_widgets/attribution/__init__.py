"""Attribution engine: CAM family, gradient methods, perturbation methods (occlusion, Score-CAM, RISE).

Each method class describes itself (``MethodInfo``: uses a layer, differentiable, cost, needs hooks /
gradients, default options); ``registry.METHODS`` lists them and derives the name lists.

``attribute(model, x, *, method, target, layer=None, create_graph=False, upsample=True, relu=True,
normalize=None, **method_kwargs) -> Tensor`` (B, *spatial); ``attribute_detailed`` -> AttributionResult.
"""

from .api import InputError, attribute, attribute_detailed
from .base.result import AttributionResult
from .guided import relu_backward_rule
from .hidden import LayerOutput, hidden_unit_attribution
from .hooks import LayerError, resolve_layer
from .layers import LayerShape, default_layer, spatial_layers, trace_layers
from .methods import AttributionMethod, MethodInfo, MethodUnavailableError, ModelAccess, model_access
from .normalise import normalize_maps
from .registry import (
                       HEATMAP_METHODS,
                       HIDDEN_UNIT_METHODS,
                       LAYER_METHODS,
                       METHODS,
                       PERTURBATION_METHODS,
                       available_methods,
                       describe,
                       method_options,
)
from .targets import (
    ChannelTarget,
    ClassTarget,
    ContrastTarget,
    PixelTarget,
    RegionTarget,
    Target,
    TargetError,
    as_target,
)

__all__ = [
    "AttributionMethod",
    "HEATMAP_METHODS",
    "LAYER_METHODS",
    "LayerShape",
    "METHODS",
    "MethodInfo",
    "MethodUnavailableError",
    "ModelAccess",
    "PERTURBATION_METHODS",
    "available_methods",
    "default_layer",
    "describe",
    "method_options",
    "model_access",
    "spatial_layers",
    "trace_layers",
    "AttributionResult",
    "InputError",
    "ChannelTarget",
    "ClassTarget",
    "ContrastTarget",
    "HIDDEN_UNIT_METHODS",
    "LayerError",
    "LayerOutput",
    "PixelTarget",
    "RegionTarget",
    "Target",
    "TargetError",
    "as_target",
    "attribute",
    "attribute_detailed",
    "hidden_unit_attribution",
    "normalize_maps",
    "relu_backward_rule",
    "resolve_layer",
]
