"""Golden values of the faithfulness metrics on tiny models whose scores can be worked out on paper."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import ndimage, stats
from torch import nn

from medinterp_widgets.attribution import ClassTarget, RegionTarget, attribute
from medinterp_widgets.attribution import faithfulness as F
from medinterp_widgets.attribution.sanity import map_similarity, randomisable_layers, randomise_layers


class PixelSum(nn.Module):
    """Logits (B, 2) = [0, Σ x]: with output="logit" and target 1 the score is the pixel sum."""

    def forward(self, x):
        total = x.flatten(1).sum(1, keepdim=True)
        return torch.cat([torch.zeros_like(total), total], 1)


class SquareSum(nn.Module):
    """Logit (B, 1) = Σ x²: its gradient 2x is a map whose change under noise is known exactly."""

    def forward(self, x):
        return (x ** 2).flatten(1).sum(1, keepdim=True)


IMAGE = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]])  # (1, 1, 2, 2), sum 10
MAP = torch.tensor([[[4.0, 3.0], [2.0, 1.0]]])  # removes 1, 2, 3, 4 in that order


def test_deletion_and_insertion_with_a_zero_baseline():
    curves = F.deletion_insertion(PixelSum(), IMAGE, MAP, target=1, steps=4, baseline="zero", output="logit")
    np.testing.assert_allclose(curves.fractions, [0, 0.25, 0.5, 0.75, 1])
    np.testing.assert_allclose(curves.deletion, [[10, 9, 7, 4, 0]])
    np.testing.assert_allclose(curves.insertion, [[0, 1, 3, 6, 10]])
    np.testing.assert_allclose(curves.deletion_auc, [0.25 * (5 + 9 + 7 + 4 + 0)])  # trapezoid rule = 6.25
    np.testing.assert_allclose(curves.insertion_auc, [0.25 * (0 + 1 + 3 + 6 + 5)])  # 3.75
    assert curves.forwards == 8  # clean + baseline + 3 inner steps per curve: 2 · steps


def test_mean_baseline_fewer_steps_and_probability_output():
    curves = F.deletion_insertion(PixelSum(), IMAGE, MAP, target=1, steps=2, baseline="mean", output="logit",
                                  modes=("deletion",))
    np.testing.assert_allclose(curves.deletion, [[10, 2.5 + 2.5 + 3 + 4, 10]])  # 1, 2 replaced by the mean 2.5
    assert curves.insertion is None and curves.insertion_auc is None
    probability = F.deletion_insertion(PixelSum(), IMAGE, MAP, target=1, steps=4, baseline="zero")
    sigmoid = lambda v: 1 / (1 + math.exp(-v))  # noqa: E731  softmax of [0, s] picks sigmoid(s)
    np.testing.assert_allclose(probability.deletion, [[sigmoid(v) for v in (10, 9, 7, 4, 0)]], rtol=1e-6)


def test_patches_rank_by_their_sum_and_border_patches_are_partial():
    x = torch.arange(9.0).view(1, 1, 3, 3)
    maps = torch.tensor([[[0.0, 0.0, 5.0], [0.0, 0.0, 0.0], [1.0, 1.0, 1.0]]])
    ranks, count = F.feature_ranks(maps, patch=2)
    assert count == 4  # 2 x 2 patches, the right and bottom ones partial
    # patch sums: top-left 0, top-right 5, bottom-left 2, bottom-right 1 -> order TR, BL, BR, TL
    assert ranks.tolist() == [[[3, 3, 0], [3, 3, 0], [1, 1, 2]]]
    curves = F.deletion_insertion(PixelSum(), x, maps, target=1, steps=4, patch=2, baseline="zero", output="logit")
    np.testing.assert_allclose(curves.deletion, [[36, 36 - 2 - 5, 36 - 7 - 6 - 7, 36 - 20 - 8, 0]])


def test_ties_keep_raster_order_and_lerf_reverses():
    ranks, _ = F.feature_ranks(torch.tensor([[[1.0, 1.0], [2.0, 0.0]]]))
    assert ranks.tolist() == [[[1, 2], [0, 3]]]
    lerf, _ = F.feature_ranks(torch.tensor([[[1.0, 1.0], [2.0, 0.0]]]), order="lerf")
    assert lerf.tolist() == [[[1, 2], [3, 0]]]


@pytest.mark.parametrize("sigma", [1.0, 2.0])
def test_blur_matches_scipy_gaussian_filter(sigma):
    x = torch.randn(2, 3, 20, 17, generator=torch.Generator().manual_seed(0))
    ours = F.gaussian_blur(x, sigma).numpy()
    expected = ndimage.gaussian_filter(x.numpy().astype(np.float64), (0, 0, sigma, sigma), mode="nearest", truncate=3)
    np.testing.assert_allclose(ours, expected, atol=1e-5)
    assert F.baseline_image(x, "blur").shape == x.shape
    np.testing.assert_allclose(F.baseline_image(x, "mean")[0, 1], x[0, 1].mean().expand(20, 17), rtol=1e-6)


def test_imputation_of_one_pixel_is_the_weighted_mean_of_its_neighbours():
    image = torch.tensor([[[[0.0, 1.0, 0.0], [1.0, 9.0, 1.0], [0.0, 1.0, 3.0]]]])
    centre = torch.zeros(1, 3, 3, dtype=torch.bool)
    centre[0, 1, 1] = True
    imputed = F.noisy_linear_imputation(image, centre, noise=0.0)
    assert imputed[0, 0, 1, 1].item() == pytest.approx(4 / 6 + 3 / 12)  # edges 1/6 each, one corner 3/12
    corner = torch.zeros(1, 3, 3, dtype=torch.bool)
    corner[0, 0, 0] = True  # three neighbours in the image: s = 1/6 + 1/6 + 1/12 = 5/12
    imputed = F.noisy_linear_imputation(image, corner, noise=0.0)
    assert imputed[0, 0, 0, 0].item() == pytest.approx((1 / 6 + 1 / 6 + 9 / 12) / (5 / 12))
    assert torch.equal(imputed[~corner.unsqueeze(1)], image[~corner.unsqueeze(1)])


def test_imputation_of_two_neighbouring_pixels_solves_their_pair_of_equations():
    image = torch.arange(16.0).view(1, 1, 4, 4)
    removed = torch.zeros(1, 4, 4, dtype=torch.bool)
    removed[0, 1, 1] = removed[0, 1, 2] = True
    # v1 - v2/6 = b1, v2 - v1/6 = b2 with b = the kept neighbours' weighted sums (s = 1: all 8 neighbours inside)
    x = image[0, 0]
    b1 = (x[0, 1] + x[2, 1] + x[1, 0]) / 6 + (x[0, 0] + x[0, 2] + x[2, 0] + x[2, 2]) / 12
    b2 = (x[0, 2] + x[2, 2] + x[1, 3]) / 6 + (x[0, 1] + x[0, 3] + x[2, 1] + x[2, 3]) / 12
    expected = np.linalg.solve([[1, -1 / 6], [-1 / 6, 1]], [b1.item(), b2.item()])
    imputed = F.noisy_linear_imputation(image, removed, noise=0.0)
    np.testing.assert_allclose([imputed[0, 0, 1, 1].item(), imputed[0, 0, 1, 2].item()], expected, rtol=1e-6)
    noisy = F.noisy_linear_imputation(image, removed, noise=0.5, generator=torch.Generator().manual_seed(1))
    draws = 0.5 * torch.randn(2, 1, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    np.testing.assert_allclose([noisy[0, 0, 1, 1].item(), noisy[0, 0, 1, 2].item()], expected + draws[:, 0].numpy(),
                               rtol=1e-6)


def test_nested_dissection_keys_are_a_permutation():
    from medinterp_widgets.attribution.faithfulness.imputation_solvers import nested_dissection_keys

    keys = nested_dissection_keys(7, 5)
    assert sorted(keys.ravel().tolist()) == list(range(35))


@pytest.mark.parametrize("holes", ["large", "scattered"])
def test_both_imputation_solvers_agree(holes):
    from medinterp_widgets.attribution.faithfulness import imputation_solvers as solvers

    generator = torch.Generator().manual_seed(0)
    x = torch.randn(3, 2, 24, 20, generator=generator)
    scores = torch.rand(3, 24, 20, generator=generator)
    if holes == "large":
        scores = F.gaussian_blur(scores[:, None], 4.0)[:, 0]
    removed = scores > scores.flatten(1).quantile(0.4, dim=1)[:, None, None]  # 60 % removed
    direct = F.noisy_linear_imputation(x, removed, noise=0.0, solver="direct")
    cg = F.noisy_linear_imputation(x, removed, noise=0.0, solver="auto")
    np.testing.assert_allclose(cg.numpy(), direct.numpy(), atol=1e-4)  # CG: float32, relative residual 1e-5
    assert solvers._large_holes(removed.numpy()).tolist() == [holes == "large"] * 3  # DCT or Jacobi
    noisy = [F.noisy_linear_imputation(x, removed, solver=s, generator=torch.Generator().manual_seed(2))
             for s in ("direct", "auto")]
    np.testing.assert_allclose(noisy[0].numpy(), noisy[1].numpy(), atol=1e-4)  # same noise, pixel for pixel


def test_road_curves_on_the_pixel_sum():
    x = torch.tensor([[[[1.0, 1.0], [1.0, 5.0]]]])
    maps = torch.tensor([[[0.0, 1.0], [2.0, 3.0]]])
    result = F.road(PixelSum(), x, maps, target=1, percentages=[25, 50], noise=0.0, output="logit")
    # MoRF 25 %: the 5 (corner) is imputed from its three neighbours, all 1 -> sum 4
    # MoRF 50 %: 5 and the bottom-left 1; both impute to 1 (every kept value is 1) -> 4
    np.testing.assert_allclose(result.morf, [[4.0, 4.0]], rtol=1e-6)
    # LeRF 25 %: the top-left 1 -> (1/6 + 1/6 + 5/12) / (5/12) = 1.8 -> sum 8.8
    np.testing.assert_allclose(result.lerf[0, 0], 8 - 1 + 1.8, rtol=1e-6)
    np.testing.assert_allclose(result.score, (result.lerf - result.morf).mean(1))
    assert np.isnan(F.road(PixelSum(), x, maps, target=1, percentages=[25]).morf_correct).sum() == 0


def test_localisation_by_hand():
    maps = torch.tensor([[[4.0, 0.0, 0.0], [0.0, -2.0, 1.0], [0.0, 1.0, 0.0]]])
    mask = torch.tensor([[1, 0, 0], [0, 1, 0], [0, 0, 0]])
    scores = F.localisation(maps, mask, threshold=0.5)
    assert scores["pointing_game"].tolist() == [1.0]  # the maximum (4) is inside
    # bounding box of the mask = the top-left 2 x 2 block: positive mass 4 of 6
    assert scores["energy_pointing_game"][0] == pytest.approx(4 / 6)
    assert scores["relevance_mass"][0] == pytest.approx((4 - 2) / (4 - 2 + 1 + 1))  # raw values: 2 / 4
    assert F.relevance_mass(maps, mask, absolute=True)[0] == pytest.approx(6 / 8)
    assert scores["overlap"][0] == pytest.approx(4 / 6)
    assert scores["consistent_degree"][0] == pytest.approx(0.5)  # minmax >= 0.5 only at the 4: 1 of 2 mask pixels
    empty = F.localisation(maps, torch.zeros(3, 3))
    assert all(np.isnan(value[0]) for value in empty.values())
    assert F.pointing_game(maps, torch.tensor([[0, 0, 0], [0, 0, 1], [0, 0, 0]])).tolist() == [0.0]


def test_max_sensitivity_of_a_gradient_of_a_square():
    x = torch.randn(3, 1, 4, 4, generator=torch.Generator().manual_seed(2))
    radius, samples, seed = 0.1, 4, 7
    found = F.max_sensitivity(SquareSum(), x, method="saliency", target=0, radius=radius, samples=samples, seed=seed,
                              absolute=False)
    generator = torch.Generator().manual_seed(seed)
    noise = torch.stack([F.uniform_noise(tuple(x.shape), radius, generator) for _ in range(samples)])  # (n, B, ...)
    # ‖2(x + δ) - 2x‖ / ‖2x‖ = ‖δ‖ / ‖x‖
    expected = (noise.flatten(2).norm(dim=2) / x.flatten(1).norm(dim=1)).amax(0)
    np.testing.assert_allclose(found, expected.numpy(), rtol=1e-5)
    constant = F.max_sensitivity(PixelSum(), x, method="saliency", target=1, samples=2)
    np.testing.assert_allclose(constant, 0.0, atol=1e-7)  # d(Σx)/dx = 1 everywhere, whatever the noise


def test_randomisation_compares_with_the_fully_randomised_model():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), nn.ReLU(), nn.Conv2d(3, 3, 3, padding=1), nn.ReLU(),
                          nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(3, 2)).eval()
    x = torch.randn(2, 1, 12, 12, generator=torch.Generator().manual_seed(0))
    maps = attribute(model, x, method="saliency", target=1)
    result = F.randomisation(model, x, maps, method="saliency", target=1, seed=3)
    randomised = randomise_layers(model, randomisable_layers(model)[::-1], seed=3)
    other = attribute(randomised, x, method="saliency", target=1)
    rho, ssim = map_similarity(maps, other, absolute=True)
    np.testing.assert_allclose(result.similarity, rho)
    np.testing.assert_allclose(result.ssim, ssim)
    assert result.layers == ("6", "2", "0")  # every conv / linear layer, output side first
    expected = stats.spearmanr(maps[0].abs().flatten(), other[0].abs().flatten()).statistic
    assert result.similarity[0] == pytest.approx(expected)
    assert result.passed.tolist() == [bool(abs(s) < 0.5) for s in rho]
    strict = F.RandomisationResult(np.array([0.2, 0.6, np.nan, -0.7]), np.zeros(4), 0.5, ())
    assert strict.passed.tolist() == [True, False, True, False]


class ScaledEnergy(nn.Module):
    """Logits [0, Σ (w x)²] through a 1x1 conv: the gradient 2 w² x ranks pixels by |x| whatever w is."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 1, 1, bias=False)

    def forward(self, x):
        energy = (self.conv(x) ** 2).flatten(1).sum(1, keepdim=True)
        return torch.cat([torch.zeros_like(energy), energy], 1)


