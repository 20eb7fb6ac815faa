"""``eval_mode(model)``: run a block with the model in eval mode, then put every module's flag back."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from torch import nn

__all__ = ["eval_mode"]


@contextmanager
def eval_mode(model: nn.Module) -> Iterator[nn.Module]:
    """``model.eval()`` for the block; each submodule's own ``training`` flag is restored in ``finally``
    (a model with some layers deliberately frozen in eval mode keeps them so)."""
    flags = [(module, module.training) for module in model.modules()]
    model.eval()
    try:
        yield model
    finally:
        for module, training in flags:
            module.training = training
