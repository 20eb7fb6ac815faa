"""Table-driven: every method leaves the model exactly as found, after a normal call and a raise."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from medinterp_widgets.attribution import LAYER_METHODS, METHODS, TargetError, attribute

from .conftest import random_classifier

HOOK_DICTS = (
    "_forward_hooks",
    "_forward_pre_hooks",
    "_backward_hooks",
    "_backward_pre_hooks",
    "_forward_hooks_with_kwargs",
    "_forward_hooks_always_called",
    "_state_dict_hooks",
    "_load_state_dict_pre_hooks",
)
KWARGS = {"occlusion": {"window": 8, "stride": 8}, "scorecam": {"batch_size": 2}}


def prepared_model() -> nn.Module:
    """Train mode (BatchNorm updates would show), one frozen parameter, some grads set, a user hook."""
    model = random_classifier(dims=2, channels=2, classes=3, seed=5, inplace=True).train()
    model[0].bias.requires_grad_(False)
    model[3].weight.grad = torch.full_like(model[3].weight, 0.5)
    model[7].register_forward_hook(lambda module, inputs, output: None)
    return model


def snapshot(model: nn.Module) -> dict:
    return {
        "training": [m.training for m in model.modules()],
        "grads": [None if p.grad is None else p.grad.clone() for p in model.parameters()],
        "requires_grad": [p.requires_grad for p in model.parameters()],
        "hooks": [[len(getattr(m, name)) for name in HOOK_DICTS] for m in model.modules()],
        "inplace": [getattr(m, "inplace", None) for m in model.modules()],
        "buffers": [(id(b), b.clone(), b._version) for b in model.buffers()],
        "params": [(id(p), p.detach().clone()) for p in model.parameters()],
        "function_mode": torch._C._is_torch_function_mode_enabled(),
        "grad_mode": torch.is_grad_enabled(),
    }


def assert_same(before: dict, after: dict) -> None:
    for key in ("training", "requires_grad", "hooks", "inplace", "function_mode", "grad_mode"):
        assert before[key] == after[key], key
    for old, new in zip(before["grads"], after["grads"]):
        assert (old is None and new is None) or torch.equal(old, new)
    for (old_id, old, old_version), (new_id, new, new_version) in zip(before["buffers"], after["buffers"]):
        assert old_id == new_id and torch.equal(old, new) and old_version == new_version
    for (old_id, old), (new_id, new) in zip(before["params"], after["params"]):
        assert old_id == new_id and torch.equal(old, new)


@pytest.mark.parametrize("method", sorted(METHODS))
def test_state_unchanged_after_call_and_after_error(method):
    model = prepared_model()
    x = torch.randn(2, 2, 16, 16)
    x_before = x.clone()
    before = snapshot(model)
    layer = "3" if method in LAYER_METHODS else None
    maps = attribute(model, x, method=method, target=1, layer=layer, **KWARGS.get(method, {}))
    assert maps.shape == (2, 16, 16) and torch.isfinite(maps).all()
    assert_same(before, snapshot(model))
    with pytest.raises(TargetError, match="class index"):
        attribute(model, x, method=method, target=99, layer=layer, **KWARGS.get(method, {}))
    assert_same(before, snapshot(model))
    assert torch.equal(x, x_before) and not x.requires_grad


def test_works_under_no_grad_and_leaves_it_on():
    model = random_classifier()
    with torch.no_grad():
        maps = attribute(model, torch.randn(1, 2, 16, 16), method="gradcam", target=0)
        assert not torch.is_grad_enabled()
    assert maps.abs().sum() > 0


class _FailsAfterLayer(nn.Module):
    """Raises in the forward after the hooked layer, i.e. after the hook switched recording on."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3, padding=1)

    def forward(self, x):
        self.conv(x)
        raise RuntimeError("broken head")


@pytest.mark.parametrize("grad_on", [True, False])
@pytest.mark.parametrize("method", ["gradcam", "hirescam", "gradcam++"])
def test_grad_mode_restored_when_the_forward_raises_after_the_layer(method, grad_on):
    with torch.set_grad_enabled(grad_on):
        with pytest.raises(RuntimeError, match="broken head"):
            attribute(_FailsAfterLayer(), torch.randn(1, 1, 8, 8), method=method, target=0, layer="conv")
        assert torch.is_grad_enabled() == grad_on
