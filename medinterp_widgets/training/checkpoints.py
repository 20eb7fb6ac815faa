"""Checkpoints: atomic writes, the model's class + constructor kwargs, and rebuilding the model.

A checkpoint is a dict::

    {"format": 1, "model_class": "pkg.module:Class", "model_kwargs": {...}, "model_state": {...},
     "optimizer_state", "scheduler_state", "scaler_state", "rng", "epoch" (epochs completed),
     "step", "best_value", "config": {...}}

Writes go to a temporary file in the same folder, are fsynced, then ``os.replace``d over the
target, so a crash at any point leaves either the old or the new checkpoint, never a torn one.
"""

from __future__ import annotations

import dataclasses
import importlib
import os
import tempfile
from pathlib import Path
from typing import Any

import torch
from torch import nn

from medinterp_widgets.data.errors import DataFormatError

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


def model_spec(model: nn.Module, kwargs: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
    """``("module:Class", constructor kwargs)``; kwargs from the argument, else the model's
    ``init_kwargs`` / ``hparams`` attribute, else a dataclass ``config`` attribute, else ``{}``."""
    model = unwrap_model(model)
    cls = type(model)
    if kwargs is None:
        kwargs = _recorded_kwargs(model)
    return f"{cls.__module__}:{cls.__qualname__}", dict(kwargs)


def checkpoint_payload(model: nn.Module, *, model_kwargs: dict[str, Any] | None = None, **state: Any) -> dict:
    """Assemble the checkpoint dict (see module docstring); ``state`` holds the optional keys."""
    class_path, kwargs = model_spec(model, model_kwargs)
    payload = {"format": FORMAT_VERSION, "model_class": class_path, "model_kwargs": kwargs,
               "model_state": unwrap_model(model).state_dict()}
    payload.update(state)
    return payload


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


def build_model(checkpoint: dict[str, Any] | str | os.PathLike, map_location: str | torch.device = "cpu") -> nn.Module:
    """Rebuild the model a checkpoint describes and load its weights (eval mode)."""
    payload = checkpoint if isinstance(checkpoint, dict) else load_checkpoint(checkpoint, map_location)
    cls = _import_class(payload["model_class"])
    model = cls(**payload["model_kwargs"])
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
