"""Model registry: ``build_model(name, **kw)`` and ``model_spec(model)`` to rebuild a model later.

A checkpoint stores ``model_spec(model)`` = {"name": ..., "kwargs": ...}; ``build_model(**spec)``
rebuilds the same architecture.
"""

from __future__ import annotations

from torch import nn

from .alexnet import AlexNetClassifier
from .gap_fcn import GapFCN
from .resnet import SmallResNet
from .unet import UNet
from .vgg import VGGClassifier

MODELS: dict[str, type[nn.Module]] = {
    "gap_fcn": GapFCN,
    "unet": UNet,
    "vgg": VGGClassifier,
    "alexnet": AlexNetClassifier,
    "small_resnet": SmallResNet,
}


def _canonical(name: str) -> str:
    return name.strip().lower().replace("-", "_")


def build_model(name: str, **kwargs) -> nn.Module:
    """Instantiate the model registered as ``name`` (gap_fcn, unet, vgg, alexnet, small_resnet; '-' == '_')."""
    key = _canonical(name)
    by_class = {cls.__name__.lower(): k for k, cls in MODELS.items()}
    key = by_class.get(key, key)
    if key not in MODELS:
        raise ValueError(f"model name: expected one of {sorted(MODELS)}, got {name!r}")
    return MODELS[key](**kwargs)


def model_spec(model: nn.Module) -> dict:
    """{"name": registry name, "kwargs": constructor kwargs} for a registry model."""
    for name, cls in MODELS.items():
        if type(model) is cls:
            return {"name": name, "kwargs": dict(model.init_kwargs)}
    raise ValueError(f"model: {type(model).__name__} is not a registry model; expected one of "
                     f"{[c.__name__ for c in MODELS.values()]}")
