"""Unit tests of the LV GAP-FCN pipeline's own functions, on hand-checkable inputs."""

import dataclasses
import math

import numpy as np
import pytest
import torch

from medinterp_widgets.models import GapFCN
from medinterp_widgets.pipelines.lv_gap_cam import Config
from medinterp_widgets.pipelines.lv_gap_cam.artifacts import overlay_labels
from medinterp_widgets.pipelines.lv_gap_cam.data import LvDataset, LvSlice, choose_source, load_lv_data, make_slice
from medinterp_widgets.pipelines.lv_gap_cam.evaluation import (accuracy_vs_dice, cam_localisation, per_slice_metrics,
                                                         summarise)
from medinterp_widgets.pipelines.lv_gap_cam.losses import (CamAreaLoss, area_fraction_loss, cell_fractions,
                                                           class_fractions, dense_cam_loss)
from medinterp_widgets.pipelines.lv_gap_cam.training import EventLog, apply_best
from medinterp_widgets.training import EpochEnd, LayerStat, LayerStats, StepEnd


def _square(size=16, lo=4, hi=10) -> np.ndarray:
    mask = np.zeros((size, size), np.uint8)
    mask[lo:hi, lo:hi] = 1
    return mask


def _dataset(masks) -> LvDataset:
    return LvDataset([LvSlice(m.astype(np.float32), m, (1.5, 1.5), "a") for m in masks])


def test_class_fractions_and_area_loss_by_hand():
    target = torch.tensor([[[0, 0], [0, 1]]])  # one LV pixel of four
    assert torch.allclose(class_fractions(target, 2), torch.tensor([[0.75, 0.25]]))
    # zero logits: sigmoid = 1/2, so each binary cross-entropy is ln 2 whatever the fractions
    assert math.isclose(float(area_fraction_loss(torch.zeros(1, 2), target)), math.log(2), rel_tol=1e-6)
    # logits matching the fractions exactly give the binary entropy H(0.25) = H(0.75) per class
    logits = torch.logit(torch.tensor([[0.75, 0.25]]))
    entropy = -(0.75 * math.log(0.75) + 0.25 * math.log(0.25))
    assert math.isclose(float(area_fraction_loss(logits, target)), entropy, rel_tol=1e-5)


def test_cell_fractions_and_dense_loss_by_hand():
    target = torch.zeros(1, 4, 4, dtype=torch.long)
    target[0, :2, :2] = 1  # the top-left cell of a 2 x 2 grid is all LV
    fractions = cell_fractions(target, 2, (2, 2))
    assert fractions[0, 1].tolist() == [[1.0, 0.0], [0.0, 0.0]] and fractions[0, 0].tolist() == [[0.0, 1.0], [1.0, 1.0]]
    head = torch.nn.Linear(3, 2)
    torch.nn.init.zeros_(head.weight)
    torch.nn.init.zeros_(head.bias)
    loss = dense_cam_loss(torch.rand(1, 3, 2, 2), head, target)  # zero logits: ln 2 at every cell
    assert math.isclose(loss.item(), math.log(2), rel_tol=1e-6)


@pytest.mark.parametrize("mode", ["dense", "area"])
def test_area_term_trains_the_cam_head_that_pixel_loss_leaves_alone(mode):
    torch.manual_seed(0)
    model = GapFCN(base_channels=4, depth=2, convs_per_stage=1)
    x, y = torch.rand(2, 1, 16, 16), torch.from_numpy(np.stack([_square(), _square(lo=2)])).long()
    torch.nn.functional.cross_entropy(model(x), y).backward()
    assert model.cam_head.weight.grad is None or not model.cam_head.weight.grad.any()
    model.zero_grad(set_to_none=True)
    result = CamAreaLoss(weight=0.5, mode=mode)(model, x, y)
    result.total.backward()
    assert model.cam_head.weight.grad.abs().sum() > 0
    assert result.logits.shape == (2, 2, 16, 16)
    assert not model.cam_layer._forward_hooks  # the feature hook lives for one call only
    assert math.isclose(float(result.total.detach()), float(result.classification) + 0.5 * float(result.attribution),
                        rel_tol=1e-5)


def test_all_background_predictor_has_high_accuracy_and_zero_dice():
    truth = _square()  # 36 of 256 pixels
    dataset = _dataset([truth])
    table = {row["predictor"]: row for row in accuracy_vs_dice(truth[None], dataset)}
    assert table["all background"]["pixel_accuracy"] == pytest.approx(1 - 36 / 256)
    assert table["all background"]["dice_mean"] == 0.0
    assert table["GapFCN (ours)"]["dice_mean"] == 1.0 and table["GapFCN (ours)"]["pixel_accuracy"] == 1.0


