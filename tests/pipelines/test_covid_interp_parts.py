"""covid-interp's training parts and evaluators on hand-checkable inputs and tiny folders."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
import torch
from torch import nn

from medinterp_widgets.data import CovidCtDataset, load_covid_ct
from medinterp_widgets.data.errors import DataFormatError
from medinterp_widgets.metrics import midpoint_threshold
from medinterp_widgets.models import AlexNetClassifier, SmallResNet
from medinterp_widgets.pipelines.covid_interp import Config, Preprocess, features, native_scores, strongest_neuron_maps
from medinterp_widgets.pipelines.covid_interp.augment import (
    AugmentedImages,
    degrade_resolution,
    random_affine,
    train_view,
)
from medinterp_widgets.pipelines.covid_interp.baseline import build_alexnet, stability
from medinterp_widgets.pipelines.covid_interp.classifier import recalibrate_batchnorm
from medinterp_widgets.pipelines.covid_interp.evaluate import (
    classification_scores,
    evaluate_covid_ct,
    evaluate_covid_lesions,
    load_model,
)
from medinterp_widgets.pipelines.covid_interp.preprocess import from_checkpoint_config
from medinterp_widgets.pipelines.covid_interp.ssl import nt_xent, simclr_pretrain
from medinterp_widgets.pipelines.covid_interp.texture import (
    TextureModel,
    fit_texture_model,
    texture_features,
    texture_model_from_checkpoint,
)
from medinterp_widgets.training.checkpoints import atomic_save, checkpoint_payload, load_checkpoint


def test_preprocess_intensities():
    images = torch.linspace(0, 1, 2 * 32 * 32).view(2, 1, 32, 32)
    z = Preprocess(32, "zscore").apply(images)
    assert z.shape == images.shape
    assert abs(float(z[0].mean())) < 1e-5 and float(z[0].std()) == pytest.approx(1, abs=1e-3)
    window = Preprocess(32, "window").apply(images)
    assert float(window.min()) == pytest.approx(-2.0) and float(window.max()) == pytest.approx(2.0)  # (0|1 - .5)/.25
    equal = Preprocess(32, "equalize").apply(images ** 4)  # equalised: about uniform on 0..1, then scaled
    assert abs(float(equal.mean())) < 0.1 and float(equal.max()) == pytest.approx(0.5 / 0.29, abs=1e-4)
    with pytest.raises(ValueError, match="expected 32 x 32"):
        Preprocess(32).apply(torch.zeros(1, 1, 16, 16))
    with pytest.raises(ValueError, match="intensity"):
        Preprocess(32, "gamma")


def test_preprocess_round_trips_through_a_checkpoint_config():
    stored = {"extra": {"preprocess": Preprocess(48, "window").to_dict()}}
    assert from_checkpoint_config(stored) == Preprocess(48, "window")
    mirrored = {"extra": {"preprocess": Preprocess(48, test_time="mirror").to_dict()}}
    assert from_checkpoint_config(mirrored).test_time == "mirror"
    with pytest.raises(DataFormatError, match="ckpt.pt: config.extra.preprocess: preprocess test_time"):
        from_checkpoint_config({"extra": {"preprocess": {"size": 48, "test_time": "d4"}}}, "ckpt.pt")
    assert from_checkpoint_config({"extra": {"input_size": [40, 40], "input_normalize": "zscore"}}) == Preprocess(40)
    with pytest.raises(DataFormatError, match="ckpt.pt: config.extra has neither"):
        from_checkpoint_config({}, "ckpt.pt")
    with pytest.raises(DataFormatError, match="preprocess: preprocess intensity"):
        from_checkpoint_config({"extra": {"preprocess": {"size": 48, "intensity": "gamma"}}})


def test_identity_affine_keeps_the_image_and_augmentation_is_seeded():
    x = torch.rand(3, 1, 16, 16)
    same = random_affine(x, torch.Generator().manual_seed(0), degrees=0, zoom=(1, 1), shift=0, flip=False)
    torch.testing.assert_close(same, x, atol=1e-5, rtol=0)
    first = train_view(x, 1.0, torch.Generator().manual_seed(1))
    again = train_view(x, 1.0, torch.Generator().manual_seed(1))
    torch.testing.assert_close(first, again)
    assert not torch.allclose(first, x) and torch.equal(train_view(x, 0.0), x)
    items = AugmentedImages(x, torch.tensor([0, 1, 1]), [2, 0], Preprocess(16), strength=0.0)
    assert len(items) == 2 and int(items[0]["label"]) == 1
    torch.testing.assert_close(items[0]["image"], Preprocess(16).apply(x[2:3])[0])
    moved = AugmentedImages(x, torch.tensor([0, 1, 1]), [2, 0], Preprocess(16), strength=1.0)[0]["image"]
    assert moved.shape == (1, 16, 16) and not torch.allclose(moved, items[0]["image"])


def test_degrade_resolution_by_hand():
    """An 8 x 8 picture of 2-pixel stripes at scale ~0.55: area to 4 x 4 gives the stripe means, bilinear back
    to 8 x 8 (half-pixel centres, edges clamped) gives 1/4-3/4 blends between them."""
    x = torch.tensor([[0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0]] * 8).view(1, 1, 8, 8)
    out = degrade_resolution(x, probability=1.0, min_scale=0.5, generator=torch.Generator().manual_seed(3))
    scale = 0.5 + 0.5 * float(torch.rand(2, generator=torch.Generator().manual_seed(3))[1])  # draws: chosen, scale
    assert round(8 * scale) == 4  # seed 3 draws a 4 x 4 intermediate
    torch.testing.assert_close(out[0, 0, 0], torch.tensor([0.0, 0.25, 0.75, 0.75, 0.25, 0.25, 0.75, 1.0]))
    assert torch.equal(degrade_resolution(x, probability=0.0), x)
    torch.testing.assert_close(degrade_resolution(x, probability=1.0, min_scale=1.0), x)
    seeded = [degrade_resolution(torch.rand(3, 1, 16, 16, generator=torch.Generator().manual_seed(2)), 0.5, 0.4,
                                 torch.Generator().manual_seed(3)) for _ in range(2)]
    torch.testing.assert_close(*seeded)


def test_nt_xent_of_two_orthogonal_images():
    """z = [e1, e2, e1, e2]: each view's partner has similarity 1/t, its two negatives 0, itself is masked."""
    z = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [0.0, 1.0]])
    t = 0.5
    expected = -math.log(math.exp(1 / t) / (math.exp(1 / t) + 2.0))
    assert float(nt_xent(z, t)) == pytest.approx(expected, rel=1e-6)


