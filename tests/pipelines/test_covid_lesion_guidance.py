"""covid-interp's lesion-guided loss (lesion_guidance.py) on tiny models and hand-checkable masks."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from medinterp_widgets.models import SmallResNet
from medinterp_widgets.pipelines.covid_interp import Config, Preprocess
from medinterp_widgets.pipelines.covid_interp.classifier import training_loss
from medinterp_widgets.pipelines.covid_interp.data import LesionSet
from medinterp_widgets.pipelines.covid_interp.lesion_guidance import LesionGuidedLoss, dilate_masks, moved_slices
from medinterp_widgets.training.loss_protocol import Batch


def test_dilate_masks_grows_by_a_square():
    masks = np.zeros((1, 7, 7), np.uint8)
    masks[0, 3, 3] = 1
    assert dilate_masks(masks, 0).sum() == 1
    grown = dilate_masks(masks, 1)
    assert grown.sum() == 9 and grown[0, 2:5, 2:5].all()


def test_moved_slices_move_image_and_mask_together():
    image = torch.zeros(1, 1, 16, 16)
    image[0, 0, 4:8, 2:6] = 1.0
    mask = (image[:, 0] > 0).long()
    generator = torch.Generator().manual_seed(0)
    for _ in range(4):  # random angle, zoom, shift and mirror; no intensity change
        moved, region = moved_slices(image, mask, generator, contrast=0.0, noise=0.0)
        assert moved.shape == (1, 1, 16, 16) and region.shape == (1, 16, 16)
        bright = moved[0, 0] > 0.5
        assert region[0].bool()[bright].float().mean() > 0.9  # the bright square is where the mask went
    still, same = moved_slices(image, mask, generator, degrees=0.0, zoom=(1.0, 1.0), shift=0.0, contrast=0.0,
                               noise=0.0)
    assert torch.equal(same, mask) or torch.equal(same, mask.flip(-1))  # identity, or its mirror


def _tiny_model() -> SmallResNet:
    torch.manual_seed(0)
    return SmallResNet(in_channels=1, n_classes=2, widths=(4, 4, 8, 8), blocks=1)


def test_lesion_guided_loss_penalises_only_the_lesion_slices():
    x = torch.randn(4, 1, 32, 32)
    batch = Batch(x=x, y=torch.tensor([0, 1, 0, 1]), extras={})
    slices = torch.randn(3, 1, 32, 32)
    everywhere = np.ones((3, 32, 32), np.uint8)
    torch.manual_seed(1)
    unguided = LesionGuidedLoss(slices, everywhere, count=2, layer="stages.3", augment=False)
    result = unguided.compute(_tiny_model(), batch)
    assert result.logits.shape == (4, 2)  # the UCSD batch's logits only
    assert float(result.parts["lesion_outside"]) == pytest.approx(0.0, abs=1e-6)  # allowed everywhere
    corner = np.zeros((3, 32, 32), np.uint8)
    corner[:, :2, :2] = 1
    torch.manual_seed(1)
    loss = LesionGuidedLoss(slices, corner, weight=1.0, count=2, layer="stages.3")
    guided = loss.compute(_tiny_model(), batch)
    assert 0.5 < float(guided.parts["lesion_outside"]) <= 1.0
    # weight per lesion slice: the heatmap loss's batch mean is scaled by (B + k) / k = 6 / 2
    assert loss.heatmap.weight == pytest.approx(3.0)
    guided.total.backward()


def test_lesion_slices_can_stay_out_of_the_cross_entropy():
    x = torch.randn(4, 1, 32, 32)
    y = torch.tensor([0, 1, 0, 0])
    batch = Batch(x=x, y=y, extras={})
    slices, masks = torch.randn(2, 1, 32, 32), np.ones((2, 32, 32), np.uint8)
    model = _tiny_model().eval()  # no dropout, fixed BatchNorm: the forwards below repeat the loss's own
    torch.manual_seed(2)
    kept_out = LesionGuidedLoss(slices, masks, count=2, layer="stages.3", augment=False, ce_weight=0.0)
    result = kept_out.compute(model, batch)
    with torch.no_grad():
        logits = model(torch.cat([x, slices]))
    ucsd_only = torch.nn.functional.cross_entropy(logits[:4], y)
    assert float(result.parts["classification"]) == pytest.approx(float(ucsd_only), rel=1e-4)
    torch.manual_seed(2)
    counted = LesionGuidedLoss(slices, masks, count=2, layer="stages.3", augment=False).compute(model, batch)
    all_six = torch.nn.functional.cross_entropy(logits, torch.tensor([0, 1, 0, 0, 1, 1]))
    assert float(counted.parts["classification"]) == pytest.approx(float(all_six), rel=1e-4)  # ce_weight 1
    with pytest.raises(ValueError, match="ce_weight"):
        LesionGuidedLoss(slices, masks, ce_weight=-1.0)


def test_training_loss_is_plain_cross_entropy_without_lesion_weight():
    config = Config.from_preset("smoke", lesion_weight=0.0)
    lesions = LesionSet(torch.rand(2, 1, 64, 64), np.ones((2, 64, 64), np.uint8), [], ["a", "b"], "test")
    assert isinstance(training_loss(config, Preprocess(64), lesions), torch.nn.CrossEntropyLoss)
    guided = Config.from_preset("smoke", lesion_weight=0.5, lesion_count=1)
    assert isinstance(training_loss(guided, Preprocess(64), lesions), LesionGuidedLoss)
    assert isinstance(training_loss(guided, Preprocess(64), None), torch.nn.CrossEntropyLoss)
    with pytest.raises(ValueError, match="slices"):
        LesionGuidedLoss(torch.zeros(2, 1, 8, 8), np.ones((1, 8, 8)))
