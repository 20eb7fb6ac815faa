"""Golden values on hand-built models, every method, 2-D and 3-D.

relu_net (conftest): x = [1, -2, 3, -5] at p0..p3; A0 = x, A1 = -x (hooked: the conv, layer "0");
ReLU keeps A0 at {p0, p2} and A1 at {p1, p3}. Class 0 logit Y = g0.ReLU(A0) + g1.ReLU(A1) with
g0 = [1, 0, 0, 2], g1 = [0, -1, 1, 3], so Y = 1 + (-2 + 15) = 14, and
dY/dA0 = [1, 0, 0, 0], dY/dA1 = [0, -1, 0, 3] (the ReLU mask applied).
"""

from __future__ import annotations

import math

import pytest
import torch

from medinterp_widgets.attribution import LAYER_METHODS, attribute, attribute_detailed, normalize_maps

from .conftest import as_spatial, gap_net, golden_input, relu_net

DIMS = [2, 3]


def run(dims, method, **kwargs):
    kwargs.setdefault("target", 0)
    layer = "0" if method in LAYER_METHODS else None  # input-level methods take no layer
    return attribute(relu_net(dims), golden_input(dims), method=method, layer=layer, **kwargs)


@pytest.mark.parametrize("dims", DIMS)
def test_gradcam_golden(dims):
    # w = mean dY/dA = [1/4, 2/4]; map = ReLU(A0/4 + A1/2) = ReLU(-x/4)
    torch.testing.assert_close(run(dims, "gradcam"), as_spatial(dims, [0, 0.5, 0, 1.25]))
    torch.testing.assert_close(run(dims, "gradcam", relu=False), as_spatial(dims, [-0.25, 0.5, -0.75, 1.25]))
    detailed = attribute_detailed(relu_net(dims), golden_input(dims), method="gradcam", target=0, layer="0")
    torch.testing.assert_close(detailed.weights, torch.tensor([[0.25, 0.5]]))
    torch.testing.assert_close(detailed.scores, torch.tensor([14.0]))
    assert detailed.layer_name == "0"


@pytest.mark.parametrize("dims", DIMS)
def test_hirescam_golden(dims):
    # dY/dA0 * A0 + dY/dA1 * A1 = [1, 0, 0, 0] + [0, -2, 0, 15]
    torch.testing.assert_close(run(dims, "hirescam"), as_spatial(dims, [1, 0, 0, 15]))
    torch.testing.assert_close(run(dims, "hirescam", relu=False), as_spatial(dims, [1, -2, 0, 15]))


@pytest.mark.parametrize("dims", DIMS)
def test_gradcam_plus_plus_golden(dims):
    # alpha = g^2 / (2 g^2 + sum(A) g^3); sum(A0) = -3, sum(A1) = 3.
    # A0: p0 g=1 -> 1 / (2 - 3) = -1, w0 = -1 * ReLU(1) = -1.
    # A1: p1 g=-1 -> ReLU(g) = 0; p3 g=3 -> 9 / (18 + 81) = 1/11, w1 = 3/11.
    # map = ReLU(-A0 + 3/11 A1) = ReLU(-14/11 x). (Without the sum(A) term it would be ReLU(-x).)
    expected = as_spatial(dims, [0, 28 / 11, 0, 70 / 11])
    torch.testing.assert_close(run(dims, "gradcam++"), expected)


@pytest.mark.parametrize("dims", DIMS)
def test_scorecam_golden(dims):
    # M0 = minmax(A0) = [.75, .375, 1, 0] -> Y(x*M0) = 0.75 - 0.75 = 0
    # M1 = minmax(A1) = [.25, .625, 0, 1] -> Y(x*M1) = 0.25 + (-1.25 + 15) = 14
    # w = softmax([0, 14]); map = ReLU((w0 - w1) x) = tanh(7) * ReLU(-x)
    expected = math.tanh(7) * as_spatial(dims, [0, 2, 0, 5])
    torch.testing.assert_close(run(dims, "scorecam", batch_size=1), expected)


@pytest.mark.parametrize("dims", DIMS)
def test_saliency_golden(dims):
    # dY/dx = 1 * dY/dA0 - 1 * dY/dA1 = [1, 1, 0, -3]
    torch.testing.assert_close(run(dims, "saliency"), as_spatial(dims, [1, 1, 0, 3]))
    torch.testing.assert_close(run(dims, "saliency", absolute=False), as_spatial(dims, [1, 1, 0, -3]))