def test_per_slice_metrics_perfect_and_shifted():
    truth = _square()
    shifted = np.roll(truth, 1, axis=1)
    rows = per_slice_metrics(np.stack([truth, shifted]), _dataset([truth, truth]))
    assert rows[0]["dice"] == 1.0 and rows[0]["apd_mm"] == pytest.approx(0.0, abs=1e-9)
    assert rows[1]["dice"] == pytest.approx(2 * 30 / 72)  # 6x6 squares overlapping on 6x5
    assert 0 < rows[1]["apd_mm"] <= 1.5  # at most one pixel (1.5 mm) apart
    summary = summarise(rows)
    assert summary["slices"] == 2 and summary["apd_slices"] == 2


def test_make_slice_rescales_spacing_and_binarises():
    image = np.arange(64 * 64, dtype=np.float32).reshape(64, 64)
    made = make_slice(image, _square(64, 10, 40) * 3, (1.2, 1.0), 32, "s1")
    assert made.image.shape == (32, 32) and made.spacing == (2.4, 2.0)
    assert set(np.unique(made.mask)) == {0, 1} and 0.0 <= made.image.min() and made.image.max() <= 1.0


def test_choose_source(tmp_path):
    assert choose_source("auto", None, "quick") == "synthetic"
    (tmp_path / "sunnybrook").mkdir()
    (tmp_path / "acdc").mkdir()
    assert choose_source("auto", tmp_path, "quick") == "sunnybrook"
    assert choose_source("auto", tmp_path, "full") == "acdc"
    assert choose_source("synthetic", tmp_path, "full") == "synthetic"


def test_config_presets_and_checks():
    assert Config.preset("full").lr == 0.02 and Config.preset("full").decay_steps == 10_000
    assert Config.preset("quick", seed=3).seed == 3
    with pytest.raises(ValueError, match="preset"):
        Config.preset("huge")
    with pytest.raises(ValueError, match="image_size"):
        Config(image_size=30, depth=3)
    assert apply_best(Config(), {"lr": 0.5, "other": 1}).lr == 0.5


def test_event_log_collects_curves_and_gradient_norms():
    log = EventLog()
    log(StepEnd(step=1, epoch=0, loss=0.7, lr=0.01))
    stat = LayerStat("conv", grad_norm=2.0, weight_mean=0, weight_std=1, activation_mean=0, activation_std=1)
    log(LayerStats(step=1, epoch=0, layers=(stat,)))
    log(LayerStats(step=2, epoch=0, layers=(dataclasses.replace(stat, grad_norm=4.0),)))
    log(EpochEnd(epoch=0, metrics={"train": {"loss": 0.5}, "val": {"dice_mean": 0.8}}, seconds=1.0))
    assert log.epochs == [{"epoch": 1, "train_loss": 0.5, "val_dice_mean": 0.8}]
    assert log.steps == [{"step": 1, "lr": 0.01, "loss": 0.7}]
    assert log.mean_grad_norms() == {"conv": 3.0}


def test_overlay_labels():
    truth, pred = np.array([[1, 1, 0, 0]]), np.array([[1, 0, 1, 0]])
    assert overlay_labels(truth, pred).tolist() == [[3, 1, 2, 0]]


def test_synthetic_data_split_by_phantom():
    data = load_lv_data(Config.preset("smoke"))
    assert data.source == "synthetic"
    assert {s.group for s in data.train.slices}.isdisjoint({s.group for s in data.val.slices})
    x, y = data.train[0]
    assert x.shape == (1, 32, 32) and y.dtype == torch.int64


def test_sunnybrook_split_by_study(data_root):
    if not (data_root / "sunnybrook").is_dir():
        pytest.skip("sunnybrook not present")
    config = Config.preset("quick", data_root=data_root)
    data = load_lv_data(config)
    assert data.source == "sunnybrook"
    assert {s.group for s in data.train.slices}.isdisjoint({s.group for s in data.val.slices})
    scale = 256 * config.crop_fraction / config.image_size  # original pixels per resized pixel
    assert all(1.2 * scale < s.spacing[0] < 1.5 * scale for s in data.val.slices)  # mm per resized pixel
    assert len(data.train) + len(data.val) == 56


def test_cam_localisation_by_hand():
    truth = _square()  # LV share 36 / 256
    inside = truth.astype(np.float32)  # all mass on the LV, peak inside
    outside = 1.0 - inside  # all mass outside, peak outside
    result = cam_localisation(np.stack([inside, outside]), _dataset([truth, truth]), [0, 1])
    assert result["mass_inside_lv"] == pytest.approx(0.5)  # mean of 1 and 0
    assert result["peak_in_lv"] == pytest.approx(0.5)
    assert result["lv_area_share"] == pytest.approx(36 / 256)
