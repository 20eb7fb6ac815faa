"""Evaluation: golden values on a perfect model, and `medinterp evaluate` on a fabricated ACDC folder."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

from medinterp_widgets.cli import main
from medinterp_widgets.commands.evaluate import KINDS
from medinterp_widgets.training.config import TrainConfig
from medinterp_widgets.training.evaluate import DATASET_KINDS, EvalData, evaluate_model
from medinterp_widgets.training.trainer import Trainer


class Threshold(nn.Module):
    """Logits (0.5 - x, x - 0.5): predicts class 1 exactly where x > 0.5."""

    def forward(self, x):
        return torch.cat([0.5 - x, x - 0.5], dim=1)  # (B, 1, H, W) -> (B, 2, H, W)


def _square_images(n: int = 3, size: int = 16) -> TensorDataset:
    images = torch.zeros(n, 1, size, size)
    for i in range(n):
        images[i, 0, 3 + i:9 + i, 4:10] = 1.0
    return TensorDataset(images, (images[:, 0] > 0.5).long())


def test_perfect_model_scores_dice_one_and_apd_zero():
    data = EvalData("segmentation", _square_images(), spacings=[(1.367, 1.367)] * 3, fixed_size=True)
    results = evaluate_model(Threshold(), data, device="cpu", batch_size=2)
    assert results["n"] == 3 and results["dice_1"] == pytest.approx(1.0) and results["accuracy"] == 1.0
    assert results["apd_mm_1"] == pytest.approx(0.0, abs=1e-9) and results["apd_images_1"] == 3


def test_apd_is_in_millimetres():
    dataset = _square_images(1)
    shifted = TensorDataset(torch.roll(dataset.tensors[0], shifts=1, dims=3), dataset.tensors[1])
    one = evaluate_model(Threshold(), EvalData("segmentation", shifted, [(1.0, 1.0)], True), device="cpu")
    two = evaluate_model(Threshold(), EvalData("segmentation", shifted, [(2.0, 2.0)], True), device="cpu")
    assert one["apd_mm_1"] > 0 and two["apd_mm_1"] == pytest.approx(2 * one["apd_mm_1"])


def _fabricate_acdc(root, patients=(1, 2), size=16, seed=0):
    rng = np.random.default_rng(seed)
    (root / "data").mkdir(parents=True)
    names = []
    for patient in patients:
        name = f"patient{patient:03d}_frame01"
        label = np.zeros((2, size, size), np.uint8)
        label[:, 4:12, 4:12] = 2
        label[:, 6:10, 6:10] = 3
        label[:, 2:5, 10:14] = 1
        image = np.clip(label / 3 + 0.05 * rng.standard_normal(label.shape), 0, 1).astype(np.float32)
        with h5py.File(root / "data" / f"{name}.h5", "w") as handle:
            handle["image"], handle["label"] = image, label
        names.append(name)
    (root / "val.list").write_text("\n".join(names) + "\n")


def test_cli_evaluates_a_trained_checkpoint_on_acdc_folder(tmp_path, capsys):
    from medinterp_widgets.data import AcdcSliceDataset, load_acdc
    from medinterp_widgets.models import GapFCN

    _fabricate_acdc(tmp_path / "acdc")
    train = AcdcSliceDataset(load_acdc(tmp_path / "acdc", "val"))
    torch.manual_seed(0)
    model = GapFCN(in_channels=1, n_classes=4, base_channels=4, depth=2, convs_per_stage=1, batch_norm=False)
    config = TrainConfig(epochs=2, batch_size=2, lr=0.01, progress=False, run_dir=str(tmp_path / "run"),
                         best_metric="train/loss")
    Trainer(model, train, None, config).fit()

    code = main(["evaluate", "--checkpoint", str(tmp_path / "run" / "best.pt"), "--data", str(tmp_path / "acdc"),
                 "--dataset", "acdc", "--json", "--device", "cpu"])
    assert code == 0
    results = json.loads(capsys.readouterr().out)
    assert results["model_class"] == "medinterp_widgets.models.gap_fcn:GapFCN" and results["n"] == 4
    assert {"dice_1", "dice_2", "dice_3", "dice_mean", "accuracy", "loss"} <= set(results)
    assert 0.0 <= results["dice_mean"] <= 1.0 and "apd_mm_1" not in results  # no spacing in ACDC .h5


def test_cli_reports_missing_checkpoint_without_traceback(tmp_path, capsys):
    code = main(["evaluate", "--checkpoint", str(tmp_path / "none.pt"), "--data", str(tmp_path),
                 "--dataset", "acdc"])
    assert code == 2 and "checkpoint not found" in capsys.readouterr().err


def test_cli_kinds_each_have_an_evaluator():
    from medinterp_widgets.commands.evaluate import evaluator

    assert set(KINDS) >= set(DATASET_KINDS)
    assert all(callable(evaluator(kind)) for kind in KINDS)
    with pytest.raises(ValueError, match="--dataset"):
        evaluator("nope")


def test_checkpoint_hints_remap_labels_and_normalise_images():
    from medinterp_widgets.training.evaluate import adapt_eval_data

    images = torch.full((2, 1, 4, 4), 5.0)
    images[:, :, :2] = 7.0
    labels = torch.tensor([[0, 1, 2, 3]] * 4).expand(2, 4, 4)  # ACDC-style labels 0..3
    data = EvalData("segmentation", TensorDataset(images, labels), fixed_size=True)
    adapted = adapt_eval_data(data, {"3": 1}, "minmax")  # JSON keys come back as strings
    x, y = adapted.dataset[0]
    assert torch.equal(y[0], torch.tensor([0, 0, 0, 1])) and x.min() == 0 and x.max() == 1
    x, _ = adapt_eval_data(data, None, "zscore").dataset[1]
    assert float(x.mean()) == pytest.approx(0.0, abs=1e-6)
    assert adapt_eval_data(data, None, None) is data
    with pytest.raises(ValueError, match="input_normalize"):
        adapt_eval_data(data, None, "sqrt")