def test_simclr_pretraining_runs_and_lowers_its_loss():
    torch.manual_seed(0)
    encoder = SmallResNet(widths=(4, 4, 8, 8))
    images = torch.rand(16, 1, 32, 32)
    history = simclr_pretrain(encoder, images, epochs=3, batch_size=8, lr=3e-3, seed=0)
    assert [row["epoch"] for row in history] == [1, 2, 3] and all(np.isfinite(r["loss"]) for r in history)
    assert simclr_pretrain(encoder, images, epochs=5, batch_size=8, max_steps=1)[-1]["epoch"] == 1


def test_batchnorm_is_re_estimated_on_the_given_inputs():
    model = nn.Sequential(nn.Conv2d(1, 2, 1, bias=False), nn.BatchNorm2d(2)).eval()
    with torch.no_grad():
        model[0].weight.fill_(1.0)
    inputs = torch.full((6, 1, 4, 4), 3.0) + torch.arange(6.0).view(6, 1, 1, 1)  # mean 5.5
    recalibrate_batchnorm(model, inputs, batch_size=3)  # two equal batches: the mean of their means
    assert not model.training and model[1].momentum == 0.1
    torch.testing.assert_close(model[1].running_mean, torch.full((2,), 5.5))


def test_paper_alexnet_has_96_filters_and_he_initialised_layers():
    config = Config.from_preset("paper", alexnet_hidden=32)
    model = build_alexnet(config)
    assert model.features[0].weight.shape == (96, 1, 11, 11) and model.init_kwargs["channels"][0] == 96
    fan_in = 96 * 5 * 5
    assert float(model.features[3].weight.detach().std()) == pytest.approx(math.sqrt(2 / fan_in), rel=0.05)
    assert float(model.classifier[6].weight.detach().std()) == pytest.approx(0.01, rel=0.2)
    assert model.avgpool(model.features(torch.rand(1, 1, 112, 112))).numel() == 9216  # pool5


