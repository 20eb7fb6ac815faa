"""What every attribution method declares about itself (``MethodInfo``), and what a model allows.

A method class carries one ``info: MethodInfo`` and is callable as ``method(model, x, target, *,
layer=None, create_graph=False, relu=True) -> RawAttribution`` (the `AttributionMethod` protocol).
The viewer, the bench, the heatmap loss, the faithfulness view and the app read the description
instead of keeping their own lists of names; ``registry`` lists the classes.

A model from a file may not allow everything (``model_access``): a TorchScript module has no
forward hooks and its ReLUs cannot be swapped (its graph runs outside Python); an ONNX model
(``models.onnx_model.OnnxModel``) runs in onnxruntime, so it has neither hooks nor gradients.
``MethodInfo.unavailable_on(access)`` says why a method cannot run on such a model (None: it can).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Literal, Protocol

import torch
from torch import Tensor, nn

from .base.result import RawAttribution
from .targets import Target

__all__ = ["AttributionMethod", "Cost", "MethodInfo", "MethodUnavailableError", "ModelAccess", "model_access"]

Cost = Literal["forward", "backward", "perturbation"]
COSTS = {"forward": "one forward pass", "backward": "one forward and one backward pass",
         "perturbation": "many forward passes (one per perturbed copy)"}


class MethodUnavailableError(ValueError):
    """The method needs something the model does not offer (hooks, gradients), e.g. on a TorchScript file."""


def no_options(spatial: tuple[int, ...], cells: int | None = None) -> dict:
    return {}


@dataclass(frozen=True)
class ModelAccess:
    """What attribution may do with a model: ``hooks`` (forward hooks, swapped ReLU rules) and ``gradients``."""

    kind: str
    hooks: bool = True
    gradients: bool = True


@dataclass(frozen=True)
class MethodInfo:
    """One method's description.

    uses_layer: hooks a layer (``layer=`` applies); differentiable: ``create_graph=True`` keeps the map
    differentiable w.r.t. the parameters; cost: "forward", "backward" or "perturbation" (many forwards,
    shown with a progress bar and run in the background by the viewer); needs_hooks: hooks a layer or
    swaps the ReLU backward rule; needs_gradients: backpropagates through the model; options:
    ``options(spatial, cells=None) -> dict`` of default keyword arguments for an input of that spatial
    shape (``cells``: perturbation windows / mask cells per axis; perturbation methods also take
    ``batch_size`` and ``progress``).
    """

    name: str
    title: str
    uses_layer: bool
    differentiable: bool
    cost: Cost
    needs_hooks: bool
    needs_gradients: bool
    options: Callable[..., dict] = no_options

    @property
    def slow(self) -> bool:
        """Many forward passes: a progress bar and a background thread in the viewer."""
        return self.cost == "perturbation"

    @property
    def hidden_units(self) -> bool:
        """Works on the input with gradients, so it can explain one hidden unit (``hidden.LayerOutput``)."""
        return not self.uses_layer and self.needs_gradients

    @property
    def trainable(self) -> bool:
        """Gives gradient-based maps that stay differentiable: usable inside the heatmap loss."""
        return self.differentiable and self.needs_gradients

    def default_options(self, spatial: tuple[int, ...], cells: int | None = None, progress: bool = False) -> dict:
        """Keyword arguments for an input of ``spatial`` shape (plus ``progress`` for perturbation methods)."""
        options = dict(self.options(tuple(int(s) for s in spatial), cells))
        return options | {"progress": progress} if self.slow else options

    def unavailable_on(self, access: ModelAccess) -> str | None:
        """Why the method cannot run on a model with ``access`` (None when it can)."""
        if self.needs_hooks and not access.hooks:
            return (f"{self.name} needs to hook the model's layers (or swap its ReLUs), "
                    f"which {access.kind} models do not allow")
        if self.needs_gradients and not access.gradients:
            return f"{self.name} needs gradients through the model, which {access.kind} models do not give"
        return None


class AttributionMethod(Protocol):
    """A method class: ``info`` plus a call returning the raw map (B, *S) and its extras."""

    info: ClassVar[MethodInfo]

    def __call__(self, model: nn.Module, x: Tensor, target: Target, *, layer: Any = None, create_graph: bool = False,
                 relu: bool = True) -> RawAttribution: ...


def model_access(model: nn.Module) -> ModelAccess:
    """Hooks and gradients for a plain nn.Module; none of the hooks for TorchScript; what a wrapper declares
    (``supports_hooks``, ``supports_gradients``, ``model_kind`` attributes, as ``OnnxModel`` has)."""
    if isinstance(model, torch.jit.ScriptModule):
        return ModelAccess("TorchScript", hooks=False, gradients=True)
    return ModelAccess(str(getattr(model, "model_kind", "PyTorch")), hooks=bool(getattr(model, "supports_hooks", True)),
                       gradients=bool(getattr(model, "supports_gradients", True)))
