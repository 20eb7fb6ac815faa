"""RISE (golden value on a linear model, batching, 3-D) and the method descriptions the registry derives
its name lists from (issue #15)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from medinterp_widgets.attribution import METHODS, attribute, registry
from medinterp_widgets.attribution.methods import MethodInfo, ModelAccess
from medinterp_widgets.attribution.rise import _draws, rise_masks


class Linear(nn.Module):
    """Y = sum_u w(u) x(u): RISE's estimate is E[Y(M x) M(u)] / p, computable from the same masks."""

    def __init__(self, weights: torch.Tensor):
        super().__init__()
        self.weights = nn.Parameter(weights)

    def forward(self, x):
        return (x[:, 0] * self.weights).flatten(1).sum(1, keepdim=True).expand(-1, 2).contiguous()


@pytest.mark.parametrize("spatial", [(8, 8), (4, 6, 5)])
def test_rise_equals_its_formula_and_ignores_the_batch_size(spatial):
    torch.manual_seed(0)
    model, x = Linear(torch.randn(spatial)), torch.rand((2, 1) + spatial)
    grids, shifts = _draws(16, spatial, 3, 0.5, seed=4)
    masks = rise_masks(grids, shifts, spatial)  # (n, *S)
    assert masks.shape == (16,) + spatial and masks.min() >= 0 and masks.max() <= 1
    scores = ((masks[:, None] * x[None, :, 0]) * model.weights).flatten(2).sum(2)  # (n, B), baseline 0
    expected = torch.einsum("nb,n...->b...", scores, masks) / (16 * 0.5)
    for batch_size in (1, 5, None):
        ours = attribute(model, x, method="rise", target=0, n_masks=16, cells=3, seed=4, batch_size=batch_size)
        torch.testing.assert_close(ours, expected, rtol=1e-5, atol=1e-5)


def test_rise_rejects_bad_options():
    model, x = Linear(torch.randn(4, 4)), torch.rand(1, 1, 4, 4)
    for bad in ({"n_masks": 0}, {"cells": 0}, {"p": 0.0}, {"p": 1.5}):
        with pytest.raises(ValueError, match="rise"):
            attribute(model, x, method="rise", target=0, **bad)


def test_name_lists_are_derived_from_the_descriptions():
    infos = {name: cls.info for name, cls in METHODS.items()}
    assert all(isinstance(info, MethodInfo) and info.name == name for name, info in infos.items())
    assert set(registry.LAYER_METHODS) == {n for n, i in infos.items() if i.uses_layer}
    assert set(registry.PERTURBATION_METHODS) == {"occlusion", "scorecam", "rise"}
    assert set(registry.HEATMAP_METHODS) == {"gradcam", "hirescam", "gradcam++", "saliency"}  # as before #15
    assert "saliency" in registry.HIDDEN_UNIT_METHODS and "gradcam" not in registry.HIDDEN_UNIT_METHODS
    assert registry.method_options("rise", (16, 16, 16)) == {"n_masks": 128, "cells": 6, "progress": False}
    assert registry.method_options("occlusion", (64, 64), progress=True)["progress"] is True


def test_what_a_model_without_hooks_or_gradients_can_run():
    no_hooks, no_gradients = ModelAccess("TorchScript", hooks=False), ModelAccess("ONNX", hooks=False, gradients=False)
    runnable = {name for name, cls in METHODS.items() if cls.info.unavailable_on(no_hooks) is None}
    assert runnable == {"saliency", "occlusion", "rise"}
    runnable = {name for name, cls in METHODS.items() if cls.info.unavailable_on(no_gradients) is None}
    assert runnable == {"occlusion", "rise"}
    assert "gradients" in METHODS["saliency"].info.unavailable_on(no_gradients)
