"""Hidden-unit attribution: ChannelTarget + LayerOutput, golden values on relu_net.

relu_net: x = [1, -2, 3, -5]; layer "0" (1x1 conv) gives A0 = x, A1 = -x; layer "1" is the ReLU.
- d sum(A0) / dx = 1 everywhere (no ReLU between x and the conv).
- guided backprop of sum(ReLU(A0)): (x > 0) * 1 = [1, 0, 1, 0].
- guided backprop of sum(ReLU(A1)): (-x > 0) * 1, times the conv weight -1 = [0, -1, 0, -1].
- the neuron (channel 0 at p2) alone: [0, 0, 1, 0].
"""

from __future__ import annotations

import pytest
import torch

from medinterp_widgets.attribution import ChannelTarget, LayerOutput, TargetError, attribute, hidden_unit_attribution

from .conftest import as_spatial, golden_input, relu_net

DIMS = [2, 3]
NEURON = {2: (1, 0), 3: (0, 1, 0)}  # p2 in each layout


@pytest.mark.parametrize("dims", DIMS)
def test_conv_channel_gradient_is_the_weight(dims):
    found = hidden_unit_attribution(relu_net(dims), golden_input(dims), layer="0", channel=0)
    assert torch.allclose(found, as_spatial(dims, [1, 1, 1, 1]))


@pytest.mark.parametrize("dims", DIMS)
@pytest.mark.parametrize("channel, expected", [(0, [1, 0, 1, 0]), (1, [0, -1, 0, -1])])
def test_relu_channel_guided_backprop(dims, channel, expected):
    found = hidden_unit_attribution(relu_net(dims), golden_input(dims), layer="1", channel=channel)
    assert torch.allclose(found, as_spatial(dims, expected))


@pytest.mark.parametrize("dims", DIMS)
def test_single_neuron(dims):
    found = hidden_unit_attribution(relu_net(dims), golden_input(dims), layer="1", channel=0, index=NEURON[dims])
    assert torch.allclose(found, as_spatial(dims, [0, 0, 1, 0]))


def test_layer_output_leaves_model_alone_and_returns_activation():
    model = relu_net(2).train()
    wrapped = LayerOutput(model, "0")
    wrapped.eval()
    assert model.training and not wrapped.training
    out = wrapped(golden_input(2))
    assert out.shape == (1, 2, 2, 2) and torch.equal(out[0, 1].flatten(), -golden_input(2).flatten())
    assert all(not m._forward_hooks for m in model.modules())


def test_bad_channel_and_method_raise_named_errors():
    with pytest.raises(TargetError, match="out of range"):
        attribute(LayerOutput(relu_net(2), "0"), golden_input(2), method="saliency", target=ChannelTarget(5))
    with pytest.raises(ValueError, match="hidden unit"):
        hidden_unit_attribution(relu_net(2), golden_input(2), layer="0", channel=0, method="gradcam")