def test_stability_flags_a_one_class_fold():
    labels = torch.tensor([0] * 6 + [1] * 4)
    good = {"val": {"sensitivity": 0.7, "specificity": 0.8}, "train": {"accuracy": 0.9}}
    stuck = {"val": {"sensitivity": 0.0, "specificity": 1.0}, "train": {"accuracy": 0.61}}
    assert not stability(good, good, labels)["stuck"]
    flagged = stability(stuck, stuck, labels)
    assert flagged["stuck"] and "one class" in flagged["reason"] and "majority share 0.60" in flagged["reason"]


def test_native_scores_resize_the_map_to_each_mask():
    same = np.zeros((20, 30), np.float32)
    same[:, :15] = 1.0  # left half, already the mask's size
    lesion = np.zeros((20, 30), np.uint8)
    lesion[5:15, 10:20] = 1  # 100 pixels, half of them in the left half
    small = np.zeros((8, 8), np.float32)
    small[:, :4] = 1.0  # resized to 20 x 30: the left ~40-60 % stays above 0.7
    left = np.zeros((20, 30), np.uint8)
    left[5:15, 0:6] = 1
    degrees, areas = native_scores([same, small], [lesion, left])
    assert degrees[0] == pytest.approx(0.5) and areas[0] == pytest.approx(0.5)
    assert degrees[1] == pytest.approx(1.0) and 0.4 <= areas[1] <= 0.6


def test_strongest_neuron_maps_cover_every_image_and_layer():
    model = AlexNetClassifier(in_channels=1, width=2, hidden=8)
    rows = strongest_neuron_maps(model, torch.rand(2, 1, 64, 64))
    assert len(rows) == 2 * 5 and rows[0]["map"].shape == (64, 64) and {r["image"] for r in rows} == {0, 1}


def _tiny_checkpoint(path, size=32, **stored) -> str:
    torch.manual_seed(0)
    model = SmallResNet(widths=(2, 2, 4, 4))
    extra = {"preprocess": Preprocess(size, "window").to_dict(), "cam_layer": "stages.2", "cam_threshold": 0.7,
             **stored}
    atomic_save(checkpoint_payload(model, config={"num_classes": 2, "extra": extra}, epoch=3), path)
    return str(path)


def _write(path, image):
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), image)


def test_covid_ct_evaluator_reads_the_checkpoints_preprocessing(tmp_path):
    rng = np.random.default_rng(0)
    for folder, count in (("CT_COVID", 3), ("CT_NonCOVID", 2)):
        for i in range(count):
            _write(tmp_path / "ct" / folder / f"{i}.png", rng.integers(0, 255, (40, 50), dtype=np.uint8))
    result = evaluate_covid_ct(_tiny_checkpoint(tmp_path / "c.pt"), tmp_path / "ct", device="cpu")
    assert result["n"] == 5 and result["n_covid"] == 3
    assert result["preprocess"] == {"size": 32, "intensity": "window", "lungs": False, "test_time": "none"}
    assert set(result) >= {"accuracy", "auc", "sensitivity", "specificity", "ppv", "npv", "loss"}
    assert 0.0 <= result["accuracy"] <= 1.0 and result["epoch"] == 3


