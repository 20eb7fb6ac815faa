"""The layers a viewer offers: every module with a spatial output, grouped by block, default marked.

Options come from one dry forward (``attribution.spatial_layers``) and are listed in module order, each
block before what it contains (``layer4``, ``· layer4.0``, ``· · layer4.0.conv1``), with the output
shape; the engine's default layer (``attribution.default_layer``) is marked. A model that cannot be
hooked (TorchScript, ONNX) has no layer choices. ``check_layer`` turns a module object or a name into
a name the options hold, or says in one line why it cannot be used.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from torch import Tensor, nn

from medinterp_widgets.attribution import LayerError, default_layer, model_access, resolve_layer, trace_layers

__all__ = ["LayerChoices", "layer_choices", "viewer_notes"]


@dataclass(frozen=True)
class LayerChoices:
    """Dropdown options ``[(label, name)]``, the default name ('' when there is none) and why there are none."""

    options: list[tuple[str, str]]
    default: str
    shapes: dict[str, tuple[int, ...] | None]
    problem: str = ""

    @property
    def names(self) -> list[str]:
        return [name for _, name in self.options]

    def check_layer(self, model: nn.Module, layer) -> tuple[str, str]:
        """(name, '') for a usable layer (a module or a dotted name), else (current default, the reason)."""
        if layer is None or layer == "" or (isinstance(layer, str) and layer in self.names):
            return layer or self.default, ""
        try:
            name, _ = resolve_layer(model, layer)
        except LayerError as error:
            return self.default, str(error)
        if name in self.names:
            return name, ""
        shape = self.shapes.get(name)
        if name not in self.shapes:
            return self.default, f"layer {name!r} does not run in the model's forward pass"
        return self.default, (f"layer {name!r}: output shape {shape} has no spatial dims (B, C, *S); choose a "
                              "layer before the global pooling")


def _label(name: str, shape: tuple[int, ...] | None, default: str) -> str:
    depth = name.count(".")
    size = "×".join(map(str, shape[1:])) if shape else "?"
    return f"{'· ' * depth}{name}  [{size}]{'  (default)' if name == default else ''}"


def layer_choices(model: nn.Module, x: Tensor) -> LayerChoices:
    """Every module of ``model`` with a spatial output for input ``x`` (1, C, *S), grouped by block."""
    access = model_access(model)
    if not access.hooks:
        return LayerChoices([], "", {}, f"{access.kind} models cannot be hooked, so layers cannot be chosen")
    try:
        traced = trace_layers(model, x)
        default = default_layer(model, x)
    except LayerError as error:
        return LayerChoices([], "", {}, str(error))
    shapes = {layer.name: layer.shape for layer in traced}
    spatial = {layer.name for layer in traced if layer.spatial}
    ordered = [name for name, _ in model.named_modules() if name in spatial]  # a block before its parts
    options = [(_label(name, shapes[name], default), name) for name in ordered]
    if default and default not in spatial:  # a declared cam_layer_name: offer it all the same
        options.insert(0, (_label(default, shapes.get(default), default), default))
    return LayerChoices(options, default, shapes)


def viewer_notes(model: nn.Module, layer_used: str, default: str, unavailable: dict[str, str]) -> str:
    """One HTML line: the layer the map was computed at, and which methods ``model`` cannot run and why."""
    parts = []
    if layer_used:
        how = " (the default, found by probing)" if layer_used == default else ""
        parts.append(f"explained at layer <b>{html.escape(layer_used)}</b>{how}")
    if unavailable:
        access = model_access(model)
        lacks = " and no ".join(what for what, ok in (("forward hooks", access.hooks), ("gradients", access.gradients))
                                if not ok)
        parts.append(f"{html.escape(access.kind)} models have no {lacks}, so {html.escape(', '.join(unavailable))} "
                     "cannot run on it")
    return "<small>" + " · ".join(parts) + "</small>" if parts else ""
