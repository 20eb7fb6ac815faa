"""Adebayo sanity checks: the user's model is untouched, steps are cumulative/independent, similarity rules."""

import copy

import numpy as np
import pytest
import torch
from torch import nn

from medinterp_widgets.attribution.sanity import (
    cascading_randomisation,
    data_randomisation,
    independent_randomisation,
    map_similarity,
    randomisable_layers,
    randomise_layers,
)


def tiny_cnn(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(),
        nn.Conv2d(4, 6, 3, padding=1), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(6, 3),
    ).eval()


@pytest.fixture
def batch():
    return torch.randn(2, 1, 12, 12, generator=torch.Generator().manual_seed(3))


def _same_state(first, second):
    return all(torch.equal(a, b) for a, b in zip(first.state_dict().values(), second.state_dict().values()))


def test_map_similarity_identity_and_constant_maps():
    maps = torch.rand(3, 9, 9, generator=torch.Generator().manual_seed(0))
    rho, ssim = map_similarity(maps, maps)
    np.testing.assert_allclose(rho, 1.0)
    np.testing.assert_allclose(ssim, 1.0)
    flipped_rho, _ = map_similarity(maps, -maps)
    np.testing.assert_allclose(flipped_rho, -1.0)
    np.testing.assert_allclose(map_similarity(maps, -maps, absolute=True)[0], 1.0)
    const_rho, _ = map_similarity(maps, torch.zeros_like(maps))
    assert np.isnan(const_rho).all()
    assert np.isnan(map_similarity(torch.rand(1, 2, 2), torch.rand(1, 2, 2))[1]).all()  # too small for SSIM
    with pytest.raises(ValueError, match="shapes"):
        map_similarity(maps, maps[:1])


def test_randomise_layers_copies_and_is_seeded():
    model = tiny_cnn()
    before = copy.deepcopy(model)
    assert randomisable_layers(model) == ["0", "2", "6"]
    first = randomise_layers(model, ["6"], seed=5)
    again = randomise_layers(model, ["6"], seed=5)
    assert _same_state(model, before)
    assert torch.equal(first[6].weight, again[6].weight) and not torch.equal(first[6].weight, model[6].weight)
    assert torch.equal(first[0].weight, model[0].weight)
    rng_state = torch.get_rng_state()
    randomise_layers(model, ["0"], seed=1)
    assert torch.equal(rng_state, torch.get_rng_state())  # no global RNG use
    with pytest.raises(ValueError, match="randomisable"):
        randomise_layers(model, ["1"])


@pytest.mark.parametrize("method", ["gradcam", "saliency"])
def test_cascading_leaves_model_untouched_and_goes_top_down(batch, method):
    model = tiny_cnn()
    before = copy.deepcopy(model)
    steps = cascading_randomisation(model, batch, method=method, target=0, keep_maps=True)
    assert [step.layer for step in steps] == ["6", "2", "0"]
    assert _same_state(model, before) and not model.training
    assert all(p.grad is None for p in model.parameters())
    for step in steps:
        assert step.spearman.shape == (2,) and step.ssim.shape == (2,)
        assert step.maps.shape == (2, 12, 12)
    assert steps[-1].mean_spearman < 0.95  # a fully random model gives different maps


def test_cascading_is_cumulative_and_independent_is_not(batch):
    model = tiny_cnn()
    cascade = cascading_randomisation(model, batch, method="saliency", target=1, keep_maps=True)
    independent = independent_randomisation(model, batch, method="saliency", target=1, keep_maps=True)
    assert [step.layer for step in independent] == ["6", "2", "0"]
    assert torch.allclose(cascade[0].maps, independent[0].maps)  # same first step (top layer only)
    from medinterp_widgets.attribution import attribute
    expected = attribute(randomise_layers(model, ["6", "2"]), batch, method="saliency", target=1)
    assert torch.allclose(cascade[1].maps, expected)


def test_layer_given_as_module_is_found_in_the_copies(batch):
    model = tiny_cnn()
    steps = cascading_randomisation(model, batch, method="gradcam", target=0, layer=model[0], layers=["0", "2"])
    assert [step.layer for step in steps] == ["2", "0"]


def test_data_randomisation_compares_two_models(batch):
    model = tiny_cnn(0)
    same = data_randomisation(model, copy.deepcopy(model), batch, method="saliency", target=2)
    np.testing.assert_allclose(same.spearman, 1.0)
    other = data_randomisation(model, tiny_cnn(1), batch, method="saliency", target=2)
    assert other.layer == "permuted labels" and other.mean_spearman < 0.99
