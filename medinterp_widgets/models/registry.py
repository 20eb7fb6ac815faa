"""Model registry: the only place a checkpoint's model class is looked up; nothing named in a file is imported.

- the project's models by name: gap_fcn, unet, vgg, alexnet (``build_model(name, **kw)``);
- a user's classes registered in code: ``register_model("tiny", TinyNet)`` or ``@register_model("tiny")``;
- classes of a module the user names explicitly: ``trust_model_module("mypkg.models")`` (the CLI's
  ``--trust-model-module``, the workbench's "this runs code from module X" button) imports that module
  and makes the ``nn.Module`` classes defined in it loadable by class path ("mypkg.models:TinyNet").

Old checkpoints of the project's models name their class by path ("medinterp_widgets.models.gap_fcn:GapFCN")
without a registry name; ``class_for_path`` maps those strings to the registered classes, it never imports.
"""

from __future__ import annotations

import importlib
import re

from torch import nn

from .alexnet import AlexNetClassifier
from .gap_fcn import GapFCN
from .unet import UNet
from .vgg import VGGClassifier

MODELS: dict[str, type[nn.Module]] = {
    "gap_fcn": GapFCN,
    "unet": UNet,
    "vgg": VGGClassifier,
    "alexnet": AlexNetClassifier,
}
# class paths older checkpoints carry for the project's own models (compared as strings, never imported)
LEGACY_CLASS_PATHS = {
    "medinterp_widgets.models.gap_fcn:GapFCN": "gap_fcn",
    "medinterp_widgets.models.unet:UNet": "unet",
    "medinterp_widgets.models.vgg:VGGClassifier": "vgg",
    "medinterp_widgets.models.alexnet:AlexNetClassifier": "alexnet",
    "medinterp_widgets.models:GapFCN": "gap_fcn",
    "medinterp_widgets.models:UNet": "unet",
    "medinterp_widgets.models:VGGClassifier": "vgg",
    "medinterp_widgets.models:AlexNetClassifier": "alexnet",
}
_TRUSTED: dict[str, type[nn.Module]] = {}  # "module:Class" -> class, filled by trust_model_module only
_MODULE_NAME = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")
_CLASS_PATH = re.compile(r"^([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*):[A-Za-z_]\w*$")


class UnknownModelError(ValueError):
    """A model name or class path that is not in the registry (nothing was imported)."""


def class_path(cls: type) -> str:
    """``"module:Qualname"`` of a class (what checkpoints store as ``model_class``)."""
    return f"{cls.__module__}:{cls.__qualname__}"


def _canonical(name: str) -> str:
    return name.strip().lower().replace("-", "_")


def register_model(name: str, cls: type[nn.Module] | None = None):
    """Make ``cls`` loadable from checkpoints as ``name``; also usable as ``@register_model(name)``."""
    def add(model_cls: type[nn.Module]) -> type[nn.Module]:
        if not (isinstance(model_cls, type) and issubclass(model_cls, nn.Module)):
            raise TypeError(f"register_model({name!r}): expected an nn.Module subclass, got {model_cls!r}")
        key = _canonical(name)
        if MODELS.get(key, model_cls) is not model_cls:
            raise ValueError(f"register_model: {key!r} is already registered for {class_path(MODELS[key])}")
        MODELS[key] = model_cls
        return model_cls

    return add if cls is None else add(cls)


def model_class(name: str) -> type[nn.Module]:
    """The class registered as ``name`` ('-' == '_', a built-in class name works too)."""
    if not isinstance(name, str):
        raise UnknownModelError(f"model name: expected a string, got {type(name).__name__}")
    key = _canonical(name)
    key = {cls.__name__.lower(): k for k, cls in MODELS.items()}.get(key, key)
    if key not in MODELS:
        raise UnknownModelError(f"model name: expected one of {sorted(MODELS)}, got {name!r}")
    return MODELS[key]


def registered_name(cls: type) -> str | None:
    """The registry name of ``cls`` (None when it is not registered by name)."""
    return next((name for name, known in MODELS.items() if known is cls), None)


def class_for_path(path: str) -> type[nn.Module] | None:
    """The registered or trusted class a checkpoint's ``model_class`` string names, else None (no import)."""
    if path in LEGACY_CLASS_PATHS:
        return MODELS[LEGACY_CLASS_PATHS[path]]
    by_path = {class_path(cls): cls for cls in MODELS.values()}
    return by_path.get(path) or _TRUSTED.get(path)


def trustable_module(path: str) -> str | None:
    """The module of a ``"module:Class"`` path naming a plain class (no attribute chain), else None."""
    match = _CLASS_PATH.match(path) if isinstance(path, str) else None
    return match.group(1) if match else None


def trust_model_module(module_name: str) -> list[str]:
    """Import ``module_name`` (the user named it) and trust the nn.Module classes it defines; their paths."""
    if not isinstance(module_name, str) or not _MODULE_NAME.match(module_name):
        raise ValueError(f"trusted model module: expected a dotted module name, got {module_name!r}")
    module = importlib.import_module(module_name)
    found = {class_path(obj): obj for obj in vars(module).values()
             if isinstance(obj, type) and issubclass(obj, nn.Module) and obj.__module__ == module_name}
    _TRUSTED.update(found)
    return sorted(found)


def build_model(name: str, **kwargs) -> nn.Module:
    """Instantiate the model registered as ``name`` (gap_fcn, unet, vgg, alexnet, or a user's; '-' == '_')."""
    return model_class(name)(**kwargs)


def model_spec(model: nn.Module) -> dict:
    """{"name": registry name, "kwargs": constructor kwargs (``init_kwargs``)} for a registered model."""
    name = registered_name(type(model))
    if name is None:
        raise ValueError(f"model: {type(model).__name__} is not a registry model; expected one of "
                         f"{[c.__name__ for c in MODELS.values()]} or a class given to register_model")
    return {"name": name, "kwargs": dict(getattr(model, "init_kwargs", {}))}
