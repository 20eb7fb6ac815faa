"""The Trainer's `Loss` protocol: declared inputs, total + named parts, one forward a step, the declared
validation loss (the 10x cross-entropy of issue #18: train 7.12, val 0.74 before)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from medinterp_widgets.models import GapFCN, VGGClassifier
from medinterp_widgets.pipelines.lv_gap_cam.losses import CamAreaLoss
from medinterp_widgets.training.config import TrainConfig
from medinterp_widgets.training.events import StepEnd
from medinterp_widgets.training.heatmap_loss import HeatmapLoss
from medinterp_widgets.training.loss_protocol import Batch, CrossEntropy, LossResult, as_loss
from medinterp_widgets.training.losses import DiceCrossEntropyLoss, SoftDiceLoss, build_loss
from medinterp_widgets.training.trainer import Trainer


def _config(**overrides) -> TrainConfig:
    return TrainConfig(**{**dict(epochs=1, batch_size=4, lr=0.01, progress=False), **overrides})


def _count_forwards(model: nn.Module) -> list[int]:
    calls = [0]
    model.register_forward_hook(lambda *_: calls.__setitem__(0, calls[0] + 1))
    return calls


def _segmentation(n: int = 8, size: int = 16) -> torch.utils.data.TensorDataset:
    generator = torch.Generator().manual_seed(0)
    x = torch.rand(n, 1, size, size, generator=generator)
    y = torch.zeros(n, size, size, dtype=torch.long)
    y[:, 4:12, 4:12] = 1
    return torch.utils.data.TensorDataset(x + y.unsqueeze(1).float(), y)


def _classification(n: int = 8, size: int = 16) -> torch.utils.data.TensorDataset:
    generator = torch.Generator().manual_seed(0)
    y = torch.arange(n) % 2
    x = torch.rand(n, 1, size, size, generator=generator) + y.view(-1, 1, 1, 1)
    mask = torch.zeros(n, size, size)
    mask[:, 4:12, 4:12] = 1
    return torch.utils.data.TensorDataset(x, y, mask)


def _batch_norms_tracked(model: nn.Module) -> set[int]:
    return {int(m.num_batches_tracked) for m in model.modules() if isinstance(m, nn.BatchNorm2d)}


@pytest.mark.parametrize("family", ["gapfcn+cam_area", "gapfcn+dice_ce", "vgg+heatmap", "vgg+ce"])
def test_one_training_forward_per_step(family):
    """BatchNorm counts its training-mode forwards: after 2 steps every BN has seen exactly 2 batches."""
    torch.manual_seed(0)
    if family.startswith("gapfcn"):
        model: nn.Module = GapFCN(base_channels=4, depth=2, convs_per_stage=1)
        data = _segmentation()
        loss = CamAreaLoss(0.5, DiceCrossEntropyLoss()) if family.endswith("cam_area") else DiceCrossEntropyLoss()
    else:
        model = VGGClassifier(in_channels=1, n_classes=2, width=4, cfg=[2, "M", 4], batch_norm=True, dropout=0.0)
        data = _classification()
        loss = HeatmapLoss(method="gradcam") if family.endswith("heatmap") else CrossEntropy()
    calls = _count_forwards(model)
    Trainer(model, data, None, _config(), loss=loss).fit()  # 8 items / batch 4 = 2 steps
    assert _batch_norms_tracked(model) == {2}
    assert calls[0] == 2


def test_a_model_loss_must_hand_back_its_logits():
    class BareTotal:
        inputs = "model"

        def compute(self, model, batch):  # would force the Trainer into a second forward for the metrics
            return LossResult(F.cross_entropy(model(batch.x), batch.y))

    model = VGGClassifier(in_channels=1, n_classes=2, width=4, cfg=[2], batch_norm=True, dropout=0.0)
    with pytest.raises(TypeError, match="logits of its forward"):
        Trainer(model, _classification(), None, _config(), loss=BareTotal()).fit()
    assert _batch_norms_tracked(model) == {1}


def test_plain_callable_is_a_logits_loss_and_a_non_scalar_is_refused():
    assert as_loss(nn.CrossEntropyLoss()).inputs == "logits"
    with pytest.raises(TypeError, match="scalar tensor"):
        as_loss(nn.CrossEntropyLoss(reduction="none")).compute(torch.zeros(2, 3), torch.tensor([0, 1]))
    with pytest.raises(TypeError, match="inputs='pixels'"):
        as_loss(type("Odd", (), {"inputs": "pixels", "compute": lambda self: None})())


def test_validation_uses_the_training_loss():
    """A 10x cross-entropy scores 10x cross-entropy on validation too (it used to fall back to plain CE)."""
    torch.manual_seed(0)
    model = VGGClassifier(in_channels=1, n_classes=2, width=4, cfg=[2, "M", 4], batch_norm=False, dropout=0.0)
    data = _classification()

    def ten_ce(logits, target, *, model=None):  # a keyword once switched validation to plain CE
        return 10 * F.cross_entropy(logits, target)

    trainer = Trainer(model, data, data, _config(lr=1e-12), loss=ten_ce)
    history = trainer.fit()
    x, y, _ = data.tensors
    with torch.no_grad():
        expected = 10 * float(F.cross_entropy(model(x), y))
    assert history[-1]["val"]["loss"] == pytest.approx(expected, rel=1e-5)
    assert history[-1]["train"]["loss"] == pytest.approx(expected, rel=1e-5)  # lr ~0: the same model


def test_declared_evaluation_form_is_used_on_validation():
    """The heatmap loss declares its classification term (MSE here) as its evaluation form."""
    torch.manual_seed(0)
    model = VGGClassifier(in_channels=1, n_classes=2, width=4, cfg=[2, "M", 4], batch_norm=False, dropout=0.0)
    data = _classification()
    loss = HeatmapLoss.thesis("gradcam", weight=5.0)
    trainer = Trainer(model, data, None, _config(lr=1e-12), loss=loss)
    x, y, _ = data.tensors
    with torch.no_grad():
        mse = float(((model(x).softmax(1) - F.one_hot(y, 2).float()) ** 2).mean(1).mean())
    assert trainer.evaluate(data)["loss"] == pytest.approx(mse, rel=1e-5)


def test_parts_reach_the_step_events_and_add_up():
    torch.manual_seed(0)
    model = GapFCN(base_channels=4, depth=2, convs_per_stage=1)
    steps: list[StepEnd] = []
    loss = CamAreaLoss(0.5, DiceCrossEntropyLoss(dice_weight=2.0))
    Trainer(model, _segmentation(), None, _config(), loss=loss,
            callbacks=[lambda e: steps.append(e) if isinstance(e, StepEnd) else None]).fit()
    assert len(steps) == 2
    for event in steps:
        assert event.loss == pytest.approx(event.metrics["pixel"] + 0.5 * event.metrics["area"], rel=1e-5)
    logits, y = torch.randn(2, 2, 4, 4), torch.randint(0, 2, (2, 4, 4))
    result = DiceCrossEntropyLoss(dice_weight=2.0).compute(logits, y)
    assert set(result.parts) == {"ce", "dice"}
    assert float(result.total) == pytest.approx(float(result.parts["ce"] + 2.0 * result.parts["dice"]), rel=1e-6)


@pytest.mark.parametrize("name", ["ce", "dice", "dice_ce"])
def test_built_in_losses_declare_logits_inputs_and_keep_plain_calls(name):
    loss = build_loss(name)
    logits, y = torch.randn(2, 3, 4, 4), torch.randint(0, 3, (2, 4, 4))
    assert loss.inputs == "logits" and as_loss(loss) is loss
    assert float(loss.compute(logits, y).total) == pytest.approx(float(loss(logits, y)))
    expected = {"ce": F.cross_entropy(logits, y), "dice": SoftDiceLoss()(logits, y)}.get(name)
    if expected is not None:
        assert float(loss(logits, y)) == pytest.approx(float(expected), rel=1e-6)
    assert Batch(logits, y, {"extra0": 1}).mask == 1 and Batch(logits, y, {"a": 0, "mask": 2}).mask == 2
