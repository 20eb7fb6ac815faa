"""Batching, in-place ReLU, create_graph, segmentation targets, 3-D, layer lookup, ReLU rules."""

from __future__ import annotations

import warnings

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from medinterp_widgets.attribution import (
    LAYER_METHODS,
    METHODS,
    LayerError,
    PixelTarget,
    RegionTarget,
    TargetError,
    attribute,
    attribute_detailed,
    resolve_layer,
)
from medinterp_widgets.devices import resolve_device

from .conftest import random_classifier, random_segmenter

KWARGS = {"occlusion": {"window": 4, "stride": 4}, "scorecam": {"batch_size": 4}, "rise": {"n_masks": 64}}
CAM_LIKE = ["cam", "gradcam", "hirescam", "gradcam++", "scorecam"]


@pytest.mark.parametrize("method", sorted(METHODS))
def test_batch_equals_one_by_one(method, image_batch):
    model = random_classifier(seed=2)
    target = torch.tensor([0, 2, 1])
    batched = attribute(model, image_batch, method=method, target=target, **KWARGS.get(method, {}))
    for i in range(len(image_batch)):
        one = image_batch[i : i + 1]
        single = attribute(model, one, method=method, target=int(target[i]), **KWARGS.get(method, {}))
        torch.testing.assert_close(batched[i : i + 1], single, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("method", sorted(METHODS))
def test_inplace_relu_twin_gives_identical_maps(method, image_batch):
    out_of_place = random_classifier(seed=4, inplace=False)
    in_place = random_classifier(seed=4, inplace=True)
    layer = "3" if method in LAYER_METHODS else None  # conv -> ReLU(inplace)
    layer = "4" if method == "cam" else layer  # CAM is defined only where GAP reads the layer: after the ReLU
    kwargs = dict(method=method, target=1, layer=layer, **KWARGS.get(method, {}))
    expected = attribute(out_of_place, image_batch, **kwargs)
    torch.testing.assert_close(attribute(in_place, image_batch, **kwargs), expected)


@pytest.mark.parametrize("method", ["cam", "gradcam", "hirescam", "gradcam++", "saliency"])
def test_create_graph_gives_parameter_gradients(method, image_batch):
    model = random_classifier(seed=6)
    maps = attribute(model, image_batch, method=method, target=1, create_graph=True)
    assert maps.requires_grad
    assert all(p.grad is None for p in model.parameters())  # the call itself touches no .grad
    maps.sum().backward()
    assert model[0].weight.grad is not None and model[0].weight.grad.abs().sum() > 0


class _OnceDifferentiable(torch.autograd.Function):
    """Identity whose backward cannot itself be differentiated (double backward raises)."""

    @staticmethod
    def forward(ctx, x):
        return x.clone()

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad):
        return grad


