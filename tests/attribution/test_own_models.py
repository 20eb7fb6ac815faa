"""Models the project did not build: the default layer found by probing, CAM validated at run time,
equality with Captum where it has the method, and the model left untouched (issue #15)."""

from __future__ import annotations

import pytest
import torch
from captum.attr import LayerAttribution, LayerGradCam, Saliency

from medinterp_widgets.attribution import (
    METHODS,
    LayerError,
    RegionTarget,
    attribute,
    attribute_detailed,
    default_layer,
    spatial_layers,
)
from medinterp_widgets.bench.byo_models import DenseNetLike, ResNetLike, TupleOutput, randomised

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")
FAST = {"occlusion": {"window": 8, "stride": 8}, "rise": {"n_masks": 8, "cells": 4}}


def resnet(dims: int = 2, seed: int = 0):
    torch.manual_seed(seed)
    return randomised(ResNetLike(dims), seed)


def image(dims: int = 2, batch: int = 2, seed: int = 1) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.rand((batch, 1) + ((32, 32) if dims == 2 else (16, 16, 16)), generator=generator)


@pytest.mark.parametrize("dims", [2, 3])
def test_default_layer_is_the_last_block_output_before_pooling(dims):
    model, x = resnet(dims), image(dims)
    assert default_layer(model, x) == "layer4"  # not layer4.1.conv2 (before BN, the add and the ReLU)
    assert default_layer(randomised(DenseNetLike(dims)), x) == "features"  # not a growth conv
    result = attribute_detailed(model, x, method="gradcam", target=1)
    assert result.layer_name == "layer4" and result.map.shape == (x.shape[0],) + x.shape[2:]


def test_spatial_layers_lists_blocks_after_their_parts():
    names = [layer.name for layer in spatial_layers(resnet(), image())]
    assert names.index("layer4.1.relu") < names.index("layer4.1") < names.index("layer4")
    assert "avgpool" not in names and "fc" not in names


def test_cam_at_the_last_block_equals_the_logit_decomposition():
    model, x = resnet(), image()
    result = attribute_detailed(model, x, method="cam", target=2, upsample=False, relu=False)
    logits = model(x)
    torch.testing.assert_close(result.raw.flatten(1).mean(1) + model.fc.bias[2], logits[:, 2], rtol=1e-4, atol=1e-5)
    explicit = attribute(model, x, method="cam", target=2, layer="layer4", head="fc", upsample=False, relu=False)
    torch.testing.assert_close(explicit, result.raw)


def test_cam_at_a_layer_without_a_gap_linear_head_is_a_named_error():
    model, x = resnet(), image()
    with pytest.raises(LayerError, match="'layer3'.*layer4.0.downsample.0"):  # no silent use of the downsample conv
        attribute(model, x, method="cam", target=1, layer="layer3")
    with pytest.raises(LayerError, match="'layer3'"):
        attribute(model, x, method="cam", target=1, layer="layer3", head="fc")
    with pytest.raises(LayerError, match="head 'avgpool'"):
        attribute(model, x, method="cam", target=1, layer="layer4", head="avgpool")


def test_layer_without_spatial_output_is_a_named_error():
    with pytest.raises(LayerError, match="avgpool|spatial"):
        attribute(resnet(), image(), method="gradcam", target=0, layer="avgpool")


def test_gradcam_and_saliency_equal_captum_on_a_resnet():
    model, x, target = resnet(), image(), torch.tensor([0, 2])
    theirs = LayerGradCam(model, model.layer4).attribute(x, target=target, relu_attributions=True)
    theirs = LayerAttribution.interpolate(theirs, x.shape[2:], interpolate_mode="bilinear")[:, 0]
    torch.testing.assert_close(attribute(model, x, method="gradcam", target=target), theirs)
    saliency = Saliency(model).attribute(x, target=target, abs=True).amax(1)
    torch.testing.assert_close(attribute(model, x, method="saliency", target=target), saliency)


