"""Tiny models and samples for the viewer tests (16 x 16 images, a few channels); two tiny training runs
and a small Optuna study on disk for the run browser tests."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

from medinterp_widgets.models import UNet
from medinterp_widgets.training import TrainConfig, Trainer

SIDE = 16


def tiny_segmenter(seed: int = 0) -> nn.Module:
    """GapFCN with 2-4 channels, one pooling, BatchNorm (so running statistics can be checked)."""
    from medinterp_widgets.models import GapFCN

    torch.manual_seed(seed)
    return GapFCN(base_channels=2, depth=1, convs_per_stage=1, max_channels=4).eval()


def tiny_classifier(seed: int = 0) -> nn.Module:
    """conv-BN-ReLU-conv-ReLU-GAP-linear, 3 classes."""
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                         nn.Conv2d(4, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Linear(4, 3)).eval()


def no_gap_classifier() -> nn.Module:
    """conv-ReLU-flatten-linear: CAM has no GAP head to use."""
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(2 * SIDE * SIDE, 2)).eval()


@pytest.fixture
def sample():
    """(1, 1, 16, 16) image with a bright square and its label mask (class 1)."""
    torch.manual_seed(3)
    x = torch.randn(1, 1, SIDE, SIDE) * 0.1
    x[..., 4:10, 5:11] += 1.0
    masks = np.zeros((SIDE, SIDE), np.int64)
    masks[4:10, 5:11] = 1
    return x, masks


def _squares(n: int, seed: int, size: int = 16) -> TensorDataset:
    """Noisy images with a bright 6x6 square (class 1) on background (class 0)."""
    generator = torch.Generator().manual_seed(seed)
    images = 0.1 * torch.randn(n, 1, size, size, generator=generator)
    labels = torch.zeros(n, size, size, dtype=torch.long)
    for i, (r, c) in enumerate(torch.randint(0, size - 6, (n, 2), generator=generator).tolist()):
        labels[i, r:r + 6, c:c + 6] = 1
        images[i, 0, r:r + 6, c:c + 6] += 1.0
    return TensorDataset(images, labels)


@pytest.fixture(scope="session")
def runs_folder(tmp_path_factory):
    """Two 2-epoch runs of a tiny UNet with different learning rates and heatmap weights."""
    root = tmp_path_factory.mktemp("runs")
    train, val = _squares(8, seed=1), _squares(4, seed=2)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny tensors: extra threads only fight the other jobs for the CPU
    try:
        for name, lr, weight in (("lr-small", 1e-3, 0.1), ("lr-large", 3e-2, 1.0)):
            torch.manual_seed(0)
            model = UNet(in_channels=1, n_classes=2, base_channels=2, depth=2)
            config = TrainConfig(epochs=2, batch_size=4, lr=lr, decay_rate=0.9, decay_steps=2, progress=False,
                                 run_dir=str(root / name), best_metric="val/dice_mean", best_mode="max",
                                 extra={"heatmap_weight": weight, "paper": "lv"})
            Trainer(model, train, val, config).fit()
    finally:
        torch.set_num_threads(threads)
    return root


@pytest.fixture(scope="session")
def sweep_db(tmp_path_factory):
    """A SQLite Optuna study ("toy", maximise) with 5 trials reporting 3 intermediate values each."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    path = tmp_path_factory.mktemp("sweep") / "sweep.db"
    study = optuna.create_study(storage=f"sqlite:///{path}", study_name="toy", direction="maximize",
                                sampler=optuna.samplers.RandomSampler(seed=0))

    def objective(trial):
        lr = trial.suggest_float("lr", 1e-4, 1e-1, log=True)
        decay_steps = trial.suggest_int("decay_steps", 100, 1000)
        for step in range(3):
            trial.report(step * lr, step)
        trial.set_user_attr("val_dice", 1.0 - abs(lr - 0.01))
        return -abs(lr - 0.01) - decay_steps * 1e-6

    study.optimize(objective, n_trials=5)
    return path