class _TrunkThenHead(nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(7)
        self.trunk = nn.Conv2d(1, 4, 3, padding=1)
        self.layer = nn.Sequential(nn.Conv2d(4, 4, 3, padding=1), nn.ReLU())  # GAP reads its output: CAM is defined
        self.head = nn.Linear(4, 2)

    def forward(self, x):
        a = self.layer(_OnceDifferentiable.apply(torch.relu(self.trunk(x))))
        return self.head(a.mean((2, 3)))


@pytest.mark.parametrize("method", ["cam", "gradcam", "hirescam", "gradcam++"])
def test_create_graph_double_backward_only_through_the_head(method):
    model, x = _TrunkThenHead(), torch.randn(2, 1, 8, 8)
    attribute(model, x, method=method, target=0, layer="layer", create_graph=True).sum().backward()
    assert model.trunk.weight.grad.abs().sum() > 0
    with pytest.raises(RuntimeError, match="once_differentiable|twice"):  # the check can fail
        attribute(model, x, method="saliency", target=0, create_graph=True).sum().backward()


def test_create_graph_refused_where_not_differentiable(image_batch):
    with pytest.raises(ValueError, match="create_graph"):
        attribute(random_classifier(), image_batch, method="occlusion", target=0, create_graph=True)


def test_region_and_pixel_targets_on_segmentation_net():
    model, x = random_segmenter(), torch.randn(2, 1, 16, 16)
    logits = model(x).detach()
    mask = torch.zeros(16, 16)
    mask[4:10, 5:12] = 1
    detailed = attribute_detailed(model, x, method="gradcam", target=RegionTarget(1, mask), layer="2")
    torch.testing.assert_close(detailed.scores, (logits[:, 1] * mask).sum((1, 2)))
    assert detailed.map.shape == (2, 16, 16)
    predicted = attribute_detailed(model, x, method="hirescam", target=RegionTarget(1))
    torch.testing.assert_close(predicted.scores, (logits[:, 1] * (logits.argmax(1) == 1)).sum((1, 2)))
    per_sample = torch.stack([mask, 1 - mask])  # (B, H, W)
    both = attribute_detailed(model, x, method="saliency", target=RegionTarget(0, per_sample))
    torch.testing.assert_close(both.scores, (logits[:, 0] * per_sample).sum((1, 2)))
    pixel = attribute_detailed(model, x, method="saliency", target=PixelTarget(1, (3, 7)))
    torch.testing.assert_close(pixel.scores, logits[:, 1, 3, 7])
    # a pixel target's saliency is zero outside the receptive field (two 3x3 convs: radius 2)
    assert pixel.map[:, 8:, :].abs().sum() == 0 and pixel.map[:, 3, 7].abs().sum() > 0
    with pytest.raises(TargetError, match="PixelTarget"):
        attribute(model, x, method="gradcam", target=PixelTarget(1, (16, 0)))
    with pytest.raises(TargetError, match="mask"):
        attribute(model, x, method="gradcam", target=RegionTarget(1, torch.ones(5, 5)))


@pytest.mark.parametrize("method", sorted(METHODS))
def test_3d_input_shapes(method):
    model, x = random_classifier(dims=3, channels=1, seed=8), torch.randn(2, 1, 8, 8, 8)
    kwargs = KWARGS.get(method, {})
    assert attribute(model, x, method=method, target=[0, 1], **kwargs).shape == (2, 8, 8, 8)
    raw = attribute(model, x, method=method, target=0, upsample=False, **kwargs)
    assert raw.shape == ((2, 4, 4, 4) if method in CAM_LIKE else (2, 8, 8, 8))


def test_upsample_is_trilinear_and_bilinear_without_align_corners():
    for dims, model, x in [
        (2, random_classifier(dims=2, seed=9), torch.randn(1, 2, 16, 16)),
        (3, random_classifier(dims=3, channels=1, seed=9), torch.randn(1, 1, 8, 8, 8)),
    ]:
        result = attribute_detailed(model, x, method="gradcam", target=0)
        mode = "bilinear" if dims == 2 else "trilinear"
        expected = F.interpolate(result.raw[:, None], size=x.shape[2:], mode=mode, align_corners=False)[:, 0]
        torch.testing.assert_close(result.map, expected)


def test_layer_lookup():
    model = random_classifier()
    assert resolve_layer(model, None, torch.randn(1, 2, 8, 8))[0] == "4"  # probed: the ReLU before the pooling
    with pytest.raises(LayerError, match="probing"):
        resolve_layer(model)  # no declared layer and no input to probe with
    assert resolve_layer(model, model[0]) == ("0", model[0])
    assert resolve_layer(model, "1")[1] is model[1]
    with pytest.raises(LayerError, match="no module named 'nope'"):
        resolve_layer(model, "nope")
    with pytest.raises(LayerError, match="not a submodule"):
        resolve_layer(model, nn.Conv2d(1, 1, 1))
    with pytest.raises(LayerError, match="does not feed global average pooling -> a linear head"):
        attribute(random_segmenter(), torch.randn(1, 1, 8, 8), method="cam", target=0, layer="4")


class _FunctionalRelu(nn.Module):
    """Same maths as conftest's relu_net but with F.relu / Tensor.relu inside forward."""

    def __init__(self, use_method: bool):
        super().__init__()
        torch.manual_seed(10)
        self.conv = nn.Conv2d(1, 3, 3, padding=1)
        self.head = nn.Linear(3 * 64, 2)
        self.use_method = use_method

    def forward(self, x):
        a = self.conv(x)
        return self.head((a.relu() if self.use_method else F.relu(a)).flatten(1))


@pytest.mark.parametrize("method", ["guided_backprop", "deconvnet"])
def test_relu_rule_covers_functional_relu(method):
    x = torch.randn(2, 1, 8, 8)
    functional, tensor_method = _FunctionalRelu(False), _FunctionalRelu(True)
    module_form = nn.Sequential(functional.conv, nn.ReLU(), nn.Flatten(), functional.head)
    reference = attribute(module_form, x, method=method, target=1)
    torch.testing.assert_close(attribute(functional, x, method=method, target=1), reference)
    tensor_method.load_state_dict(functional.state_dict())
    torch.testing.assert_close(attribute(tensor_method, x, method=method, target=1), reference)
    assert not torch.equal(reference, attribute(module_form, x, method="saliency", target=1, absolute=False))


def test_relu_rule_warns_when_model_has_no_relu():
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Tanh(), nn.Flatten(), nn.Linear(2 * 36, 2))
    with pytest.warns(RuntimeWarning, match="no ReLU"):
        attribute(model, torch.randn(1, 1, 8, 8), method="guided_backprop", target=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        attribute(random_classifier(), torch.randn(1, 2, 16, 16), method="guided_backprop", target=0)


def test_bad_arguments_are_named(image_batch):
    model = random_classifier()
    with pytest.raises(ValueError, match="method"):
        attribute(model, image_batch, method="gradcam+", target=0)
    with pytest.raises(ValueError, match="x: got"):
        attribute(model, image_batch[0, 0], method="gradcam", target=0)
    with pytest.raises(TargetError, match="3 classes"):
        attribute(model, image_batch, method="gradcam", target=torch.tensor([0, 1, 3]))
    with pytest.raises(TypeError):
        attribute(model, image_batch, method="gradcam", target=0, window=3)
    with pytest.raises(TargetError, match="returned tuple"):
        attribute(_TupleOutput(model), image_batch, method="hirescam", target=0, layer="inner.3")
    with pytest.raises(TargetError, match="returned tuple"):
        attribute(_TupleOutput(model), image_batch, method="saliency", target=RegionTarget(0))


class _TupleOutput(nn.Module):
    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, x):
        return self.inner(x), x