def test_a_map_fixed_by_the_input_fails_randomisation():
    x = torch.randn(2, 1, 6, 6, generator=torch.Generator().manual_seed(4))
    result = F.randomisation(ScaledEnergy(), x, method="saliency", target=1)
    np.testing.assert_allclose(result.similarity, 1.0)  # |2 w² x| and |2 w'² x| rank pixels alike
    assert result.passed.tolist() == [False, False]


def test_region_target_probability_is_the_mean_inside_the_region():
    class Seg(nn.Module):  # logits (B, 2, H, W) = [0, x]: probability of class 1 = sigmoid(x) per pixel
        def forward(self, x):
            return torch.cat([torch.zeros_like(x), x], 1)

    mask = torch.tensor([[[1.0, 1.0], [0.0, 0.0]]])
    curves = F.deletion_insertion(Seg(), IMAGE, MAP, target=RegionTarget(1, mask), steps=4, baseline="zero")
    sigmoid = torch.sigmoid
    first = ((sigmoid(torch.tensor(1.0)) + sigmoid(torch.tensor(2.0))) / 2).item()
    assert curves.deletion[0, 0] == pytest.approx(first, rel=1e-6)
    assert curves.deletion[0, -1] == pytest.approx(0.5, rel=1e-6)  # sigmoid(0) everywhere


