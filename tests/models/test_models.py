"""Output shapes, hand-counted parameters, CAM hooks and the registry for the from-scratch models."""

from __future__ import annotations

import pytest
import torch

from medinterp_widgets.models import (
    AlexNetClassifier,
    GapFCN,
    UNet,
    VGGClassifier,
    build_model,
    model_spec,
    parameter_count,
    size_mb,
)


def _alone_equals_batched(model: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Eval-mode output of the batch x, checked to equal each sample's output on its own."""
    model.eval()
    with torch.no_grad():
        batched = model(x)
        for i in range(len(x)):
            torch.testing.assert_close(model(x[i:i + 1])[0], batched[i], rtol=1e-4, atol=1e-5)
    return batched


@pytest.mark.parametrize("upsampling", ["unpool", "bilinear"])
@pytest.mark.parametrize("size", [(32, 32), (33, 45)])
def test_gap_fcn_shapes(upsampling, size):
    torch.manual_seed(0)
    model = GapFCN(base_channels=4, depth=3, convs_per_stage=2, upsampling=upsampling)
    x = torch.randn(2, 1, *size)
    seg, image_logits = model.forward_with_image_logits(x)
    assert seg.shape == (2, 2, *size)
    assert image_logits.shape == (2, 2)
    torch.testing.assert_close(_alone_equals_batched(model, x), model(x))  # odd sizes: no cross-sample mixing


def test_gap_fcn_cam_is_linear_head_on_gap_of_cam_layer():
    torch.manual_seed(0)
    model = GapFCN(base_channels=4, depth=2, convs_per_stage=1).eval()
    x = torch.randn(3, 1, 16, 16)
    captured = {}
    handle = model.get_submodule(model.cam_layer_name).register_forward_hook(
        lambda _m, _i, out: captured.setdefault("A", out))
    try:
        _, image_logits = model.forward_with_image_logits(x)
    finally:
        handle.remove()
    features = captured["A"]  # (B, K, h, w)
    assert model.cam_layer is model.get_submodule(model.cam_layer_name)
    assert features.shape == (3, model.cam_head.in_features, 4, 4)
    cam = torch.einsum("ck,bkhw->bchw", model.cam_head.weight, features)  # CAM_c = sum_k w_ck A_k
    # GAP is linear, so the mean of CAM_c plus the bias is exactly the image logit of class c
    expected = cam.mean(dim=(2, 3)) + model.cam_head.bias
    torch.testing.assert_close(expected, image_logits)


def test_unet_2d_odd_sizes_and_3d():
    torch.manual_seed(0)
    model2d = UNet(in_channels=1, n_classes=4, base_channels=2, depth=3)
    assert _alone_equals_batched(model2d, torch.randn(2, 1, 35, 21)).shape == (2, 4, 35, 21)
    model3d = UNet(in_channels=2, n_classes=4, base_channels=2, depth=2, dims=3)
    x = torch.randn(2, 2, 9, 12, 7)
    out = _alone_equals_batched(model3d, x)
    assert out.shape == (2, 4, 9, 12, 7)
    x_changed = x.clone()
    x_changed[:, :, 0, 0, 0] += 10.0  # a corner voxel: the far corner lies outside its receptive field
    with torch.no_grad():
        changed = model3d(x_changed)
    assert not torch.allclose(changed[..., 0, 0, 0], out[..., 0, 0, 0])
    torch.testing.assert_close(changed[..., -1, -1, -1], out[..., -1, -1, -1])


def test_vgg_configs_and_heads():
    x = torch.randn(2, 1, 32, 32)
    assert VGGClassifier(width=2, cfg="vgg16")(x).shape == (2, 4)
    model = VGGClassifier(width=2, cfg="tiny", head="fc", n_classes=3, hidden=8)
    assert model(x).shape == (2, 3)
    assert isinstance(model.cam_layer, torch.nn.ReLU)
    assert model.cam_layer_name == "features.10"  # conv, bn, relu, pool, ..., last conv's ReLU


def test_alexnet_shapes():
    torch.manual_seed(0)
    model = AlexNetClassifier(in_channels=1, n_classes=2, width=4, hidden=16)
    logits = _alone_equals_batched(model, torch.randn(3, 1, 64, 64))
    assert logits.shape == (3, 2) and not torch.allclose(logits[0], logits[1])


def test_bad_input_names_model_and_layout():
    with pytest.raises(ValueError, match=r"UNet: input of shape \(2, 3, 8, 8\); expected \(B, 1, H, W\)"):
        UNet(base_channels=2, depth=1)(torch.randn(2, 3, 8, 8))


def test_parameter_count_matches_hand_count_tiny_vgg():
    # cfg [1, "M", 2] at width 2, no BN, GAP head, 3 classes:
    # conv 1->2: 2*1*9 + 2 = 20; conv 2->4: 4*2*9 + 4 = 76; linear 4->3: 12 + 3 = 15  => 111
    model = VGGClassifier(in_channels=1, n_classes=3, width=2, cfg=[1, "M", 2], batch_norm=False)
    assert parameter_count(model) == 111
    assert size_mb(model) == pytest.approx(111 * 4 / 2**20)


def test_parameter_count_matches_hand_count_tiny_unet():
    # depth 1, base 1, no BN, 1 -> 2 classes. enc: 1->1 (9+1) + 1->1 (9+1) = 20; bottleneck 1->2 (18+2) + 2->2
    # (36+2) = 58; up 2->1 convT 2x2: 2*1*4 + 1 = 9; dec 2->1 (18+1) + 1->1 (9+1) = 29; head 1->2: 2+2 = 4
    model = UNet(in_channels=1, n_classes=2, base_channels=1, depth=1, batch_norm=False)
    assert parameter_count(model) == 20 + 58 + 9 + 29 + 4


def test_trainable_only_count():
    model = VGGClassifier(width=2, cfg="tiny")
    total = parameter_count(model)
    model.classifier.requires_grad_(False)
    assert parameter_count(model, trainable_only=True) < total


@pytest.mark.parametrize("name, kwargs, shape", [
    ("gap_fcn", dict(base_channels=2, depth=2, convs_per_stage=1), (1, 1, 16, 16)),
    ("unet", dict(base_channels=2, depth=2), (1, 1, 16, 16)),
    ("vgg", dict(width=2, cfg="tiny"), (1, 1, 16, 16)),
    ("alexnet", dict(in_channels=1, width=2, hidden=8), (1, 1, 64, 64)),
])
def test_registry_round_trip(name, kwargs, shape):
    model = build_model(name, **kwargs)
    spec = model_spec(model)
    assert spec["name"] == name
    rebuilt = build_model(spec["name"], **spec["kwargs"])
    rebuilt.load_state_dict(model.state_dict())
    model.eval(), rebuilt.eval()
    x = torch.randn(*shape)
    torch.testing.assert_close(model(x), rebuilt(x))


def test_registry_aliases_and_unknown_name():
    assert isinstance(build_model("GAP-FCN", base_channels=2, depth=1), GapFCN)
    assert isinstance(build_model("VGGClassifier", width=2, cfg="tiny"), VGGClassifier)
    with pytest.raises(ValueError, match="model name: expected one of"):
        build_model("resnet")


def test_attribution_engine_cam_on_gap_fcn_uses_cam_head():
    attribution = pytest.importorskip("medinterp_widgets.attribution")
    torch.manual_seed(0)
    model = GapFCN(base_channels=4, depth=2, convs_per_stage=1).eval()
    x = torch.randn(2, 1, 16, 16)
    cam = attribution.attribute(model, x, method="cam", target=1, layer=model.cam_layer_name,
                                upsample=False, relu=False)
    features = model.bottleneck(model.pool(model.encoder[1](model.pool(model.encoder[0](x))[0]))[0])
    expected = torch.einsum("k,bkhw->bhw", model.cam_head.weight[1], features)  # (B, 4, 4)
    torch.testing.assert_close(cam, expected.detach())
