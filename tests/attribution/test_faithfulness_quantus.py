"""Our faithfulness metrics equal Quantus 0.6's on the same model, inputs, maps and baselines.

Quantus runs float32 forwards like ours; curves agree to 1e-5 (probabilities), imputed pixels to 1e-5
(direct solve: 1e-5; our CG, float32 to a relative residual of 1e-5: 1e-4), localisation exactly (1e-12).
Quantus's curves start after the first step, ours at the unperturbed input (point 0).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from torch import nn

from medinterp_widgets.attribution import attribute
from medinterp_widgets.attribution import faithfulness as F

quantus = pytest.importorskip("quantus")

CURVE_TOL = 1e-5


@pytest.fixture(autouse=True)
def quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def tiny_classifier() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 4, 3, padding=1), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Linear(16, 3)).eval()


def batch(side: int = 8, n: int = 3):
    generator = torch.Generator().manual_seed(1)
    x = torch.randn(n, 1, side, side, generator=generator)
    maps = torch.rand(n, side, side, generator=generator)  # continuous: no ties, so both orders agree
    return x, maps


def predicted(model, x) -> np.ndarray:
    with torch.no_grad():
        return model(x).argmax(1).numpy()


def replace_with(image: np.ndarray):
    """A Quantus perturb_func that puts ``image``'s values (flattened per sample) at the indices."""

    def perturb(arr, indices, **kwargs):
        out = arr.copy()
        rows = np.arange(len(arr))[:, None]
        out[rows, indices] = image.reshape(len(arr), -1)[rows, indices]
        return out

    return perturb


@pytest.mark.parametrize("baseline", ["zero", "blur"])
def test_pixel_flipping_equals_our_deletion_curve(baseline):
    model, (x, maps) = tiny_classifier(), batch()
    y = predicted(model, x)
    base = F.baseline_image(x, baseline).numpy()
    metric = quantus.PixelFlipping(features_in_step=4, normalise=False, disable_warnings=True,
                                   perturb_func=replace_with(base))
    theirs = np.asarray(metric(model=model, x_batch=x.numpy(), y_batch=y, a_batch=maps[:, None].numpy(),
                               device="cpu", softmax=True))
    ours = F.deletion_insertion(model, x, maps, target=torch.as_tensor(y), steps=16, baseline=baseline,
                                modes=("deletion",))
    np.testing.assert_allclose(ours.deletion[:, 1:], theirs, atol=CURVE_TOL)


@pytest.mark.parametrize("side", [8, 9])  # 9: partial border patches (Quantus pads, we keep them partial)
def test_region_perturbation_equals_our_patch_deletion(side):
    model, (x, maps) = tiny_classifier(), batch(side)
    y = predicted(model, x)
    patches = (side + 1) // 2
    metric = quantus.RegionPerturbation(patch_size=2, order="morf", regions_evaluation=patches ** 2, normalise=False,
                                        disable_warnings=True, perturb_baseline=0.0)
    theirs = np.asarray(metric(model=model, x_batch=x.numpy(), y_batch=y, a_batch=maps[:, None].numpy(),
                               device="cpu", softmax=True))
    ours = F.deletion_insertion(model, x, maps, target=torch.as_tensor(y), steps=patches ** 2, patch=2,
                                baseline="zero", modes=("deletion",))
    np.testing.assert_allclose(ours.deletion[:, :1] - ours.deletion[:, 1:], theirs, atol=CURVE_TOL)


@pytest.mark.parametrize("solver", ["direct", "auto"])
def test_noisy_linear_imputation_equals_quantus(solver):
    from quantus.functions.perturb_func import noisy_linear_imputation

    x, maps = batch(side=12)
    order = np.argsort(-maps.reshape(len(maps), -1).numpy(), axis=1, kind="stable")
    for percent in (10, 50, 90):
        count = int(144 * percent / 100)
        removed = torch.zeros(len(x), 144, dtype=torch.bool)
        removed.scatter_(1, torch.as_tensor(order[:, :count]), True)
        ours = F.noisy_linear_imputation(x, removed.view(-1, 12, 12), noise=0.0, solver=solver).numpy()
        theirs = np.stack([noisy_linear_imputation(arr=image, indices=index[:count], noise=0.0)
                           for image, index in zip(x.numpy(), order)])
        np.testing.assert_allclose(ours, theirs, atol=1e-5 if solver == "direct" else 1e-4)


