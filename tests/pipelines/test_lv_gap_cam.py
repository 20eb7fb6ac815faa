"""Unit tests of the LV GAP-FCN pipeline's own functions, on hand-checkable inputs."""

import dataclasses
import math

import numpy as np
import pytest
import torch

from medinterp_widgets.data.preprocessing import Preprocessing
from medinterp_widgets.models import GapFCN
from medinterp_widgets.pipelines.lv_gap_cam import Config
from medinterp_widgets.pipelines.lv_gap_cam.artifacts import overlay_labels
from medinterp_widgets.pipelines.lv_gap_cam.cases import LvCase
from medinterp_widgets.pipelines.lv_gap_cam.data import LvDataset, choose_sources, load_lv_data
from medinterp_widgets.pipelines.lv_gap_cam.evaluation import accuracy_vs_dice, cam_localisation
from medinterp_widgets.pipelines.lv_gap_cam.losses import (
    CamAreaLoss,
    area_fraction_loss,
    cell_fractions,
    class_fractions,
    dense_cam_loss,
)
from medinterp_widgets.pipelines.lv_gap_cam.pipeline import search_tie_note
from medinterp_widgets.pipelines.lv_gap_cam.scoring import case_rows, summarise
from medinterp_widgets.pipelines.lv_gap_cam.training import (
    EventLog,
    apply_best,
    build_gapfcn,
    build_unet,
    make_trainer,
    search_space,
)
from medinterp_widgets.training import EpochEnd, LayerStat, LayerStats, StepEnd, TrainConfig
from medinterp_widgets.training.batches import make_loader
from medinterp_widgets.training.distributed import DistributedContext


def _square(size=16, lo=4, hi=10) -> np.ndarray:
    mask = np.zeros((size, size), np.uint8)
    mask[lo:hi, lo:hi] = 1
    return mask


SPEC = Preprocessing(label_maps={"k": {1: 1}})


def _cases(masks, unit=None) -> list[LvCase]:
    return [LvCase(m.astype(np.float32), m, (1.5, 1.5), "k", f"a/{i}", unit or f"a/{i}", "a")
            for i, m in enumerate(masks)]


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
    loss = dense_cam_loss(torch.zeros(1, 2, 2, 2), target)  # zero CAM logits: ln 2 at every cell
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
    parts = result.parts
    assert math.isclose(float(result.total.detach()), float(parts["pixel"]) + 0.5 * float(parts["area"]), rel_tol=1e-5)


def test_all_background_predictor_has_high_accuracy_and_zero_dice():
    truth = _square()  # 36 of 256 pixels
    table = {row["predictor"]: row for row in accuracy_vs_dice([truth], [truth])}
    assert table["all background"]["pixel_accuracy"] == pytest.approx(1 - 36 / 256)
    assert table["all background"]["dice_mean"] == 0.0
    assert table["GapFCN (ours)"]["dice_mean"] == 1.0 and table["GapFCN (ours)"]["pixel_accuracy"] == 1.0


def test_case_rows_and_summary_perfect_and_shifted():
    truth = _square()
    shifted = np.roll(truth, 1, axis=1)
    rows = case_rows([truth, shifted], SPEC, _cases([truth, truth]))
    assert rows[0]["dice_1"] == 1.0 and rows[0]["apd_mm_1"] == pytest.approx(0.0, abs=1e-9)
    assert rows[1]["dice_1"] == pytest.approx(2 * 30 / 72)  # 6x6 squares overlapping on 6x5
    assert 0 < rows[1]["apd_mm_1"] <= 1.5 and rows[1]["apd_px_1"] == pytest.approx(rows[1]["apd_mm_1"] / 1.5)
    summary = summarise(rows)
    assert (summary["n"], summary["slices"], summary["apd_slices_1"]) == (2, 2, 2)
    assert summary["dice_mean"] == pytest.approx((1 + 60 / 72) / 2) == summary["dice_slice_mean"]