def test_midpoint_threshold_and_scores_at_a_threshold_by_hand():
    labels, p = np.array([1, 1, 0, 0]), np.array([0.9, 0.52, 0.2, 0.54])
    # class means 0.71 and 0.37 -> t = 0.54; a missing class falls back to 0.5
    assert midpoint_threshold(labels, p) == pytest.approx(0.54)
    assert midpoint_threshold(np.array([1, 1]), np.array([0.9, 0.8])) == 0.5
    at_half = classification_scores(labels, p)  # calls 1, 1, 0, 1
    assert (at_half["sensitivity"], at_half["specificity"], at_half["threshold"]) == (1.0, 0.5, 0.5)
    at_55 = classification_scores(labels, p, 0.55)  # calls 1, 0, 0, 0
    assert (at_55["accuracy"], at_55["sensitivity"], at_55["specificity"], at_55["ppv"]) == (0.75, 0.5, 1.0, 1.0)
    assert at_55["auc"] == at_half["auc"] == 0.75


def _ct_folder(root):
    rng = np.random.default_rng(0)
    for folder, count in (("CT_COVID", 3), ("CT_NonCOVID", 2)):
        for i in range(count):
            _write(root / folder / f"{i}.png", rng.integers(0, 255, (40, 50), dtype=np.uint8))
    return root


def test_covid_ct_evaluator_calls_at_the_stored_decision_threshold(tmp_path):
    folder = _ct_folder(tmp_path / "ct")
    plain = evaluate_covid_ct(_tiny_checkpoint(tmp_path / "a.pt"), folder, device="cpu")
    assert plain["threshold"] == 0.5  # a checkpoint that stores none
    low = evaluate_covid_ct(_tiny_checkpoint(tmp_path / "b.pt", decision_threshold=0.001), folder, device="cpu")
    high = evaluate_covid_ct(_tiny_checkpoint(tmp_path / "c.pt", decision_threshold=0.999), folder, device="cpu")
    assert (low["threshold"], low["sensitivity"], low["specificity"]) == (0.001, 1.0, 0.0)
    assert (high["sensitivity"], high["specificity"]) == (0.0, 1.0)
    assert low["auc"] == high["auc"] == plain["auc"]


@pytest.mark.parametrize("bad", [1.5, 0.0, "0.6", True, None])
def test_covid_ct_evaluator_refuses_a_bad_stored_threshold(tmp_path, bad):
    checkpoint = _tiny_checkpoint(tmp_path / "bad.pt", decision_threshold=bad)
    with pytest.raises(ValueError, match=r"bad\.pt.*decision_threshold"):
        evaluate_covid_ct(checkpoint, _ct_folder(tmp_path / "ct"), device="cpu")


def test_config_refuses_an_unknown_decision_rule():
    with pytest.raises(ValueError, match="decision_rule"):
        Config(decision_rule="youden")
    with pytest.raises(ValueError, match="test_time"):
        Config(test_time="flips")
    with pytest.raises(ValueError, match="deep_svm_scaling"):
        Config(deep_svm_scaling="minmax")
    with pytest.raises(ValueError, match="deep_svm_kernel"):
        Config(deep_svm_kernel="laplace")


