"""Where Captum defines the same quantity, our maps equal its (reduced the same way)."""

from __future__ import annotations

import pytest
import torch
from captum.attr import (
    Deconvolution,
    GuidedBackprop,
    GuidedGradCam,
    LayerAttribution,
    LayerGradCam,
    Occlusion,
    Saliency,
)

from medinterp_widgets.attribution import attribute
from medinterp_widgets.attribution.gradients import reduce_channels

from .conftest import random_classifier

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning:captum.*")

TARGET = torch.tensor([0, 2, 1])


@pytest.fixture
def model():
    return random_classifier(dims=2, channels=2, classes=3, seed=3)


def test_gradcam_equals_layer_gradcam_upsampled(model, image_batch):
    layer = model[3]
    theirs = LayerGradCam(model, layer).attribute(image_batch, target=TARGET, relu_attributions=True)
    theirs = LayerAttribution.interpolate(theirs, image_batch.shape[2:], interpolate_mode="bilinear")[:, 0]
    ours = attribute(model, image_batch, method="gradcam", target=TARGET, layer=layer)
    torch.testing.assert_close(ours, theirs)
    kwargs = dict(method="gradcam", target=TARGET, layer="3", upsample=False, relu=False)
    raw = attribute(model, image_batch, **kwargs)
    torch.testing.assert_close(raw, LayerGradCam(model, layer).attribute(image_batch, target=TARGET)[:, 0])


def test_saliency_equals_captum(model, image_batch):
    theirs = Saliency(model).attribute(image_batch, target=TARGET, abs=True).amax(1)
    torch.testing.assert_close(attribute(model, image_batch, method="saliency", target=TARGET), theirs)


@pytest.mark.parametrize(
    "method, captum_class", [("guided_backprop", GuidedBackprop), ("deconvnet", Deconvolution)]
)
def test_relu_rule_methods_equal_captum(model, image_batch, method, captum_class):
    theirs = reduce_channels(captum_class(model).attribute(image_batch, target=TARGET), absolute=False)
    torch.testing.assert_close(attribute(model, image_batch, method=method, target=TARGET), theirs)


def test_guided_gradcam_equals_captum(model, image_batch):
    captum = GuidedGradCam(model, model[3])
    theirs = captum.attribute(image_batch, target=TARGET, interpolate_mode="bilinear")
    ours = attribute(model, image_batch, method="guided_gradcam", target=TARGET, layer="3")
    torch.testing.assert_close(ours, reduce_channels(theirs, absolute=False))


@pytest.mark.parametrize("window, stride", [(4, 4), (5, 3)])
def test_occlusion_equals_captum(model, image_batch, window, stride):
    theirs = Occlusion(model).attribute(
        image_batch, target=TARGET, sliding_window_shapes=(2, window, window), strides=(2, stride, stride)
    )
    ours = attribute(model, image_batch, method="occlusion", target=TARGET, window=window, stride=stride)
    torch.testing.assert_close(ours, theirs[:, 0])


def test_3d_gradcam_saliency_and_occlusion_equal_captum():
    model, x = random_classifier(dims=3, channels=1, seed=15), torch.randn(2, 1, 8, 8, 8)
    target = torch.tensor([1, 0])
    theirs = LayerGradCam(model, model[3]).attribute(x, target=target, relu_attributions=True)
    theirs = LayerAttribution.interpolate(theirs, x.shape[2:], interpolate_mode="trilinear")[:, 0]
    torch.testing.assert_close(attribute(model, x, method="gradcam", target=target, layer="3"), theirs)
    theirs = Saliency(model).attribute(x, target=target).amax(1)
    torch.testing.assert_close(attribute(model, x, method="saliency", target=target), theirs)
    theirs = Occlusion(model).attribute(x, target=target, sliding_window_shapes=(1, 4, 4, 4), strides=(1, 4, 4, 4))
    ours = attribute(model, x, method="occlusion", target=target, window=4, stride=4)
    torch.testing.assert_close(ours, theirs[:, 0])