def test_volume_dice_pools_the_slices_of_a_unit():
    truth, empty = _square(), np.zeros((16, 16), np.uint8)
    half = truth.copy()
    half[4:7] = 0  # 18 of the 36 pixels
    rows = case_rows([half, truth], SPEC, _cases([truth, empty], unit="vol"))  # slice 2: LV predicted, none true
    summary = summarise(rows)
    assert summary["n"] == 1 and summary["dice_1"] == pytest.approx(2 * 18 / (54 + 36))  # one 3-D Dice
    assert summary["dice_slice_mean"] == pytest.approx((2 * 18 / 54 + 0.0) / 2)


def test_choose_sources(tmp_path):
    assert choose_sources("auto", None) == ("synthetic",)
    (tmp_path / "sunnybrook").mkdir()
    assert choose_sources("auto", tmp_path) == ("sunnybrook",)
    (tmp_path / "acdc").mkdir()
    assert choose_sources("auto", tmp_path) == ("acdc", "sunnybrook")
    assert choose_sources("synthetic", tmp_path) == ("synthetic",)


def test_config_presets_and_checks():
    for name in ("paper", "full"):
        config = Config.from_preset(name)
        assert (config.lr, config.decay_rate, config.decay_steps, config.epochs) == (0.02, 0.73, 10_000, 50)
        assert config.optimizer == "sgd" and config.batch_size <= 2  # so 10,000-step decays happen
    assert Config.from_preset("quick", seed=3).seed == 3
    with pytest.raises(ValueError, match="preset"):
        Config.from_preset("huge")
    with pytest.raises(ValueError, match="image_size"):
        Config(image_size=30, depth=3)
    with pytest.raises(ValueError, match="intensity"):
        Config(intensity="log")
    assert apply_best(Config(), {"lr": 0.5, "other": 1}).lr == 0.5
    assert Config.from_preset("paper").pixel_loss == "dice_ce"
    with pytest.raises(ValueError, match="pixel_loss"):
        Config(pixel_loss="focal")
    with pytest.raises(ValueError, match="augment_scale"):
        Config(augment_scale=(1.2, 0.9))
    from medinterp_widgets.pipelines.lv_gap_cam.pipeline import augmentation

    assert augmentation(Config(augment_scale=[0.7, 1.4])).scale == (0.7, 1.4)  # a JSON list reads back as a range


def test_per_image_pixel_loss_reaches_the_trainer():
    config = Config.from_preset("smoke", pixel_loss="dice_ce_image")
    data = load_lv_data(config)
    trainer = make_trainer(build_gapfcn(config), data, TrainConfig(epochs=1, device="cpu"), config.pixel_loss,
                           config.cam_loss_weight)
    dice = trainer.loss_fn.pixel_loss.dice
    assert dice.per_image and not dice.include_background


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
    data = load_lv_data(Config.from_preset("smoke"))
    assert data.source == "synthetic"
    train_groups = {c.group for c in data.train.cases}
    assert train_groups.isdisjoint({c.group for c in data.tune.cases})
    assert train_groups.isdisjoint({c.group for c in data.validation["synthetic"]})
    x, y = data.train[0]
    assert x.shape == (1, 32, 32) and y.dtype == torch.int64


def test_real_data_splits_by_patient_and_study(data_root):
    if not ((data_root / "sunnybrook").is_dir() and (data_root / "acdc").is_dir()):
        pytest.skip("sunnybrook and acdc not both present")
    config = Config.from_preset("quick", data_root=data_root)
    data = load_lv_data(config)
    assert data.source == "acdc+sunnybrook"
    train = {c.group for c in data.train.cases}
    assert train.isdisjoint({c.group for c in data.tune.cases})
    for cases in data.validation.values():
        assert train.isdisjoint({c.group for c in cases})
    assert {c.kind for c in data.tune.cases} == {"acdc"}  # the Sunnybrook study is validation only
    assert len(data.validation["sunnybrook"]) + sum(c.kind == "sunnybrook" for c in data.train.cases) == 56
    assert len({c.unit for c in data.validation["acdc"]}) == 20  # the val.list volumes
    sunny = sum(c.kind == "sunnybrook" for c in data.train.cases)
    assert len(data.train) == len(data.train.cases) + (config.sunnybrook_repeat - 1) * sunny
    drawn = load_lv_data(dataclasses.replace(config, sunnybrook_repeat=12, acdc_slices_per_epoch=500))
    assert len(drawn.train) == 12 * sunny + 500 and len(drawn.train.pool) == len(data.train.cases) - sunny