def test_occlusion_accepts_a_per_sample_baseline_tensor(image_batch):
    model = random_classifier(seed=11)
    zeros = torch.zeros_like(image_batch)
    kwargs = dict(method="occlusion", target=0, window=8, stride=8)
    expected = attribute(model, image_batch, **kwargs)
    torch.testing.assert_close(attribute(model, image_batch, baseline=zeros, **kwargs), expected)
    # occluding with the image itself changes nothing: all drops are zero
    same = attribute(model, image_batch, baseline=image_batch, **kwargs)
    assert torch.equal(same, torch.zeros_like(same))


@pytest.mark.parametrize("method", ["gradcam", "guided_backprop", "occlusion"])
def test_maps_come_back_on_the_input_device(method):
    device = resolve_device()
    model = random_classifier(seed=12).to(device)
    x = torch.randn(2, 2, 16, 16, device=device)
    maps = attribute(model, x, method=method, target=torch.tensor([0, 1]), **KWARGS.get(method, {}))
    assert maps.device == x.device


@pytest.mark.parametrize("method", ["gradcam", "hirescam"])
def test_create_graph_in_train_mode_with_batchnorm(method, image_batch):
    """The heatmap-loss use: train mode, in-place ReLU, BatchNorm; backward works, stats untouched."""
    model = random_classifier(seed=13, inplace=True).train()
    running_mean = model[1].running_mean.clone()
    maps = attribute(model, image_batch, method=method, target=torch.tensor([0, 1, 2]), create_graph=True)
    assert torch.equal(model[1].running_mean, running_mean)
    normalized = attribute(model, image_batch, method=method, target=1, create_graph=True, normalize="max")
    (maps.mean() + normalized.mean()).backward()
    assert model[0].weight.grad.abs().sum() > 0 and torch.isfinite(model[0].weight.grad).all()
    assert torch.equal(model[1].running_mean, running_mean) and model.training