@pytest.mark.parametrize("dims", DIMS)
def test_guided_backprop_golden(dims):
    # ReLU passes (A > 0) * max(R, 0): A1 at p1 has R = -1 -> blocked; dY/dx = [1,0,0,0] - [0,0,0,3]
    torch.testing.assert_close(run(dims, "guided_backprop"), as_spatial(dims, [1, 0, 0, -3]))


@pytest.mark.parametrize("dims", DIMS)
def test_deconvnet_golden(dims):
    # ReLU passes max(R, 0) regardless of A: max(g0, 0) - max(g1, 0) = [1,0,0,2] - [0,0,1,3]
    torch.testing.assert_close(run(dims, "deconvnet"), as_spatial(dims, [1, 0, -1, -1]))


@pytest.mark.parametrize("dims", DIMS)
def test_guided_gradcam_golden(dims):
    # guided [1, 0, 0, -3] * Grad-CAM [0, .5, 0, 1.25]
    torch.testing.assert_close(run(dims, "guided_gradcam"), as_spatial(dims, [0, 0, 0, -3.75]))


@pytest.mark.parametrize("dims", DIMS)
def test_occlusion_golden(dims):
    # pixels contribute independently: drops [1, -2, 0, 15]; a window over one row sums its drops
    torch.testing.assert_close(run(dims, "occlusion", window=1), as_spatial(dims, [1, -2, 0, 15]))
    row = (1, 2) if dims == 2 else (1, 1, 2)
    torch.testing.assert_close(run(dims, "occlusion", window=row), as_spatial(dims, [-1, -1, 15, 15]))
    # one window over everything: drop = Y = 14 everywhere
    full = (2, 2) if dims == 2 else (1, 2, 2)
    torch.testing.assert_close(run(dims, "occlusion", window=full), as_spatial(dims, [14, 14, 14, 14]))
    # baseline 1: pixel i then contributes g0[i] * 1 (A0 = 1 active, A1 = -1 blocked) = [1, 0, 0, 2]
    torch.testing.assert_close(
        run(dims, "occlusion", window=1, baseline=1.0), as_spatial(dims, [0, -2, 0, 13])
    )


@pytest.mark.parametrize("dims", DIMS)
def test_cam_golden(dims):
    # gap_net: A0 = x, A1 = 2x; class 1 map = 0.5 A0 + 1 A1 = 2.5 x; class 0 = A0 - A1 = -x
    model, x = gap_net(dims), golden_input(dims)
    expected = as_spatial(dims, [2.5, 0, 7.5, 0])
    torch.testing.assert_close(attribute(model, x, method="cam", target=1), expected)
    torch.testing.assert_close(
        attribute(model, x, method="cam", target=1, relu=False), as_spatial(dims, [2.5, -5, 7.5, -12.5])
    )
    torch.testing.assert_close(attribute(model, x, method="cam", target=0), as_spatial(dims, [0, 2, 0, 5]))
    detailed = attribute_detailed(model, x, method="cam", target=torch.tensor([1]))
    torch.testing.assert_close(detailed.weights, torch.tensor([[0.5, 1.0]]))


def test_normalisation_conventions():
    raw = run(2, "hirescam", relu=False)  # [1, -2, 0, 15]
    torch.testing.assert_close(run(2, "hirescam", relu=False, normalize="max"), raw / 15)
    torch.testing.assert_close(run(2, "hirescam", relu=False, normalize="minmax"), (raw + 2) / 17)
    # "max" divides by max |m| and never inverts: a negative-only map stays negative
    negative = -raw.abs() - 1
    torch.testing.assert_close(normalize_maps(negative, "max"), negative / 16)
    # class 1 gets no gradient through the ReLUs: the all-zero map normalises to zeros, not NaN
    for mode in ("max", "minmax"):
        assert torch.equal(run(2, "gradcam", target=1, normalize=mode), torch.zeros(1, 2, 2))
    constant = torch.full((2, 3, 3), 4.0)
    assert torch.equal(normalize_maps(constant, "minmax"), torch.zeros(2, 3, 3))
    with pytest.raises(ValueError, match="normalize"):
        run(2, "gradcam", normalize="l2")


def test_gradcam_map_is_relu_of_signed_map_and_nonnegative():
    signed = run(2, "gradcam", relu=False)
    torch.testing.assert_close(run(2, "gradcam"), torch.relu(signed))