def test_pool_draw_keeps_the_fixed_copies_and_redraws_the_rest_each_epoch():
    """Cases 0-1 fixed (x3, x1); 3 of the pool 2..7 drawn per epoch, without replacement, by (seed, epoch)."""
    masks = [_square(lo=k % 4, hi=8 + k % 4) for k in range(8)]
    dataset = LvDataset(_cases(masks), SPEC, repeats=[3, 1, 0, 0, 0, 0, 0, 0], pool=range(2, 8), pool_draw=3)
    assert dataset.index == [0, 0, 0, 1, 2, 3, 4] and len(dataset) == 7
    draws = []
    for epoch in range(4):
        loader = make_loader(dataset, batch_size=7, shuffle=True, seed=5, epoch=epoch, num_workers=0,
                             context=DistributedContext())
        assert len(list(loader)[0][0]) == 7
        fixed, drawn = dataset.index[:4], dataset.index[4:]
        assert fixed == [0, 0, 0, 1] and len(set(drawn)) == 3 and set(drawn) <= set(range(2, 8))
        draws.append(tuple(drawn))
    assert len(set(draws)) > 1  # a fresh draw each epoch
    make_loader(dataset, batch_size=7, shuffle=True, seed=5, epoch=2, num_workers=0, context=DistributedContext())
    assert tuple(dataset.index[4:]) == draws[2]  # ... that depends only on (seed, epoch): a resume draws alike
    make_loader(dataset, batch_size=7, shuffle=False, seed=5, epoch=0, num_workers=0, context=DistributedContext())
    assert tuple(dataset.index[4:]) == draws[2]  # evaluation loaders leave the draw alone
    with pytest.raises(ValueError, match="pool_draw=7"):
        LvDataset(_cases(masks), SPEC, repeats=[1] * 8, pool=range(2, 8), pool_draw=7)


def test_cam_localisation_by_hand():
    truth = _square()  # LV share 36 / 256
    inside = truth.astype(np.float32)  # all mass on the LV, peak inside
    outside = 1.0 - inside  # all mass outside, peak outside
    result = cam_localisation(np.stack([inside, outside]), np.stack([truth, truth]))
    assert result["mass_inside_lv"] == pytest.approx(0.5)  # mean of 1 and 0
    assert result["peak_in_lv"] == pytest.approx(0.5)
    assert result["lv_area_share"] == pytest.approx(36 / 256)


@pytest.mark.parametrize("build", [build_gapfcn, build_unet])
def test_models_start_from_the_seed_whatever_ran_before(build):
    """A seeded run repeats: the initial weights do not depend on how much of torch's RNG was used before."""
    config = Config.from_preset("smoke", seed=3)
    first = build(config).state_dict()
    torch.rand(1000)
    second = build(config).state_dict()
    other = build(Config.from_preset("smoke", seed=4)).state_dict()
    assert all(torch.equal(first[k], second[k]) for k in first)
    assert not all(torch.equal(first[k], other[k]) for k in first)


def test_search_lr_range_holds_the_paper_rate_and_skips_rates_too_slow_for_a_trial():
    lr = search_space()["lr"]
    assert lr.log and lr.low <= Config().lr <= lr.high
    assert lr.low >= 2e-3  # below it a 400-step trial predicted no LV in every trial (seed 1)
    assert set(search_space()) == {"lr", "decay_rate", "decay_steps"}


def test_search_tie_note_only_when_every_trial_ties():
    tied = [{"trial": i, "tune_dice": 0.0707} for i in range(4)]
    assert "0.071" in search_tie_note(tied)
    assert search_tie_note([*tied[:3], {"trial": 3, "tune_dice": 0.55}]) is None
    assert search_tie_note(tied[:1]) is None  # one trial: nothing to compare
    assert search_tie_note([*tied, {"trial": 4, "tune_dice": None}]) is not None  # a failed trial has no value
