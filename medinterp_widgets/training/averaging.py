"""Weight averaging over a run's last epochs (stochastic weight averaging, Izmailov et al. 2018).

    w_avg = (1 / K) * sum_k w_k        (w_k: the weights at the end of each of the last K epochs)

then the BatchNorm running statistics are re-estimated for ``w_avg`` with one pass over training data
(``torch.optim.swa_utils.update_bn``), since the averaged weights never produced the stored ones. Useful
where the schedule ends at a rate that still moves the weights from epoch to epoch, so picking one epoch
picks its noise too. The running average lives in memory: a resumed run averages the epochs it ran.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel, update_bn
from torch.utils.data import DataLoader, Dataset

from .checkpoints import atomic_save, load_checkpoint, unwrap_model
from .events import EpochEnd


class EpochWeightAverage:
    """Trainer callback: adds ``model``'s weights to the average at the end of every epoch >= ``first_epoch``
    (0-based; ``first_epoch = epochs - K`` averages the last K)."""

    def __init__(self, model: nn.Module, first_epoch: int):
        self.model, self.first_epoch = model, first_epoch
        self.average: AveragedModel | None = None  # made at the first update, on the model's device then

    @property
    def count(self) -> int:
        return 0 if self.average is None else int(self.average.n_averaged)

    def __call__(self, event: Any) -> None:
        if isinstance(event, EpochEnd) and event.epoch >= self.first_epoch:
            model = unwrap_model(self.model)
            self.average = self.average or AveragedModel(model)
            self.average.update_parameters(model)

    def finish(self, train_data: Dataset, batch_size: int, seed: int = 0) -> nn.Module:
        """The averaged network with BatchNorm statistics re-estimated on ``train_data`` (eval mode)."""
        if self.average is None:
            raise RuntimeError(f"no epoch >= {self.first_epoch} ended: nothing was averaged")
        device = next(self.average.module.parameters()).device
        loader = DataLoader(train_data, batch_size=batch_size, shuffle=True,
                            generator=torch.Generator().manual_seed(seed))
        update_bn(loader, self.average.module, device=device)
        return self.average.module.eval()


def save_averaged(model: nn.Module, template: str, path: str, epochs: int) -> None:
    """Write ``model``'s weights as a checkpoint shaped like ``template`` (a checkpoint of the same run: its
    model description, config and preprocessing stay), noting the ``epochs`` averaged."""
    payload = load_checkpoint(template)
    for key in ("optimizer_state", "scheduler_state", "scaler_state", "rng"):
        payload.pop(key, None)
    payload.update(model_state=unwrap_model(model).state_dict(), averaged_epochs=epochs)
    atomic_save(payload, path)
