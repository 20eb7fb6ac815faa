"""Attribution engine: CAM family, gradient methods, perturbation methods.

``attribute(model, x, *, method, target, layer=None, create_graph=False, upsample=True, relu=True,
normalize=None, **method_kwargs) -> Tensor`` (B, *spatial); ``attribute_detailed`` -> AttributionResult.
"""

from .api import LAYER_METHODS, METHODS, InputError, attribute, attribute_detailed
from .base.result import AttributionResult
from .guided import relu_backward_rule
from .hidden import HIDDEN_UNIT_METHODS, LayerOutput, hidden_unit_attribution
from .hooks import LayerError, resolve_layer
from .normalise import normalize_maps
from .targets import ChannelTarget, ClassTarget, PixelTarget, RegionTarget, Target, TargetError, as_target

__all__ = [
    "LAYER_METHODS",
    "METHODS",
    "AttributionResult",
    "InputError",
    "ChannelTarget",
    "ClassTarget",
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
