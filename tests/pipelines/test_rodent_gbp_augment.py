"""rodent-gbp training option: mild in-plane augmentation of the training slices (augment.py)."""

from __future__ import annotations

import pytest
import torch
from torch.utils.data import TensorDataset

from medinterp_widgets.pipelines.rodent_gbp import Config
from medinterp_widgets.pipelines.rodent_gbp.augment import AugmentedSlices, similarity
from medinterp_widgets.pipelines.rodent_gbp.training import training_set


def _box(channels: int = 3) -> tuple[torch.Tensor, torch.Tensor]:
    image = torch.zeros(channels, 40, 24)
    image[:, 18:22, 7:17] = 0.5  # a 4 x 10 box centred at (20, 12)
    return image, (image[0] > 0).long()


def test_similarity_identity_and_a_quarter_turn_in_pixel_units():
    image, tissue = _box()
    same, same_tissue = similarity(image, tissue, 0.0, 1.0)
    assert torch.equal(same, image) and torch.equal(same_tissue, tissue)
    turned, turned_tissue = similarity(image, tissue, 90.0, 1.0)
    rows, cols = turned_tissue.nonzero().T
    assert (rows.max() - rows.min() + 1, cols.max() - cols.min() + 1) == (10, 4)  # 4 x 10 -> 10 x 4 pixels
    assert int(turned_tissue.sum()) == 40 and turned_tissue.dtype == torch.int64
    assert torch.equal(turned[0] > 0.25, turned_tissue.bool())  # bilinear: 0.5 inside, ~0 outside


def test_similarity_zooms_about_the_centre():
    image, tissue = _box(1)
    _, zoomed = similarity(image, tissue, 0.0, 2.0)
    rows, cols = zoomed.nonzero().T
    assert (rows.max() - rows.min() + 1, cols.max() - cols.min() + 1) == (8, 20)
    assert float(rows.float().mean()) == pytest.approx(19.5) and float(cols.float().mean()) == pytest.approx(11.5)


def test_augmented_slices_mirror_the_context_and_keep_the_background_zero():
    image, tissue = _box()
    image[0] *= 0.2  # channels differ, so a reversal shows
    base = TensorDataset(image[None], tissue[None])
    torch.manual_seed(0)
    seen = {bool(torch.equal(AugmentedSlices(base, mirror=True)[0][0], image.flip(0))) for _ in range(20)}
    assert seen == {True, False}
    torch.manual_seed(1)
    jittered, labels = AugmentedSlices(base, intensity=0.3)[0]
    assert torch.equal(labels, tissue) and torch.all(jittered[image == 0] == 0)
    assert not torch.equal(jittered, image) and float(jittered.max()) <= 1.0
    torch.manual_seed(2)
    first = AugmentedSlices(base, 10, 0.1, 0.1, True)[0]
    torch.manual_seed(2)
    again = AugmentedSlices(base, 10, 0.1, 0.1, True)[0]
    assert all(torch.equal(a, b) for a, b in zip(first, again))
    with pytest.raises(ValueError, match="augmentation"):
        AugmentedSlices(base, scale=1.0)


def test_training_set_wraps_only_when_augmenting():
    images, tissue = torch.zeros(4, 1, 8, 8).numpy(), torch.zeros(4, 8, 8).numpy()
    assert isinstance(training_set(Config(), (images, tissue)), TensorDataset)
    assert isinstance(training_set(Config(augment_rotation=5.0), (images, tissue)), AugmentedSlices)