def test_the_model_is_left_as_found_and_bad_arguments_are_named():
    model = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.BatchNorm2d(2), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                          nn.Flatten(), nn.Linear(2, 2)).train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    x = torch.randn(2, 1, 8, 8)
    maps = torch.rand(2, 8, 8)
    F.evaluate_maps(model, x, maps, target=ClassTarget(1), method="saliency", metrics=F.METRICS,
                    mask=torch.ones(8, 8), steps=4, road_percentages=[50], sensitivity_samples=2)
    assert model.training and all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert all(p.grad is None for p in model.parameters())
    with pytest.raises(ValueError, match="maps: got shape"):
        F.deletion_insertion(model, x, torch.rand(2, 7, 8), target=1)
    with pytest.raises(ValueError, match="NaN"):
        F.deletion_insertion(model, x, torch.full((2, 8, 8), float("nan")), target=1)
    with pytest.raises(ValueError, match="baseline"):
        F.deletion_insertion(model, x, maps, target=1, baseline="noise")
    with pytest.raises(ValueError, match="method"):
        F.evaluate_maps(model, x, maps, target=1, metrics=["randomisation"])
    with pytest.raises(ValueError, match="2-D only"):
        F.road(model, torch.randn(1, 1, 4, 4, 4), torch.rand(1, 4, 4, 4), target=1)


