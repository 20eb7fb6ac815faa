"""Checkpoints: atomic writes, the model's registry name + constructor kwargs, and rebuilding the model.

A checkpoint is a dict::

    {"format": 1, "model_class": "pkg.module:Class", "model_name": registry name or absent,
     "model_kwargs": {...}, "model_state": {...},
     "optimizer_state", "scheduler_state", "scaler_state", "rng", "epoch" (epochs completed),
     "step", "best_value", "config": {...}}

Writes go to a temporary file in the same folder, are fsynced, then ``os.replace``d over the
target, so a crash at any point leaves either the old or the new checkpoint, never a torn one.

Loading (``model_from_checkpoint``, the one function every caller uses) trusts nothing in the file:
``torch.load(weights_only=True)`` after the size checks of ``data.limits`` (file size, uncompressed
zip size, tensor count); the class comes only from ``models.registry`` (a registered name, an old
checkpoint's class path of the project's own models, or a class of a module the user trusted with
``trust_model_module``); nothing named in the file is imported or called. ``model_kwargs`` must be
plain data the constructor accepts; the model is first built on the "meta" device (no memory) and
its state dict keys and shapes compared with the file's, then built for real and loaded. Every
refusal is a `CheckpointError` (`UntrustedModelError` for the class) naming the file and the field.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

import torch
from torch import nn

from medinterp_widgets.data.errors import CheckpointError, UntrustedModelError
from medinterp_widgets.data.limits import check_torch_file
from medinterp_widgets.models import registry

FORMAT_VERSION = 1
_REQUIRED_KEYS = ("model_class", "model_kwargs", "model_state")
_MAX_KWARG_DEPTH, _MAX_KWARG_ITEMS, _MAX_KWARG_TEXT = 6, 10_000, 10_000


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
    """``{"model_class": "module:Class", "model_kwargs": {...}}`` (+ ``"model_name"`` for registered models).

    kwargs: the argument, else the model's ``init_kwargs`` / ``hparams`` attribute, else a dataclass
    ``config`` attribute, else ``{}``.
    """
    model = unwrap_model(model)
    description: dict[str, Any] = {"model_class": registry.class_path(type(model))}
    name = registry.registered_name(type(model))
    if name is not None:
        description["model_name"] = name
    description["model_kwargs"] = dict(_recorded_kwargs(model) if kwargs is None else kwargs)
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


def stored_threshold(payload: dict[str, Any], source: str | os.PathLike, field: str = "decision_threshold",
                     fallback: float = 0.5) -> float:
    """A classifier's decision threshold, ``config.extra[field]`` of a checkpoint payload (``fallback`` when it
    stores none); anything but a number strictly between 0 and 1 is refused, naming the file and the field."""
    extra = (payload.get("config") or {}).get("extra") or {}
    value = extra.get(field, fallback)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 < float(value) < 1.0:
        raise ValueError(f"{source}: config.extra.{field} must be a number in (0, 1), got {value!r}")
    return float(value)


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load and check a checkpoint file (size bounds first, then ``weights_only=True``; see module doc)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    check_torch_file(path)
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as error:  # torch raises several types for corrupt/foreign files
        raise CheckpointError(path, f"not a readable torch checkpoint ({error})") from error
    missing = [key for key in _REQUIRED_KEYS if not isinstance(payload, dict) or key not in payload]
    if missing:
        raise CheckpointError(path, f"missing field(s) {', '.join(missing)}; expected a medinterp checkpoint")
    return payload


def model_from_checkpoint(checkpoint: dict[str, Any] | str | os.PathLike, map_location: str | torch.device = "cpu",
                          *, source: str | os.PathLike | None = None) -> nn.Module:
    """Rebuild the model a checkpoint (file or loaded dict) describes and load its weights (eval mode).

    The one model-loading function (see the module docstring); ``source`` names a dict's file in errors.
    """
    if isinstance(checkpoint, dict):
        payload, source = checkpoint, source or "<checkpoint>"
    else:
        payload, source = load_checkpoint(checkpoint, map_location), checkpoint
    version = payload.get("format", FORMAT_VERSION)
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise CheckpointError(source, f"format {version!r}: expected a version up to {FORMAT_VERSION}")
    cls = model_class_of(payload, source)
    kwargs = _checked_kwargs(payload.get("model_kwargs"), cls, source)
    state = payload.get("model_state")
    _check_state(cls, kwargs, state, source)
    model = cls(**kwargs)
    model.load_state_dict(state)  # type: ignore[arg-type]  # _check_state refused a missing one
    return model.eval()


def model_class_of(payload: dict[str, Any], source: str | os.PathLike = "<checkpoint>") -> type[nn.Module]:
    """The registered (or trusted) class a checkpoint names; `UntrustedModelError` otherwise. No import."""
    name, path = payload.get("model_name"), payload.get("model_class")
    if name is not None:
        try:
            return registry.model_class(name)
        except registry.UnknownModelError:
            raise UntrustedModelError(source, f"model_name {name!r} is not a registered model (registered: "
                                              f"{sorted(registry.MODELS)}); register its class with "
                                              "medinterp_widgets.models.register_model") from None
    if not isinstance(path, str):
        raise UntrustedModelError(source, f"model_class: expected 'module:Class', got {type(path).__name__}")
    cls = registry.class_for_path(path)
    if cls is not None:
        return cls
    module = registry.trustable_module(path)
    if module is None:
        raise UntrustedModelError(source, f"model_class {path!r} is not a registered model class and not a "
                                          "'module:Class' name that could be trusted; refused")
    raise UntrustedModelError(source, f"model_class {path!r} is not a registered model; loading it runs code "
                                      f"from module {module!r}. Register the class (models.register_model) or "
                                      f"trust the module explicitly (medinterp evaluate --trust-model-module "
                                      f"{module}; the workbench asks)", module=module)


def _plain(value: Any, depth: int = 0) -> bool:
    """JSON-like data of bounded depth/size: None, bool, int, finite float, str, lists/dicts of those."""
    if depth > _MAX_KWARG_DEPTH:
        return False
    if value is None or isinstance(value, (bool, int)):
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, str):
        return len(value) <= _MAX_KWARG_TEXT
    if isinstance(value, (list, tuple)):
        return len(value) <= _MAX_KWARG_ITEMS and all(_plain(v, depth + 1) for v in value)
    if isinstance(value, dict):
        return len(value) <= _MAX_KWARG_ITEMS and all(
            isinstance(k, str) and _plain(v, depth + 1) for k, v in value.items())
    return False


def _checked_kwargs(kwargs: Any, cls: type[nn.Module], source) -> dict[str, Any]:
    if not isinstance(kwargs, dict) or not _plain(kwargs):
        raise CheckpointError(source, "model_kwargs: expected a dict of plain values (numbers, text, lists)")
    try:
        inspect.signature(cls).bind(**kwargs)
    except TypeError as error:
        raise CheckpointError(source, f"model_kwargs: {cls.__name__} does not accept them ({error})") from None
    return dict(kwargs)


def _check_state(cls: type[nn.Module], kwargs: dict[str, Any], state: Any, source) -> None:
    """``state`` holds exactly the model's tensors with their shapes (model built on "meta": no memory)."""
    if not isinstance(state, dict) or not all(isinstance(k, str) and isinstance(v, torch.Tensor)
                                              for k, v in state.items()):
        raise CheckpointError(source, "model_state: expected a dict of tensors")
    try:
        with torch.device("meta"):
            expected = cls(**kwargs).state_dict()
    except Exception as error:  # noqa: BLE001 - the constructor's own refusal of the kwargs
        raise CheckpointError(source, f"model_kwargs {kwargs}: {cls.__name__} refused them "
                                      f"({type(error).__name__}: {error})") from error
    missing, unexpected = sorted(set(expected) - set(state)), sorted(set(state) - set(expected))
    if missing or unexpected:
        raise CheckpointError(source, f"model_state: keys differ from {cls.__name__}'s: missing {missing[:5]}, "
                                      f"unexpected {unexpected[:5]}")
    for key, tensor in state.items():
        if tuple(tensor.shape) != tuple(expected[key].shape):
            raise CheckpointError(source, f"model_state[{key!r}]: shape {tuple(tensor.shape)}, expected "
                                          f"{tuple(expected[key].shape)}")
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise CheckpointError(source, f"model_state[{key!r}]: non-finite values (NaN/inf weights)")


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