def test_covid_ct_evaluator_averages_the_mirror_when_the_checkpoint_says_so(tmp_path):
    folder = _ct_folder(tmp_path / "ct")
    checkpoint = tmp_path / "m.pt"
    _tiny_checkpoint(checkpoint)
    payload = load_checkpoint(checkpoint)
    payload["config"]["extra"]["preprocess"]["test_time"] = "mirror"
    atomic_save(payload, checkpoint)
    result = evaluate_covid_ct(str(checkpoint), folder, device="cpu")
    assert result["preprocess"]["test_time"] == "mirror"
    model, preprocess, _ = load_model(checkpoint)
    items = load_covid_ct(folder, merge_near_duplicates=False)
    dataset = CovidCtDataset(items, size=(32, 32))
    inputs = preprocess.apply(torch.stack([dataset[i]["image"] for i in range(len(dataset))]))
    with torch.no_grad():  # P(COVID) of the image and of its mirror, averaged by hand
        p = (torch.softmax(model(inputs), 1)[:, 1] + torch.softmax(model(inputs.flip(-1)), 1)[:, 1]).numpy() / 2
    expected = classification_scores(np.array([item.label for item in items]), p)
    assert result["loss"] == pytest.approx(expected["loss"], abs=1e-6) and result["auc"] == expected["auc"]
    plain = evaluate_covid_ct(_tiny_checkpoint(tmp_path / "p.pt"), folder, device="cpu")
    assert plain["loss"] != pytest.approx(result["loss"], abs=1e-6)


@pytest.mark.parametrize("layout", ["LungInfection-Test", "LungInfection-Train/Doctor-label", "MultiClassInfection-X"])
def test_lesion_evaluator_takes_any_split_folder(tmp_path, layout):
    rng = np.random.default_rng(1)
    folder = tmp_path / "medseg" / layout
    for case in range(3):
        _write(folder / "Imgs" / f"{case}.jpg", rng.integers(0, 255, (30, 26), dtype=np.uint8))
        mask = np.zeros((30, 26), np.uint8)
        mask[5:12, 4:15] = 1 if "MultiClass" in layout else 255
        _write(folder / "GT" / f"{case}.png", mask)
    checkpoint = _tiny_checkpoint(tmp_path / "c.pt")
    for root in (tmp_path / "medseg", tmp_path / "medseg" / layout.split("/")[0]):
        result = evaluate_covid_lesions(checkpoint, root, device="cpu")
        assert result["n"] == 3 and result["cam_layer"] == "stages.2"
        assert 0.0 <= result["consistent_degree_mean"] <= 1.0 and 0.0 < result["chance_support_area"] <= 1.0
        assert 0.0 <= result["p_covid_mean"] <= 1.0 and 0.0 < result["chance_in_lungs"] <= 1.0
        assert result["degree_over_lung_chance"] == pytest.approx(
            result["consistent_degree_mean"] / result["chance_in_lungs"])
        assert 0.0 <= result["support_in_lungs"] <= 1.0 or math.isnan(result["support_in_lungs"])


def test_topk_head_pools_the_largest_evidence_cells():
    """evidence m = channel 0 of the feature map: cells 1, 2, 3, 4; top 50 % -> s = 3.5, logits (-s/2, s/2)."""
    model = SmallResNet(widths=(2, 2, 2, 2), pooling="topk", topk_fraction=0.5).eval()
    with torch.no_grad():
        model.head[1].weight.zero_()
        model.head[1].weight[0, 0] = 1.0
        model.head[1].bias.zero_()
    features = torch.zeros(1, 2, 2, 2)
    features[0, 0] = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    model.feature_map = lambda x: features  # the stages are not under test here
    torch.testing.assert_close(model(torch.zeros(1, 1, 32, 32)), torch.tensor([[-1.75, 1.75]]))
    with pytest.raises(ValueError, match="topk"):
        SmallResNet(n_classes=3, pooling="topk")


def test_lung_field_keeps_dark_cells_and_the_gate_zeroes_the_rest():
    from medinterp_widgets.models.resnet import lung_field

    image = torch.ones(1, 1, 32, 32)
    image[..., :, :16] = -1.0  # left half dark (lung), right half bright (mediastinum)
    cells = lung_field(image, (2, 2))
    torch.testing.assert_close(cells, torch.tensor([[[[1.0, 0.0], [1.0, 0.0]]]]))
    model = SmallResNet(widths=(2, 2, 2, 2), pooling="topk", topk_fraction=0.5, lung_gate=True).eval()
    assert model.cam_layer_name == "gate"
    gated = model.gate(torch.ones(1, 3, 2, 2), image)
    torch.testing.assert_close(gated[0, :, :, 1], torch.zeros(3, 2))
    assert model.gate(torch.ones(1, 3, 2, 2), image, min_cells=3).sum() == 12  # too few lung cells: all kept
    with pytest.raises(ValueError, match="lung_gate"):
        SmallResNet(lung_gate=True)  # needs top-k pooling