class _DeclaresCamLayer(nn.Module):
    """A model that names its CAM layer and head, with a 1x1 conv inside the layer (not the head)."""

    cam_layer_name = "features"

    def __init__(self):
        super().__init__()
        torch.manual_seed(14)
        self.features = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 4, 1))
        self.cam_head = nn.Linear(4, 3)
        self.output = nn.Conv2d(4, 3, 1)  # the last conv: not the CAM layer

    def forward(self, x):
        a = self.features(x)  # (B, 4, H, W)
        return self.output(a) + self.cam_head(a.mean((2, 3)))[:, :, None, None]


def test_declared_cam_layer_and_head_are_used():
    model, x = _DeclaresCamLayer(), torch.randn(2, 1, 8, 8)
    assert resolve_layer(model)[0] == "features"
    detailed = attribute_detailed(model, x, method="cam", target=RegionTarget(1, torch.ones(8, 8)))
    assert detailed.layer_name == "features"
    torch.testing.assert_close(detailed.weights, model.cam_head.weight[[1, 1]].detach())
    activation = model.features(x).detach()
    expected = torch.relu(torch.einsum("k,bkhw->bhw", model.cam_head.weight[1].detach(), activation))
    torch.testing.assert_close(detailed.map, expected)


@pytest.mark.parametrize("method", ["occlusion", "scorecam", "cam"])
def test_gradient_free_methods_build_no_graph(method, image_batch):
    model = random_classifier(seed=16)
    seen = []
    model[7].register_forward_hook(lambda module, inputs, output: seen.append(output.requires_grad))
    attribute(model, image_batch, method=method, target=0, **KWARGS.get(method, {}))
    assert seen and not any(seen)


@pytest.mark.parametrize("method", ["gradcam", "hirescam", "gradcam++"])
def test_graph_is_recorded_from_the_layer_on_only(method, image_batch):
    """Without create_graph the layers before A run like a no-grad forward; those after are recorded."""
    model = random_classifier(seed=17)
    before, after = [], []
    model[1].register_forward_hook(lambda module, inputs, output: before.append(output.requires_grad))
    model[4].register_forward_hook(lambda module, inputs, output: after.append(output.requires_grad))
    maps = attribute(model, image_batch, method=method, target=0, layer="3")
    assert before == [False] and after == [True] and maps.abs().sum() > 0
    before.clear(), after.clear()
    attribute(model, image_batch, method=method, target=0, layer="3", create_graph=True)
    assert before == [True] and after == [True]


@pytest.mark.parametrize("method", ["occlusion", "scorecam"])
def test_automatic_chunking_gives_the_same_maps(method, image_batch):
    from medinterp_widgets.attribution.perturbation import variants_per_forward

    model = random_classifier(seed=18)
    window = {"window": 8, "stride": 8} if method == "occlusion" else {}
    automatic = attribute(model, image_batch, method=method, target=1, **window)
    explicit = attribute(model, image_batch, method=method, target=1, batch_size=1, **window)
    torch.testing.assert_close(automatic, explicit)
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    assert variants_per_forward(None, 8, cpu) == 2 and variants_per_forward(None, 16, cuda) == 16
    assert variants_per_forward(None, 100, cpu) == 1 and variants_per_forward(5, 16, cpu) == 5
    with pytest.raises(ValueError, match="batch_size"):
        attribute(model, image_batch, method=method, target=1, batch_size=0, **window)
