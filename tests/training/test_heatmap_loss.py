"""HeatmapLoss: share formula, one forward, gradients to the conv weights, and a toy shortcut problem."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from medinterp_widgets.models import VGGClassifier

pytest.importorskip("medinterp_widgets.attribution.api", reason="needs the attribution engine (branch attribution)")
from medinterp_widgets.training.losses import HeatmapLoss  # noqa: E402


def _tiny_vgg(seed: int = 0) -> VGGClassifier:
    torch.manual_seed(seed)
    return VGGClassifier(in_channels=1, n_classes=2, width=4, cfg=[1, "M", 2, 2], batch_norm=False, dropout=0.0)


def _centre_mask(batch: int, size: int = 16) -> torch.Tensor:
    mask = torch.zeros(batch, size, size)
    mask[:, 4:12, 4:12] = 1
    return mask


def test_share_formula_both_modes():
    maps = torch.tensor([[[1.0, 3.0], [0.0, 4.0]], [[0.0, 0.0], [0.0, 0.0]]])  # (2, 2, 2)
    mask = torch.tensor([[1.0, 0.0], [0.0, 1.0]]).expand(2, 2, 2)
    outside = HeatmapLoss(mode="outside_allowed").share(maps, mask)
    inside = HeatmapLoss(mode="inside_forbidden").share(maps, mask)
    torch.testing.assert_close(outside, torch.tensor([3 / 8, 1.0]))  # a zero map: all "outside"
    torch.testing.assert_close(inside, torch.tensor([5 / 8, 0.0]))


def test_mse_classification_hand_value():
    logits = torch.tensor([[0.0, 0.0]])
    value = HeatmapLoss(classification="mse").classification_loss(logits, torch.tensor([1]))
    assert value.item() == pytest.approx(((0.5 - 0) ** 2 + (0.5 - 1) ** 2) / 2)


@pytest.mark.parametrize("method", ["hirescam", "gradcam", "saliency"])
def test_one_forward_gradients_reach_every_conv_and_hooks_removed(method):
    model = _tiny_vgg()
    calls = []
    counter = model.register_forward_hook(lambda *_: calls.append(1))
    x, y = torch.randn(4, 1, 16, 16), torch.tensor([0, 1, 0, 1])
    result = HeatmapLoss(method=method, weight=1.0)(model, x, y, _centre_mask(4))
    counter.remove()
    assert len(calls) == 1
    assert result.maps.shape == (4, 16, 16) and result.share.shape == (4,)
    assert all(len(m._forward_hooks) == 0 for m in model.modules())
    result.total.backward()
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    assert all(conv.weight.grad is not None and conv.weight.grad.abs().sum() > 0 for conv in convs)


def test_attribution_term_itself_has_gradient():
    x, y, mask = torch.randn(4, 1, 16, 16), torch.tensor([0, 1, 0, 1]), _centre_mask(4)
    grads = []
    for weight in (0.0, 1.0):
        model = _tiny_vgg()
        HeatmapLoss(weight=weight)(model, x, y, mask).total.backward()
        grads.append(model.features[0].weight.grad.clone())
    assert not torch.allclose(grads[0], grads[1])


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="HeatmapLoss method: expected one of"):
        HeatmapLoss(method="occlusion")
    with pytest.raises(ValueError, match="HeatmapLoss mask: shape"):
        HeatmapLoss()(_tiny_vgg(), torch.randn(2, 1, 16, 16), torch.tensor([0, 1]), torch.ones(2, 8, 8))


def _shortcut_data(n: int, rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Class 1: a faint centre square (the real signal) and a bright corner marker (the shortcut)."""
    labels = rng.integers(0, 2, n)
    images = rng.normal(0.0, 0.3, (n, 1, 16, 16)).astype(np.float32)
    images[labels == 1, :, 6:10, 6:10] += 0.8
    images[labels == 1, :, 0:3, 0:3] += 2.0
    return torch.from_numpy(images), torch.from_numpy(labels).long()


def _train_and_probe(weight: float, steps: int = 30) -> tuple[float, float]:
    """(mean outside-centre HiResCAM share on held-out class-1 images, held-out accuracy)."""
    rng = np.random.default_rng(0)
    torch.manual_seed(0)
    model = VGGClassifier(in_channels=1, n_classes=2, width=4, cfg=[1, "M", 2, 2], dropout=0.0)  # with BN
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    loss = HeatmapLoss(method="hirescam", weight=weight)
    for _ in range(steps):
        x, y = _shortcut_data(16, rng)
        optimizer.zero_grad()
        loss(model, x, y, _centre_mask(16)).total.backward()
        optimizer.step()
    x, y = _shortcut_data(64, np.random.default_rng(123))
    probe = HeatmapLoss(method="hirescam", weight=0.0)(model.eval(), x, y, _centre_mask(64))
    accuracy = (probe.logits.argmax(1) == y).float().mean()
    return float(probe.share[y == 1].mean()), float(accuracy)


