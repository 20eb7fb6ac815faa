"""The attribution methods, one line each; everything else about a method is its class's ``info``.

Adding a method: a module with a class that has ``info = MethodInfo(...)`` and the `AttributionMethod`
call, plus one line in ``_CLASSES`` below. The name lists other modules used to keep are derived here.
"""

from __future__ import annotations

from torch import nn

from .cam_methods import CAM, GradCAM, GradCAMPlusPlus, HiResCAM
from .gradients import Saliency
from .guided import Deconvnet, GuidedBackprop, GuidedGradCAM
from .methods import AttributionMethod, MethodInfo, model_access
from .perturbation import Occlusion, ScoreCAM
from .rise import RISE

__all__ = ["HEATMAP_METHODS", "HIDDEN_UNIT_METHODS", "LAYER_METHODS", "METHODS", "PERTURBATION_METHODS",
           "available_methods", "describe", "method_options"]

_CLASSES: tuple[type[AttributionMethod], ...] = (
    CAM,
    GradCAM,
    HiResCAM,
    GradCAMPlusPlus,
    ScoreCAM,
    Saliency,
    GuidedBackprop,
    Deconvnet,
    GuidedGradCAM,
    Occlusion,
    RISE,
)

METHODS: dict[str, type[AttributionMethod]] = {cls.info.name: cls for cls in _CLASSES}
LAYER_METHODS = tuple(name for name, cls in METHODS.items() if cls.info.uses_layer)
PERTURBATION_METHODS = tuple(name for name, cls in METHODS.items() if cls.info.slow)
HIDDEN_UNIT_METHODS = tuple(name for name, cls in METHODS.items() if cls.info.hidden_units)
HEATMAP_METHODS = tuple(name for name, cls in METHODS.items() if cls.info.trainable)


def describe(method: str) -> MethodInfo:
    """The description of ``method``; ValueError naming the known methods otherwise."""
    if method not in METHODS:
        raise ValueError(f"method: got {method!r}, expected one of {sorted(METHODS)}")
    return METHODS[method].info


def method_options(method: str, spatial: tuple[int, ...], progress: bool = False, cells: int | None = None) -> dict:
    """Default keyword arguments of ``method`` for an input of ``spatial`` shape (``MethodInfo.default_options``)."""
    return describe(method).default_options(spatial, cells, progress)


def available_methods(model: nn.Module) -> dict[str, str | None]:
    """Every method name -> None when it can run on ``model``, else the reason it cannot (TorchScript, ONNX)."""
    access = model_access(model)
    return {name: cls.info.unavailable_on(access) for name, cls in METHODS.items()}