def test_simulated_lesion_pretraining_learns_lesion_cells():
    from medinterp_widgets.pipelines.covid_interp import synthetic

    torch.manual_seed(0)
    model = SmallResNet(widths=(4, 4, 8, 8), pooling="topk", topk_fraction=0.25, lung_gate=True)
    inputs, labels, masks = synthetic.simulated_set(16, 64, Preprocess(64), seed=0)
    assert inputs.shape == masks.shape == (16, 1, 64, 64) and set(labels.tolist()) == {0, 1}
    history = synthetic.lesion_pretrain(model, inputs, labels, masks, epochs=3, batch_size=8, lr=3e-3)
    assert len(history) == 3 and all(np.isfinite(row["loss"]) for row in history)
    image, lesion = synthetic.simulated_views(inputs[:2], masks[:2], torch.Generator().manual_seed(0))
    assert image.shape == lesion.shape and set(lesion.unique().tolist()) <= {0.0, 1.0}


def test_consistent_degree_and_its_chance_levels_on_a_hand_computed_map():
    from medinterp_widgets.pipelines.covid_interp.interpret import chance_in_lungs, native_lung_chance

    heat = np.zeros((4, 4), np.float32)
    heat[0, 0], heat[0, 1], heat[1, 0] = 1.0, 0.8, 0.5  # min-max unchanged; S = {>= 0.7} = (0, 0), (0, 1)
    lesion = np.zeros((4, 4), np.uint8)
    lesion[0, 0] = lesion[1, 0] = lesion[1, 1] = lesion[2, 2] = 1  # |L| = 4, S ∩ L = (0, 0)
    field = np.zeros((4, 4), bool)
    field[:2] = True  # |F| = 8, L ∩ F = 3
    degrees, areas = native_scores(heat[None], [lesion], 0.7)
    assert degrees[0] == pytest.approx(1 / 4) and areas[0] == pytest.approx(2 / 16)  # |S| / N
    chance, inside = native_lung_chance(heat[None], [lesion], field[None])
    assert chance[0] == pytest.approx(2 / 8 * 3 / 4) and inside[0] == 1.0  # both support pixels are in row 0
    assert native_lung_chance(heat[None], [lesion], ~field[None])[1][0] == 0.0
    # |S| = 10 > |F| = 8: all of F, then 2 of the 8 outside pixels: (3 + 2 / 8 * 1) / 4
    assert chance_in_lungs(10, lesion, field) == pytest.approx((3 + 0.25) / 4)
    assert chance_in_lungs(16, lesion, field) == pytest.approx(1.0)
    assert math.isnan(chance_in_lungs(2, np.zeros((4, 4)), field))