@pytest.fixture
def one_thread():
    """Tiny models run faster single-threaded, above all on a loaded machine; restored afterwards."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_heatmap_loss_moves_attribution_off_the_shortcut(one_thread):
    (share_ce, accuracy_ce), (share_heatmap, accuracy_heatmap) = _train_and_probe(0.0), _train_and_probe(1.0)
    assert share_heatmap < share_ce - 0.2, (share_ce, share_heatmap)
    assert accuracy_ce > 0.8 and accuracy_heatmap > 0.8, (accuracy_ce, accuracy_heatmap)


def test_default_layer_is_the_models_cam_layer_also_when_wrapped():
    from medinterp_widgets.training.heatmap_loss import _default_layer

    model = _tiny_vgg()
    assert _default_layer(model) == model.cam_layer_name
    wrapper = torch.nn.Module()
    wrapper.module = model
    assert _default_layer(wrapper) == f"module.{model.cam_layer_name}"
    assert _default_layer(torch.nn.Conv2d(1, 1, 1)) is None


def test_class_weighted_classification_and_mass_penalty_by_hand():
    logits = torch.tensor([[0.0, 0.0], [0.0, 0.0]])
    y = torch.tensor([0, 1])
    ce = HeatmapLoss(classification="ce", class_weights=[1.0, 3.0]).classification_loss(logits, y)
    assert ce.item() == pytest.approx(np.log(2))  # equal per-sample losses: any weighting gives log 2
    logits = torch.tensor([[2.0, 0.0], [2.0, 0.0]])  # both predict class 0
    per_sample = torch.nn.functional.cross_entropy(logits, y, reduction="none")
    weighted = HeatmapLoss(class_weights=[1.0, 3.0]).classification_loss(logits, y)
    assert weighted.item() == pytest.approx(float((per_sample[0] + 3 * per_sample[1]) / 4))
    both = HeatmapLoss(class_weights=[1.0, 3.0]).classification_loss(logits, y, torch.tensor([2.0, 0.5]))
    assert both.item() == pytest.approx(float((2 * per_sample[0] + 1.5 * per_sample[1]) / 3.5))  # w = c_y * s
    only_first = HeatmapLoss().classification_loss(logits, y, torch.tensor([1.0, 0.0]))
    assert only_first.item() == pytest.approx(float(per_sample[0]))  # weight 0: left out of the term
    maps = torch.tensor([[[2.0, 1.0], [0.0, 0.0]]])  # max 2 -> scaled [[1, .5], [0, 0]]
    mask = torch.tensor([[[1.0, 0.0], [0.0, 0.0]]])  # allowed: top-left
    mass = HeatmapLoss.thesis().share(maps, mask)
    torch.testing.assert_close(mass, torch.tensor([0.5 / 4]))  # mean over 4 pixels of the scaled map outside
    assert HeatmapLoss.thesis().classification == "mse" and HeatmapLoss.normalized().penalty == "share"
    assert HeatmapLoss.normalised.__func__ is HeatmapLoss.normalized.__func__  # the former spelling stays


class _PooledLinear(torch.nn.Module):
    """A = 1x1 conv of x (2 channels: x and -x), logits = W mean_S(A): HiResCAM is hand-computable."""

    def __init__(self, head: list[list[float]]):
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 2, 1, bias=False)
        self.conv.weight.data = torch.tensor([1.0, -1.0]).view(2, 1, 1, 1)
        self.head = torch.nn.Linear(2, 2, bias=False)
        self.head.weight.data = torch.tensor(head)

    def forward(self, x):
        return self.head(self.conv(x).mean((2, 3)))


def test_contrast_target_score_by_hand():
    from medinterp_widgets.attribution import ContrastTarget, TargetError

    output = torch.tensor([[1.0, 2.0, 4.0], [0.0, 3.0, -3.0]])
    torch.testing.assert_close(ContrastTarget(torch.tensor([0, 1])).score(output), torch.tensor([1 - 3.0, 3 - (-1.5)]))
    dense = torch.arange(8.0).view(1, 2, 2, 2)  # class 0 sums to 6, class 1 to 22
    torch.testing.assert_close(ContrastTarget(1).score(dense), torch.tensor([22.0 - 6.0]))
    with pytest.raises(TargetError, match="2 classes"):
        ContrastTarget(0).score(torch.ones(3, 1))


def test_contrast_maps_are_the_log_odds_map_by_hand():
    x = torch.tensor([[[[1.0, -2.0], [3.0, 0.5]]]])  # (1, 1, 2, 2); A = (x, -x)
    head = [[2.0, 1.0], [0.5, -1.0]]  # z_0 = mean(2x - x) = mean(x), z_1 = mean(0.5x + x) = 1.5 mean(x)
    mask = torch.ones(1, 2, 2)
    for y, by_hand in ((1, 0.5 * x[0, 0] / 4), (0, -0.5 * x[0, 0] / 4)):  # (w_y - w_other) / 4 . (x, -x)
        loss = HeatmapLoss(method="hirescam", layer="conv", target="contrast")
        maps = loss(_PooledLinear(head), x, torch.tensor([y]), mask).maps
        torch.testing.assert_close(maps[0], torch.relu(by_hand))
    class_map = HeatmapLoss(method="hirescam", layer="conv")(_PooledLinear(head), x, torch.tensor([0]), mask).maps
    torch.testing.assert_close(class_map[0], torch.relu(x[0, 0] / 4))  # dz_0/dA . A = 2x / 4 - x / 4
    with pytest.raises(ValueError, match="HeatmapLoss target"):
        HeatmapLoss(target="odds")


def test_thesis_mass_penalty_keeps_a_chosen_classification_term():
    thesis = HeatmapLoss.thesis(target="contrast")
    assert (thesis.classification, thesis.penalty, thesis.target) == ("mse", "mass", "contrast")
    assert HeatmapLoss.thesis(classification="ce").classification == "ce"