@pytest.mark.parametrize("method", sorted(METHODS))
def test_every_method_leaves_a_resnet_untouched(method):
    model, x = resnet(), image(batch=1)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    hooks_before = sum(len(m._forward_hooks) + len(m._backward_hooks) for m in model.modules())
    maps = attribute(model, x, method=method, target=1, **FAST.get(method, {}))
    assert maps.shape == (1, 32, 32) and torch.isfinite(maps).all()
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert sum(len(m._forward_hooks) + len(m._backward_hooks) for m in model.modules()) == hooks_before
    assert not model.training and all(p.grad is None for p in model.parameters())


# -- MONAI networks (optional test dependency) -------------------------------------------------------------


def monai_nets():
    nets = pytest.importorskip("monai.networks.nets")
    torch.manual_seed(0)
    dense = dict(in_channels=1, out_channels=3, init_features=8, growth_rate=4, block_config=(2, 2))
    return {
        "densenet2d": (nets.DenseNet121(spatial_dims=2, **dense), 2),
        "densenet3d": (nets.DenseNet121(spatial_dims=3, **dense), 3),
        "unet2d": (nets.UNet(spatial_dims=2, in_channels=1, out_channels=3, channels=(4, 8, 16), strides=(2, 2),
                             num_res_units=1), 2),
        "unet3d": (nets.UNet(spatial_dims=3, in_channels=1, out_channels=3, channels=(4, 8), strides=(2,),
                             num_res_units=1), 3),
        "segresnet2d": (nets.SegResNet(spatial_dims=2, in_channels=1, out_channels=3, init_filters=8,
                                       blocks_down=(1, 2), blocks_up=(1,)), 2),
        "segresnet3d": (nets.SegResNet(spatial_dims=3, in_channels=1, out_channels=3, init_filters=8,
                                       blocks_down=(1, 2), blocks_up=(1,)), 3),
    }


@pytest.mark.parametrize("name", ["densenet2d", "densenet3d"])
def test_monai_densenet_default_layer_cam_and_captum(name):
    model, dims = monai_nets()[name]
    model, x = model.eval(), image(dims, batch=1)
    assert default_layer(model, x) == "class_layers.relu"  # the block output after its activation
    cam = attribute_detailed(model, x, method="cam", target=1, upsample=False, relu=False)
    bias = model.class_layers.out.bias[1]
    torch.testing.assert_close(cam.raw.flatten(1).mean(1) + bias, model(x)[:, 1], rtol=1e-4, atol=1e-5)
    layer = model.class_layers.relu
    theirs = LayerGradCam(model, layer).attribute(x, target=1, relu_attributions=True)
    mode = "bilinear" if dims == 2 else "trilinear"
    theirs = LayerAttribution.interpolate(theirs, x.shape[2:], interpolate_mode=mode)
    ours = attribute(model, x, method="gradcam", target=1)
    torch.testing.assert_close(ours, theirs[:, 0])
    signed = attribute(model, x, method="gradcam", target=1, relu=False)
    assert signed.abs().sum() > 0  # not the all-zero map of a growth conv's gradients


@pytest.mark.parametrize("name", ["unet2d", "unet3d", "segresnet2d", "segresnet3d"])
def test_monai_segmentation_nets_default_layer_and_region_target(name):
    model, dims = monai_nets()[name]
    model, x = model.eval(), image(dims, batch=1)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    layer = default_layer(model, x)
    traced = {item.name: item for item in spatial_layers(model, x)}
    assert layer in traced and not traced[layer].is_output and traced[layer].channels != 3
    region = torch.zeros((1,) + x.shape[2:], dtype=torch.bool)
    region[(0,) + tuple(slice(4, 10) for _ in range(dims))] = True
    result = attribute_detailed(model, x, method="gradcam", target=RegionTarget(1, region))
    assert result.layer_name == layer and result.map.shape == (1,) + x.shape[2:]
    with pytest.raises(LayerError, match="CAM is not defined"):
        attribute(model, x, method="cam", target=RegionTarget(1, region))
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())



@pytest.mark.parametrize("method", ["gradcam", "saliency", "occlusion"])
def test_output_that_is_not_logits_is_a_named_error(method):
    from medinterp_widgets.attribution import TargetError

    with pytest.raises(TargetError, match="returned tuple, expected one Tensor"):
        attribute(TupleOutput().eval(), image(), method=method, target=1, **FAST.get(method, {}))
