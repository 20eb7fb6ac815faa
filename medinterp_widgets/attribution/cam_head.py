"""CAM's classifier head, checked at run time, never guessed.

CAM needs layer A -> global average pooling -> a linear map W, b (an nn.Linear, or a 1x1 convolution
before or after the pooling). Then the logit of class c is

    y_c = sum_k W[c, k] mean_S(A_k) + b_c = mean_S(CAM_c) + b_c.

``watch_heads(model, layer_name, layer, head)`` hooks, for one forward, the candidate heads: ``head``
(a module or dotted name) if given, else the model's ``cam_head`` attribute, else every Linear / 1x1
convolution outside the layer. Each records the spatial mean of its output (B, K) and when it finished.

``HeadWatch.validated(activation, classes, scores)`` returns ``(name, W)`` for the first candidate to
finish after the layer for which mean_S(CAM) + b equals the logit within TOLERANCE: the candidate's
own output for a given / declared head, the target's score (the logit asked about) for a found one.
Otherwise a `LayerError` names the layer, the heads tried and the numbers compared.
"""

from __future__ import annotations

import itertools
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterator

import torch
from torch import Tensor, nn

from .hooks import CONV_TYPES, LayerError, resolve_layer

__all__ = ["HeadWatch", "TOLERANCE", "head_matrix", "watch_heads"]

TOLERANCE = 1e-3  # relative to 1 + |logit| + sum_k |W[c, k] mean_S(A_k)|


def head_matrix(module: nn.Module) -> Tensor | None:
    """Weight of a Linear or 1x1(x1) convolution as a (K, C) matrix, else None."""
    if isinstance(module, nn.Linear):
        return module.weight
    if isinstance(module, CONV_TYPES) and all(k == 1 for k in module.kernel_size) and module.groups == 1:
        return module.weight.flatten(1)  # (K, C, 1, 1) -> (K, C)
    return None


@dataclass
class HeadWatch:
    """What one forward showed: the layer's finishing order and each candidate's mean output (B, K)."""

    layer_name: str
    declared: bool
    candidates: dict[str, nn.Module]
    finished: dict[str, int] = field(default_factory=dict)
    means: dict[str, Tensor] = field(default_factory=dict)
    clock: Iterator[int] = field(default_factory=itertools.count)

    def validated(self, activation: Tensor, classes: Tensor, scores: Tensor) -> tuple[str, Tensor]:
        """(name, W (K, C)) of the head for which mean_S(CAM) + b is the logit; `LayerError` otherwise."""
        channels = activation.shape[1]
        pooled = activation.detach().flatten(2).mean(2)  # (B, C)
        after = self.finished.get(self.layer_name, -1)
        tried = []
        for name in sorted(self.means, key=lambda n: self.finished.get(n, -1)):
            matrix = head_matrix(self.candidates[name])
            if self.finished[name] < after or matrix is None or matrix.shape[1] != channels:
                continue
            logits = self.means[name] if self.declared else scores.detach()  # (B,)-indexable
            bias = getattr(self.candidates[name], "bias", None)
            mismatch = self._mismatch(matrix, bias if isinstance(bias, Tensor) else None, pooled, classes, logits)
            if mismatch is None:
                return name, matrix
            tried.append(f"{name}: {mismatch}")
        raise LayerError(self._message(channels, tried))

    @staticmethod
    def _mismatch(matrix: Tensor, bias: Tensor | None, pooled: Tensor, classes: Tensor, logits: Tensor
                  ) -> str | None:
        """None when mean_S(CAM) + b matches the logit for every sample, else what differs."""
        if int(classes.max()) >= matrix.shape[0]:
            return f"{matrix.shape[0]} outputs, class {int(classes.max())} asked"
        weights = matrix.detach()[classes]  # (B, C)
        terms = weights * pooled  # (B, C): W[c, k] mean_S(A_k)
        offset = bias.detach()[classes] if bias is not None else torch.zeros_like(terms[:, 0])
        predicted = terms.sum(1) + offset  # (B,)
        target = logits.gather(1, classes[:, None])[:, 0] if logits.dim() == 2 else logits  # (B,)
        gap = (predicted - target).abs()
        allowed = TOLERANCE * (1 + target.abs() + terms.abs().sum(1))
        if bool((gap <= allowed).all()):
            return None
        worst = int(gap.argmax())
        return f"mean_S(CAM) + b = {float(predicted[worst]):.4g} but the logit is {float(target[worst]):.4g}"

    def _message(self, channels: int, tried: list[str]) -> str:
        checked = "; ".join(tried) if tried else f"none has {channels} inputs and runs after the layer"
        return (f"cam: layer {self.layer_name!r} does not feed global average pooling -> a linear head, so CAM is "
                f"not defined there (heads checked: {checked}). Use the layer right before the global pooling, "
                "pass head=<the classifier after it>, or use gradcam")


@contextmanager
def watch_heads(model: nn.Module, layer_name: str, layer: nn.Module, head: nn.Module | None = None
                ) -> Iterator[HeadWatch]:
    """Hook the layer and the candidate heads for one forward (see the module docstring)."""
    declared = getattr(model, "cam_head", None)
    if head is None and isinstance(declared, nn.Module):
        head = declared
    if head is not None:
        name, module = resolve_layer(model, head)
        if head_matrix(module) is None:
            raise LayerError(f"cam: head {name!r} is a {type(module).__name__}; expected a Linear or 1x1 conv")
        candidates = {name: module}
    else:
        inside = layer_name + "."
        candidates = {name: module for name, module in model.named_modules()
                      if head_matrix(module) is not None and name != layer_name and not name.startswith(inside)}
    watch = HeadWatch(layer_name, head is not None, candidates)

    def recorder(name: str, keep_mean: bool):
        def record(module: nn.Module, _inputs: object, output: object) -> None:
            watch.finished[name] = next(watch.clock)
            if not keep_mean or not isinstance(output, Tensor) or output.dim() < 2:
                return
            if output.dim() == 2:
                watch.means[name] = output.detach()  # (B, K)
            elif not isinstance(module, nn.Linear):  # a 1x1 conv before or after the pooling
                watch.means[name] = output.detach().flatten(2).mean(2)  # (B, K)
        return record

    handles = [layer.register_forward_hook(recorder(layer_name, False))]
    handles += [module.register_forward_hook(recorder(name, True)) for name, module in candidates.items()]
    try:
        yield watch
    finally:
        for handle in handles:
            handle.remove()
