"""covid-interp building blocks on hand-checkable inputs."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from medinterp_widgets.attribution import LayerOutput
from medinterp_widgets.models import AlexNetClassifier
from medinterp_widgets.pipelines.covid_interp import (
    Config,
    CovidReport,
    consistent_degrees,
    conv_activation_layers,
    deep_features,
    first_layer_filters,
    lbp_histogram,
    load_arrays,
    neuron_guided_backprop,
    summarise_folds,
    svm_scores,
)
from medinterp_widgets.pipelines.covid_interp.features import lbp_bins
from medinterp_widgets.pipelines.covid_interp.tables import curve_rows


def _hook_count(model: nn.Module) -> int:
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) + len(m._backward_hooks) for m in model.modules())


def test_lbp_has_59_uniform_codes_and_a_flat_image_uses_one():
    assert lbp_bins(8) == 59
    flat = lbp_histogram(np.full((16, 16), 0.5, np.float32))
    assert flat.shape == (59,) and flat.sum() == pytest.approx(1.0)
    assert flat.max() == pytest.approx(14 * 14 / 256)  # every interior pixel sees one (all >= centre) pattern
    texture = lbp_histogram(np.random.default_rng(0).random((32, 32)))
    assert np.count_nonzero(texture) > 20 and texture.sum() == pytest.approx(1.0)


def test_svm_separates_separable_features():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(-3, 0.5, (20, 4)), rng.normal(3, 0.5, (20, 4))])
    y = np.repeat([0, 1], 20)
    rates = svm_scores(x[::2], y[::2], x[1::2], y[1::2])
    assert rates == {"accuracy": 1.0, "sensitivity": 1.0, "specificity": 1.0, "ppv": 1.0, "npv": 1.0, "c": 1.0}


def test_l2_scaled_svm_reads_only_each_rows_direction():
    rng = np.random.default_rng(0)
    # class 0 points along (1, 0.2), class 1 along (0.2, 1), lengths from 0.01 to 100: a direction, not a size
    lengths = 10.0 ** rng.uniform(-2, 2, 40)
    x = np.stack([np.where(np.arange(40) < 20, 1.0, 0.2), np.where(np.arange(40) < 20, 0.2, 1.0)], 1) * lengths[:, None]
    x += rng.normal(0, 0.01, x.shape) * lengths[:, None]
    y = np.repeat([0, 1], 20)
    rates = svm_scores(x[::2], y[::2], x[1::2], y[1::2], scaling="l2", kernel="linear")
    assert rates["accuracy"] == 1.0
    rescaled = svm_scores(x[::2], y[::2], x[1::2] * 1000.0, y[1::2], scaling="l2", kernel="linear")
    assert rescaled == rates  # x / ||x||: the test rows' lengths do not matter
    with pytest.raises(ValueError, match="scaling 'minmax'"):
        svm_scores(x[::2], y[::2], x[1::2], y[1::2], scaling="minmax")


def test_svm_chooses_c_by_grouped_inner_cv_on_the_training_rows_only():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(-1, 1.0, (30, 3)), rng.normal(1, 1.0, (30, 3))])
    y = np.repeat([0, 1], 30)
    groups = [f"g{i // 2}" for i in range(60)]  # pairs share a source
    train = np.r_[0:20, 30:50]
    test = np.r_[20:30, 50:60]
    rates = svm_scores(x[train], y[train], x[test], y[test], c=(0.01, 1.0, 100.0), groups=[groups[i] for i in train])
    assert rates["c"] in (0.01, 1.0, 100.0) and 0.0 <= rates["accuracy"] <= 1.0
    with pytest.raises(ValueError, match="needs the training rows' groups"):
        svm_scores(x[train], y[train], x[test], y[test], c=(0.1, 1.0))


def test_fold_summary_is_mean_and_sample_sd():
    folds = [dict(accuracy=0.5, sensitivity=1.0, specificity=0.0, ppv=0.5, npv=float("nan")),
             dict(accuracy=0.7, sensitivity=1.0, specificity=0.4, ppv=0.5, npv=0.8)]
    summary = summarise_folds(folds)
    assert summary["accuracy"][0] == pytest.approx(0.6)
    assert summary["accuracy"][1] == pytest.approx(np.std([0.5, 0.7], ddof=1))
    assert summary["npv"] == (0.8, 0.0)  # the NaN fold is left out
    assert summary["accuracy"][1] == pytest.approx(0.1414, abs=1e-4)


def test_deep_features_come_from_the_hooked_layer_and_leave_the_model_as_found():
    model = AlexNetClassifier(in_channels=1, width=2, hidden=8).train()
    images = torch.rand(5, 1, 64, 64)
    found = deep_features(model, images, "classifier.5", batch_size=2)
    assert found.shape == (5, 8) and (found >= 0).all()  # after a ReLU
    assert model.training and _hook_count(model) == 0


def test_conv_layers_of_alexnet_and_first_filters():
    model = AlexNetClassifier(in_channels=1, width=2, hidden=8)
    assert conv_activation_layers(model) == [f"features.{i}" for i in (1, 4, 7, 9, 11)]
    assert first_layer_filters(model).shape == (2, 11, 11)


def test_hidden_neuron_guided_backprop_on_a_one_by_one_conv():
    """a = relu(2 x): the strongest neuron of channel 0 sits at the brightest pixel; d a / d x = 2 there."""
    model = nn.Sequential(nn.Conv2d(1, 1, 1, bias=False), nn.ReLU())
    with torch.no_grad():
        model[0].weight.fill_(2.0)
    x = torch.rand(1, 1, 6, 7) + 0.1
    assert tuple(LayerOutput(model, "1")(x).shape) == (1, 1, 6, 7)
    gradient = neuron_guided_backprop(model, x, "1", 0)
    expected = np.zeros((6, 7), np.float32)
    expected[np.unravel_index(int(x.argmax()), (6, 7))] = 2.0
    np.testing.assert_allclose(gradient, expected, atol=1e-6)
    assert _hook_count(model) == 0


def test_consistent_degree_of_a_map_covering_half_the_lesion():
    heat = np.zeros((1, 8, 8))
    heat[0, :, :4] = 1.0  # support: left half of the image
    lesion = np.zeros((1, 8, 8), np.uint8)
    lesion[0, 2:6, 2:6] = 1  # 16 pixels, 8 of them in the left half
    degrees, areas = consistent_degrees(heat, lesion, threshold=0.7)
    assert degrees[0] == pytest.approx(0.5) and areas[0] == pytest.approx(0.5)


def test_presets_and_overrides():
    smoke = Config.from_preset("smoke", seed=3, data_root=None)
    assert smoke.preset == "smoke" and smoke.seed == 3 and smoke.folds_to_run == 1
    full, paper = Config.from_preset("full"), Config.from_preset("paper")
    assert full.alexnet_size == 224 and full.alexnet_hidden == 4096 and full.folds_to_run is None
    assert paper.alexnet_channels[0] == 96 and paper.alexnet_epochs == 50 and paper.folds == 5
    with pytest.raises(ValueError, match="ablations"):
        Config.from_preset("quick", ablations=("no_such_row",))
    with pytest.raises(ValueError, match="preset"):
        Config.from_preset("huge")
    with pytest.raises(TypeError, match="unknown field"):
        Config.from_preset("quick", learning_rate=1.0)
    assert Config.from_preset("quick").to_dict()["alexnet_channels"][0] == 96  # plain lists in report.json


def test_report_writes_and_reloads_its_arrays(tmp_path):
    report = CovidReport(name="covid-interp", title="t", config={})
    report.arrays["embedding/lbp/pca/2d"] = np.ones((3, 2), np.float32)
    report.write(tmp_path)
    loaded = load_arrays(tmp_path)
    np.testing.assert_array_equal(loaded["embedding/lbp/pca/2d"], np.ones((3, 2)))
    assert load_arrays(tmp_path / "nowhere") == {}


def test_curve_rows_name_the_validation_split_test():
    epoch = {name: 0.5 for name in ("loss", "accuracy", "sensitivity", "specificity", "ppv", "npv")}
    rows = curve_rows([{"train": epoch, "val": epoch}])
    assert rows[0]["epoch"] == 1 and rows[0]["test_loss"] == 0.5 and rows[0]["train_npv"] == 0.5


def test_real_images_and_lesions_load_small(real_dataset):
    from medinterp_widgets.pipelines.covid_interp import load_image_set, load_lesion_set

    root = real_dataset("covid_ct").parent
    real_dataset("covid_ct_lesions")
    images = load_image_set(root, 64, max_images=8)
    assert tuple(images.images.shape) == (8, 1, 64, 64) and "UCSD" in images.source
    assert 0.0 <= float(images.images.min()) and float(images.images.max()) <= 1.0
    lesions = load_lesion_set(root, 64, max_slices=2)
    assert lesions.masks.shape == (2, 64, 64) and lesions.masks.max() == 1 and "MedSeg" in lesions.source
    assert lesions.native_masks[0].shape != (64, 64) and set(np.unique(lesions.native_masks[0])) == {0, 1}
