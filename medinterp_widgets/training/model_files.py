"""``open_model_file(path)``: a model from a file of any kind the workbench accepts.

- ``.onnx``: ``models.onnx_model.OnnxModel`` (onnxruntime; perturbation methods only);
- a TorchScript archive (a zip holding ``code/``; usually ``.pt`` / ``.ts`` from ``torch.jit.save``):
  ``torch.jit.load``. Loading runs the file's TorchScript graph, not Python; scripted modules cannot be
  hooked, so only the methods that need no hooks run (``attribution.available_methods``);
- anything else: a project checkpoint through ``training.checkpoints.model_from_checkpoint`` (the model
  class from the registry or a module the user trusted; never imported from the file).

The size limits of ``data.limits`` apply to every kind before anything is loaded; every refusal names
the file. ``model_kind(model)`` says which kind a loaded model is.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import torch
from torch import nn

from medinterp_widgets.data.errors import CheckpointError
from medinterp_widgets.data.limits import check_torch_file
from medinterp_widgets.training.checkpoints import model_from_checkpoint

__all__ = ["MODEL_SUFFIXES", "input_channels", "input_dims", "is_torchscript", "model_kind", "open_model_file"]

MODEL_SUFFIXES = (".pt", ".pth", ".ts", ".torchscript", ".onnx")


def is_torchscript(path: str | os.PathLike) -> bool:
    """A zip archive with a ``code/`` folder (what ``torch.jit.save`` writes; ``torch.save`` writes none)."""
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as archive:
        return any(name.split("/")[1:2] == ["code"] for name in archive.namelist())


def model_kind(model: nn.Module) -> str:
    """"ONNX", "TorchScript" or "PyTorch"."""
    if isinstance(model, torch.jit.ScriptModule):
        return "TorchScript"
    return str(getattr(model, "model_kind", "PyTorch"))


def input_channels(model: nn.Module) -> int:
    """The model's ``in_channels`` if it declares one, else the input channels of its first conv weight, else 1."""
    declared = getattr(model, "in_channels", None)
    if isinstance(declared, int) and declared > 0:
        return declared
    for parameter in model.parameters():
        if parameter.dim() in (4, 5):  # (Cout, Cin, *k)
            return int(parameter.shape[1])
    return 1


def input_dims(model: nn.Module) -> int:
    """Spatial dims the model takes (2 or 3): a declared ``spatial_dims``, an ONNX input's rank, else the rank of
    its first conv weight (5-D: a 3-D conv), else 2."""
    declared = getattr(model, "spatial_dims", None)
    if isinstance(declared, int) and declared in (2, 3):
        return declared
    shape = getattr(model, "input_shape", None)
    if isinstance(shape, tuple) and len(shape) in (4, 5):
        return len(shape) - 2
    for parameter in model.parameters():
        if parameter.dim() in (4, 5):
            return parameter.dim() - 2
    return 2


def open_model_file(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> nn.Module:
    """The model in ``path`` (see the module docstring), in eval mode."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"model file not found: {path}")
    if path.suffix.lower() == ".onnx":
        from medinterp_widgets.models.onnx_model import OnnxModel  # onnxruntime is optional: imported on use

        check_torch_file(path)  # the same size limit as a checkpoint
        return OnnxModel(path, cuda=torch.device(map_location).type == "cuda").eval()
    check_torch_file(path)
    if is_torchscript(path):
        try:
            return torch.jit.load(str(path), map_location=map_location).eval()
        except Exception as error:  # torch.jit raises RuntimeError and friends for a broken archive
            raise CheckpointError(path, f"not a loadable TorchScript archive ({type(error).__name__}: {error})") \
                from error
    return model_from_checkpoint(path, map_location=map_location).eval()
