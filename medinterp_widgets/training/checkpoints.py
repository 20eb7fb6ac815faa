"""Checkpoints: atomic writes, the model's class + constructor kwargs, and rebuilding the model.

Models of the registry (``medinterp_widgets.models``: gap_fcn, unet, vgg, alexnet) are described by
``models.model_spec`` and rebuilt by ``models.build_model``; any other class by its import path
(only inside medinterp_widgets unless ``MEDINTERP_TRUST_MODELS=1``).

A checkpoint is a dict::

    {"format": 1, "model_class": "pkg.module:Class", "model_name": registry name or absent,
     "model_kwargs": {...}, "model_state": {...},
     "optimizer_state", "scheduler_state", "scaler_state", "rng", "epoch" (epochs completed),
     "step", "best_value", "config": {...}}

Writes go to a temporary file in the same folder, are fsynced, then ``os.replace``d over the
target, so a crash at any point leaves either the old or the new checkpoint, never a torn one.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import torch
from torch import nn

from medinterp_widgets.data.errors import DataFormatError
from medinterp_widgets.models import build_model as registry_build
from medinterp_widgets.models import model_spec as registry_spec

FORMAT_VERSION = 1
_REQUIRED_KEYS = ("model_class", "model_kwargs", "model_state")


def atomic_save(obj: Any, path: str | os.PathLike) -> Path:
    """``torch.save`` to a temp file beside ``path``, fsync it, then ``os.replace`` it into place."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            torch.save(obj, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, target)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    _fsync_dir(target.parent)
    return target


def unwrap_model(model: nn.Module) -> nn.Module:
    """The bare model inside DistributedDataParallel / DataParallel / torch.compile wrappers."""
    while True:
        inner = getattr(model, "module", None) or getattr(model, "_orig_mod", None)
        if not isinstance(inner, nn.Module):
            return model
        model = inner


def describe_model(model: nn.Module, kwargs: dict[str, Any] | None = None) -> dict[str, Any]:
    """``{"model_class": "module:Class", "model_kwargs": {...}}`` (+ ``"model_name"`` for registry models).

    kwargs: the argument, else the registry's ``model_spec``, else the model's ``init_kwargs`` /
    ``hparams`` attribute, else a dataclass ``config`` attribute, else ``{}``.
    """
    model = unwrap_model(model)
    cls = type(model)
    description: dict[str, Any] = {"model_class": f"{cls.__module__}:{cls.__qualname__}"}
    try:
        spec = registry_spec(model)
        description["model_name"] = spec["name"]
    except ValueError:  # not a registry model
        spec = {"kwargs": _recorded_kwargs(model)}
    description["model_kwargs"] = dict(spec["kwargs"] if kwargs is None else kwargs)
    return description


def checkpoint_payload(model: nn.Module, *, model_kwargs: dict[str, Any] | None = None, **state: Any) -> dict:
    """Assemble the checkpoint dict (see module docstring); ``state`` holds the optional keys."""
    payload = {"format": FORMAT_VERSION, **describe_model(model, model_kwargs),
               "model_state": unwrap_model(model).state_dict()}
    payload.update(state)
    return payload


def plain_data(value: Any) -> Any:
    """``value`` as JSON-like data (dicts, lists, str, numbers; anything else via ``str``), so a
    checkpoint holding it still loads with ``weights_only=True`` (e.g. a Path in ``config.extra``)."""
    return json.loads(json.dumps(value, default=lambda item: item.item() if hasattr(item, "item") else str(item)))


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load and check a checkpoint (``weights_only=True``: no arbitrary code runs on load)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as error:  # torch raises several types for corrupt/foreign files
        raise DataFormatError(path, f"not a readable torch checkpoint ({error})") from error
    missing = [key for key in _REQUIRED_KEYS if not isinstance(payload, dict) or key not in payload]
    if missing:
        raise DataFormatError(path, f"missing field(s) {', '.join(missing)}; expected a medinterp checkpoint")
    return payload


def model_from_checkpoint(checkpoint: dict[str, Any] | str | os.PathLike,
                          map_location: str | torch.device = "cpu") -> nn.Module:
    """Rebuild the model a checkpoint describes and load its weights (eval mode)."""
    payload = checkpoint if isinstance(checkpoint, dict) else load_checkpoint(checkpoint, map_location)
    if payload.get("model_name"):
        model = registry_build(payload["model_name"], **payload["model_kwargs"])
    else:
        model = _import_class(payload["model_class"])(**payload["model_kwargs"])
    model.load_state_dict(payload["model_state"])
    return model.eval()


def _import_class(class_path: str) -> type:
    module_name, _, qualname = class_path.partition(":")
    if not module_name.startswith("medinterp_widgets.") and os.environ.get("MEDINTERP_TRUST_MODELS") != "1":
        raise ValueError(f"checkpoint model_class {class_path!r} is outside medinterp_widgets; "
                         "set MEDINTERP_TRUST_MODELS=1 to allow it")
    obj: Any = importlib.import_module(module_name)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


def _recorded_kwargs(model: nn.Module) -> dict[str, Any]:
    for attribute in ("init_kwargs", "hparams"):
        value = getattr(model, attribute, None)
        if isinstance(value, dict):
            return value
    config = getattr(model, "config", None)
    if dataclasses.is_dataclass(config) and not isinstance(config, type):
        return dataclasses.asdict(config)
    return {}


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # e.g. Windows cannot open folders
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