def _chest_picture(size: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """A grey body ellipse on black with two dark lung ellipses: (picture 0..1, true lungs)."""
    picture = np.zeros((size, size), np.float32)
    cv2.ellipse(picture, (size // 2, size // 2), (size // 2 - 4, size // 2 - 10), 0, 0, 360, 0.8, -1)
    lungs = np.zeros((size, size), np.uint8)
    for centre in (size // 2 - 13, size // 2 + 13):
        cv2.ellipse(lungs, (centre, size // 2), (9, 14), 0, 0, 360, 1, -1)
    picture[lungs > 0] = 0.1
    return picture, lungs > 0


def test_lung_mask_finds_the_lungs_and_lung_focus_blanks_the_rest():
    from medinterp_widgets.pipelines.covid_interp.lungs import lung_mask

    picture, lungs = _chest_picture()
    found = lung_mask(picture)
    assert found[lungs].mean() == 1.0  # every lung pixel, plus a thin margin
    assert found.sum() < 1.5 * lungs.sum() and not found[:, :3].any()  # not the air around the body
    assert lung_mask(np.full((16, 16), 0.5, np.float32)).all()  # nothing to find: keep everything
    images = torch.from_numpy(picture)[None, None]
    focused = Preprocess(64, "zscore", lungs=True).apply(images)
    plain = Preprocess(64, "zscore").apply(images)
    torch.testing.assert_close(focused[0, 0][torch.from_numpy(found)], plain[0, 0][torch.from_numpy(found)])
    outside = focused[0, 0][torch.from_numpy(~found)]
    assert torch.allclose(outside, plain[0, 0][torch.from_numpy(found)].mean().expand_as(outside))
    stored = {"extra": {"preprocess": Preprocess(64, "zscore", lungs=True).to_dict()}}
    assert from_checkpoint_config(stored).lungs is True
    with pytest.raises(DataFormatError, match="lungs: expected true or false"):
        from_checkpoint_config({"extra": {"preprocess": {"size": 64, "lungs": "yes"}}})


def test_texture_term_by_hand():
    term = TextureModel(size=32, points=8, radii=(1.0,), mean=np.array([0.0, 1.0]), scale=np.array([1.0, 2.0]),
                        coef=np.array([1.0, -1.0]), intercept=0.5, weight=0.25)
    # z = ((1 - 0) / 1, (3 - 1) / 2) = (1, 1); logit = 1 - 1 + 0.5; p_tex = 1 / (1 + e^-0.5) = 0.6224593
    assert term.p_covid(np.array([[1.0, 3.0]]))[0] == pytest.approx(0.6224593, abs=1e-7)
    assert term.blend(np.array([0.2]), np.array([[1.0, 3.0]]))[0] == pytest.approx(0.75 * 0.2 + 0.25 * 0.6224593)


def test_texture_term_equals_sklearns_pipeline_and_round_trips_through_a_checkpoint(tmp_path):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(0)
    histograms = rng.dirichlet(np.ones(59), size=40)
    histograms[:, 58] = 0.01  # a constant bin: scale 1, no division by zero
    labels = (histograms[:, 0] + 0.02 * rng.standard_normal(40) > np.median(histograms[:, 0])).astype(int)
    term = fit_texture_model(histograms, labels, size=32, points=8, radii=(1.0,), weight=0.5, c=0.7)
    reference = make_pipeline(StandardScaler(), LogisticRegression(C=0.7, max_iter=2000)).fit(histograms, labels)
    assert np.allclose(term.p_covid(histograms), reference.predict_proba(histograms)[:, 1], atol=1e-9)
    checkpoint = _tiny_checkpoint(tmp_path / "t.pt", texture_model=term.to_dict())
    loaded = texture_model_from_checkpoint(load_checkpoint(checkpoint), checkpoint)
    assert np.allclose(loaded.p_covid(histograms), term.p_covid(histograms), atol=1e-12) and loaded.weight == 0.5
    assert texture_model_from_checkpoint(load_checkpoint(_tiny_checkpoint(tmp_path / "n.pt")), "n.pt") is None
    groups = [f"source{i // 4}" for i in range(40)]  # C by an inner CV grouped by source: one of the grid's
    chosen = fit_texture_model(histograms, labels, size=32, points=8, radii=(1.0,), weight=0.5, c=(0.1, 10.0),
                               groups=groups)
    assert chosen.c in (0.1, 10.0) and chosen.to_dict()["c"] == chosen.c
    with pytest.raises(ValueError, match="groups"):
        fit_texture_model(histograms, labels, size=32, points=8, radii=(1.0,), weight=0.5, c=(0.1, 10.0))


@pytest.mark.parametrize("field, bad", [("weight", 1.5), ("coef", [0.0] * 58), ("mean", [float("nan")] * 59),
                                        ("scale", [0.0] * 59), ("intercept", "1"), ("points", 8.0),
                                        ("features", "haralick"), ("size", 4), ("radii", [1.0, -2.0]),
                                        ("radii", 1.0), ("region", "body")])
def test_covid_ct_evaluator_refuses_a_bad_texture_model(tmp_path, field, bad):
    term = fit_texture_model(np.random.default_rng(1).dirichlet(np.ones(59), size=8), np.array([0, 1] * 4),
                             size=32, points=8, radii=(1.0,), weight=0.5)
    checkpoint = _tiny_checkpoint(tmp_path / "bad.pt", texture_model={**term.to_dict(), field: bad})
    with pytest.raises(ValueError, match=rf"bad\.pt: config\.extra\.texture_model.*{field}"):
        evaluate_covid_ct(checkpoint, _ct_folder(tmp_path / "ct"), device="cpu")


def test_covid_ct_evaluator_scores_a_trained_fold_as_the_pipeline(tmp_path):
    """One fold trained with the texture term on a real folder of PNGs; evaluate on the same images gives the
    pipeline's own validation scores."""
    from medinterp_widgets.pipelines.covid_interp import classifier
    from medinterp_widgets.pipelines.covid_interp.data import load_image_set

    rng = np.random.default_rng(3)
    for i in range(16):  # independent noise (no near-duplicate groups merge); COVID images smoother
        label, picture = i % 2, rng.integers(0, 256, (80, 80)).astype(np.uint8)
        picture = cv2.GaussianBlur(picture, (5, 5), 1.5) if label else picture
        name = f"paper{i}-p1-1.png" if label else f"{10 * i}.png"  # one source group per image
        _write(tmp_path / "covid_ct" / ("CT_COVID" if label else "CT_NonCOVID") / name, picture)
    config = Config.from_preset("smoke", data_root=str(tmp_path), lesion_weight=0.0, image_size=48, lbp_size=40,
                                texture_radii=(1.0, 2.0), texture_region="lungs")
    images = load_image_set(tmp_path, config.image_size)
    texture = texture_features(load_image_set(tmp_path, config.lbp_size).images, 8, config.texture_radii, "lungs")
    everything = np.arange(len(images))
    result = classifier.train_classifier_fold(config, images, everything, everything, 0, tmp_path / "run",
                                              texture=texture)
    assert result["cnn_scores"]["auc"] != result["scores"]["auc"] or result["cnn_scores"] != result["scores"]
    stored = load_checkpoint(result["checkpoint"])["config"]["extra"]
    assert stored["texture_model"]["size"] == 40 and stored["texture_model"]["weight"] == config.texture_weight
    assert stored["texture_model"]["radii"] == [1.0, 2.0] and len(stored["texture_model"]["coef"]) == 2 * 59
    assert stored["texture_model"]["region"] == "lungs"
    scored = evaluate_covid_ct(result["checkpoint"], tmp_path / "covid_ct", device="cpu")
    assert scored["texture_weight"] == config.texture_weight and scored["n"] == len(images)
    for key in ("accuracy", "auc", "sensitivity", "specificity", "loss", "threshold"):
        assert scored[key] == pytest.approx(result["scores"][key], abs=1e-6), key


def test_lbp_histogram_counts_only_the_masked_pixels():
    rng = np.random.default_rng(0)
    image = np.zeros((20, 20))
    image[:, 10:] = rng.random((20, 10))  # left half flat, right half noise
    mask = np.zeros((20, 20), bool)
    mask[2:18, 2:8] = True  # inside the flat half: every code there is the flat neighbourhood's
    flat = features.lbp_histogram(np.zeros((20, 20)))
    assert flat.max() == 1.0
    assert np.array_equal(features.lbp_histogram(image, mask=mask), flat)
    assert not np.array_equal(features.lbp_histogram(image), flat)
    assert np.array_equal(features.lbp_histogram(image, mask=np.zeros((20, 20), bool)), features.lbp_histogram(image))