@pytest.mark.parametrize("order", ["morf", "lerf"])
def test_road_accuracy_equals_quantus(order):
    model, (x, maps) = tiny_classifier(), batch(side=12, n=6)
    y = predicted(model, x)
    percentages = [10, 30, 50, 70, 90]
    metric = quantus.ROAD(percentages=percentages, noise=0.0, normalise=False, disable_warnings=True)
    signed = maps if order == "morf" else 1 - maps  # Quantus removes the highest first (and wants some > 0)
    theirs = metric(model=model, x_batch=x.numpy(), y_batch=y, a_batch=signed[:, None].numpy(), device="cpu")
    ours = F.road(model, x, maps, target=torch.as_tensor(y), percentages=percentages, noise=0.0, orders=(order,))
    correct = ours.morf_correct if order == "morf" else ours.lerf_correct
    np.testing.assert_allclose(correct.mean(0), [theirs[p] for p in percentages], atol=1e-12)


def test_max_sensitivity_equals_quantus_with_the_same_noise():
    model, (x, _) = tiny_classifier(), batch()
    y = predicted(model, x)
    radius, samples, seed = 0.1, 3, 5
    generator = torch.Generator().manual_seed(seed)
    draws = [F.uniform_noise(tuple(x.shape), radius, generator).numpy() for _ in range(samples)]

    def replay(arr, indices, **kwargs):  # Quantus asks for one noisy batch per sample, in order
        return arr + draws.pop(0).reshape(arr.shape)

    def explain(model, inputs, targets, **kwargs):
        maps = attribute(model, torch.as_tensor(inputs), method="gradcam", target=torch.as_tensor(targets))
        return maps[:, None].detach().numpy()

    maps = attribute(model, x, method="gradcam", target=torch.as_tensor(y))
    metric = quantus.MaxSensitivity(nr_samples=samples, perturb_func=replay, normalise=False, disable_warnings=True)
    theirs = np.asarray(metric(model=model, x_batch=x.numpy(), y_batch=y, a_batch=maps[:, None].numpy(),
                               explain_func=explain, device="cpu"))
    ours = F.max_sensitivity(model, x, maps, method="gradcam", target=torch.as_tensor(y), radius=radius,
                             samples=samples, seed=seed)
    np.testing.assert_allclose(ours, theirs, rtol=1e-5)


def test_pointing_game_and_relevance_mass_equal_quantus():
    model, (x, _) = tiny_classifier(), batch(n=4)
    maps = torch.randn(4, 8, 8, generator=torch.Generator().manual_seed(3))  # signed, like HiResCAM or gradients
    masks = torch.zeros(4, 8, 8)
    masks[0, :4, :4] = masks[1, 2:6, 3:8] = masks[2, 6:, :] = masks[3, :, 5:] = 1
    kwargs = dict(model=model, x_batch=x.numpy(), y_batch=predicted(model, x), a_batch=maps[:, None].double().numpy(),
                  s_batch=masks[:, None].numpy(), device="cpu")
    pointing = quantus.PointingGame(normalise=False, disable_warnings=True)(**kwargs)
    mass = quantus.RelevanceMassAccuracy(normalise=False, disable_warnings=True)(**kwargs)
    absolute = quantus.RelevanceMassAccuracy(normalise=False, abs=True, disable_warnings=True)(**kwargs)
    np.testing.assert_allclose(F.pointing_game(maps, masks), np.asarray(pointing, dtype=float), atol=1e-12)
    np.testing.assert_allclose(F.relevance_mass(maps, masks), mass, atol=1e-12)
    np.testing.assert_allclose(F.relevance_mass(maps, masks, absolute=True), absolute, atol=1e-12)
