"""Weight averaging over the last epochs (training.averaging) on hand-computable models."""

import pytest
import torch
from torch import nn

from medinterp_widgets.training import EpochEnd, load_checkpoint
from medinterp_widgets.training.averaging import EpochWeightAverage, save_averaged
from medinterp_widgets.training.checkpoints import atomic_save, checkpoint_payload


def _end(epoch: int) -> EpochEnd:
    return EpochEnd(epoch=epoch, metrics={}, seconds=0.0)


def test_mean_of_the_last_epochs_weights_and_batchnorm_of_the_data(tmp_path):
    model = nn.Sequential(nn.Linear(1, 1, bias=False), nn.BatchNorm1d(1))
    averager = EpochWeightAverage(model, first_epoch=2)
    for epoch, weight in enumerate([10.0, 20.0, 1.0, 2.0, 6.0]):
        model[0].weight.data.fill_(weight)
        averager(_end(epoch))
    assert averager.count == 3  # epochs 2, 3, 4
    data = torch.utils.data.TensorDataset(torch.tensor([[1.0], [2.0], [3.0], [6.0]]), torch.zeros(4))
    averaged = averager.finish(data, batch_size=4)
    assert averaged[0].weight.item() == pytest.approx(3.0)  # (1 + 2 + 6) / 3, not the last (6) nor epochs 0-1
    assert model[0].weight.item() == 6.0  # the trained model is left alone
    assert averaged[1].running_mean.item() == pytest.approx(3.0 * 3.0)  # mean of 3 x (1, 2, 3, 6)
    assert averaged[1].running_var.item() == pytest.approx(torch.tensor([3.0, 6, 9, 18]).var().item())
    assert not averaged.training

    template = tmp_path / "best.pt"
    atomic_save(checkpoint_payload(model, optimizer_state={"lr": 1}, epoch=5, extra_note="kept"), template)
    save_averaged(averaged, str(template), str(tmp_path / "averaged.pt"), averager.count)
    saved = load_checkpoint(tmp_path / "averaged.pt")
    assert saved["model_state"]["0.weight"].item() == pytest.approx(3.0) and saved["averaged_epochs"] == 3
    assert saved["extra_note"] == "kept" and "optimizer_state" not in saved


def test_nothing_to_average_before_the_first_epoch():
    averager = EpochWeightAverage(nn.Linear(1, 1), first_epoch=3)
    averager(_end(2))
    assert averager.count == 0
    with pytest.raises(RuntimeError, match="no epoch >= 3"):
        averager.finish(torch.utils.data.TensorDataset(torch.zeros(2, 1)), batch_size=2)
