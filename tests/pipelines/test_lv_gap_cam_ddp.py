"""GapFCN + the CAM-head loss under DistributedDataParallel: two gloo processes end with identical replicas.

The CAM-head term used to run the unwrapped module, so its gradients (and the rest of that forward's)
were never all-reduced and the replicas drifted apart (0.004 after 4 steps). Each process here trains
a few steps through the Trainer on its own shard (DistributedSampler) of different images.
"""

from __future__ import annotations

import os
import socket

import torch
import torch.multiprocessing as mp

from medinterp_widgets.models import GapFCN
from medinterp_widgets.pipelines.lv_gap_cam.losses import CamAreaLoss
from medinterp_widgets.training import TrainConfig, Trainer

STEPS = 4


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _data(n: int = 16, size: int = 16) -> torch.utils.data.TensorDataset:
    generator = torch.Generator().manual_seed(0)
    x = torch.rand(n, 1, size, size, generator=generator)
    y = torch.zeros(n, size, size, dtype=torch.long)
    for i in range(n):  # a square LV at a different place in every image
        r, c = torch.randint(0, size - 6, (2,), generator=generator).tolist()
        y[i, r:r + 6, c:c + 6] = 1
        x[i, 0, r:r + 6, c:c + 6] += 1.0
    return torch.utils.data.TensorDataset(x, y)


def _worker(rank: int, world_size: int, port: int, out_dir: str, mode: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world_size),
                      LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    torch.manual_seed(0)  # the same initial weights on both ranks (DDP also broadcasts rank 0's)
    model = GapFCN(base_channels=4, depth=2, convs_per_stage=1)
    initial = model.cam_head.weight.detach().clone()
    config = TrainConfig(epochs=1, batch_size=2, lr=0.05, optimizer="sgd", device="cpu", max_steps=STEPS,
                         progress=False, save_checkpoints=False, drop_last=True, seed=0)
    trainer = Trainer(model, _data(), None, config, loss=CamAreaLoss(0.5, mode=mode))
    try:
        trainer.fit()
        state = {name: p.detach().clone() for name, p in trainer.base_model.named_parameters()}
        torch.save({"params": state, "initial_head": initial, "steps": trainer.step}, f"{out_dir}/rank{rank}.pt")
    finally:
        torch.distributed.destroy_process_group()


def test_replicas_stay_identical_with_the_cam_head_loss(tmp_path):
    mp.spawn(_worker, args=(2, _free_port(), str(tmp_path), "dense"), nprocs=2, join=True)
    first, second = (torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in (0, 1))
    assert first["steps"] == second["steps"] == STEPS
    for name, value in first["params"].items():
        assert torch.equal(value, second["params"][name]), f"{name} differs between the replicas"
    assert not torch.equal(first["params"]["cam_head.weight"], first["initial_head"])  # the CAM head trained
