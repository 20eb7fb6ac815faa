"""Every model family with its pipeline's loss under DistributedDataParallel: two gloo processes, each on
its own shard of different images, train a few Trainer steps and end with identical parameters.

GapFCN + CamAreaLoss (lv-gap-cam), 2-D UNet + soft Dice and Dice + CE (rodent-gbp), VGGClassifier +
HeatmapLoss (heatmap-loss: a double backward through dY/dA), SmallResNet + label-smoothed CE and
AlexNetClassifier + CE (covid-interp). One spawn trains all of them (process start-up dominates).
"""

from __future__ import annotations

import os
import socket

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import nn

pytestmark = pytest.mark.skipif(not (dist.is_available() and dist.is_gloo_available()),
                                reason="torch.distributed with the gloo backend is not available")

STEPS = 3
FAMILIES = ("gapfcn+cam_area", "unet+dice", "unet+dice_ce", "vgg+heatmap", "resnet+ce", "alexnet+ce")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _images(n: int, size: int, classes: bool) -> torch.utils.data.TensorDataset:
    """Squares at a different place in every image: labels (B,) for classifiers, maps (B, H, W) else;
    a mask (the square) rides along as the third item for the heatmap loss."""
    generator = torch.Generator().manual_seed(0)
    x = torch.rand(n, 1, size, size, generator=generator)
    maps = torch.zeros(n, size, size, dtype=torch.long)
    for i in range(n):
        r, c = torch.randint(0, size - size // 3, (2,), generator=generator).tolist()
        maps[i, r:r + size // 3, c:c + size // 3] = 1
        x[i, 0][maps[i] == 1] += 1.0 + (i % 2)
    if not classes:
        return torch.utils.data.TensorDataset(x, maps)
    return torch.utils.data.TensorDataset(x, torch.arange(n) % 2, maps.float())


def _family(name: str) -> tuple[nn.Module, object, torch.utils.data.TensorDataset]:
    from medinterp_widgets.models import AlexNetClassifier, GapFCN, SmallResNet, UNet, VGGClassifier
    from medinterp_widgets.pipelines.lv_gap_cam.losses import CamAreaLoss
    from medinterp_widgets.training.heatmap_loss import HeatmapLoss
    from medinterp_widgets.training.losses import build_loss

    if name == "gapfcn+cam_area":
        return GapFCN(base_channels=4, depth=2, convs_per_stage=1), CamAreaLoss(0.5, build_loss("dice_ce")), \
            _images(8, 16, classes=False)
    if name.startswith("unet"):
        return UNet(in_channels=1, n_classes=2, base_channels=4, depth=2), build_loss(name.split("+")[1]), \
            _images(8, 16, classes=False)
    if name == "vgg+heatmap":
        model = VGGClassifier(in_channels=1, n_classes=2, width=4, cfg=[2, "M", 4], batch_norm=True, dropout=0.0)
        return model, HeatmapLoss.thesis("hirescam", weight=1.0), _images(8, 16, classes=True)
    if name == "resnet+ce":
        model = SmallResNet(in_channels=1, n_classes=2, widths=(4, 4, 8, 8), dropout=0.0)
        return model, nn.CrossEntropyLoss(label_smoothing=0.1), _images(8, 16, classes=True)
    return AlexNetClassifier(in_channels=1, n_classes=2, width=2, hidden=8, dropout=0.0), build_loss("ce"), \
        _images(8, 64, classes=True)


def _worker(rank: int, world_size: int, port: int, out_dir: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world_size),
                      LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    from medinterp_widgets.training import TrainConfig, Trainer

    results = {}
    try:
        for name in FAMILIES:
            torch.manual_seed(0)  # the same initial weights on both ranks (DDP also broadcasts rank 0's)
            model, loss, data = _family(name)
            initial = {k: p.detach().clone() for k, p in model.named_parameters()}
            config = TrainConfig(epochs=STEPS, batch_size=2, lr=0.05, optimizer="sgd", device="cpu",
                                 max_steps=STEPS, progress=False, save_checkpoints=False, drop_last=True, seed=0)
            trainer = Trainer(model, data, None, config, loss=loss)
            trainer.fit()
            results[name] = {"steps": trainer.step, "initial": initial,
                             "params": {k: p.detach().clone() for k, p in trainer.base_model.named_parameters()}}
        torch.save(results, f"{out_dir}/rank{rank}.pt")
    finally:
        dist.destroy_process_group()


@pytest.mark.slow
def test_every_family_keeps_identical_replicas_with_its_pipeline_loss(tmp_path):
    mp.spawn(_worker, args=(2, _free_port(), str(tmp_path)), nprocs=2, join=True)
    first, second = (torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in (0, 1))
    for name in FAMILIES:
        assert first[name]["steps"] == second[name]["steps"] == STEPS, name
        for key, value in first[name]["params"].items():
            assert torch.equal(value, second[name]["params"][key]), f"{name}: {key} differs between the replicas"
        moved = [k for k, v in first[name]["params"].items() if not torch.equal(v, first[name]["initial"][k])]
        assert moved, f"{name}: no parameter changed in {STEPS} steps"