def test_cancellation_stops_between_steps():
    calls = []

    def stop():
        calls.append(1)
        return len(calls) > 2

    with pytest.raises(F.FaithfulnessCancelled):
        F.deletion_insertion(PixelSum(), IMAGE, MAP, target=1, steps=4, should_stop=stop)
    assert len(calls) == 3


def test_table_rows_per_method_and_per_sample():
    model = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                          nn.Linear(2, 2)).eval()
    x = torch.randn(3, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    maps = {"saliency": attribute(model, x, method="saliency", target=1), "custom": torch.rand(3, 8, 8)}
    rows = F.faithfulness_table(model, x, maps, target=1, mask=torch.ones(3, 8, 8), steps=4, road_percentages=[50])
    assert [row["method"] for row in rows] == ["saliency", "custom"] and rows[0]["n"] == 3
    assert {"deletion_auc", "insertion_auc", "road", "randomisation_passed", "pointing_game"} <= set(rows[0])
    assert "randomisation_passed" not in rows[1]  # not an engine method: its maps cannot be recomputed
    per_sample = F.faithfulness_table(model, x, maps, target=1, steps=4, road_percentages=[50], per_sample=True,
                                      metrics=["deletion"])
    assert len(per_sample) == 6 and set(per_sample[0]) == {"method", "sample", "deletion_auc"}
