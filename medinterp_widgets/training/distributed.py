"""Multi-GPU training with torchrun (DistributedDataParallel).

Launch the same script on every GPU of a machine (or several machines) with::

    torchrun --nproc_per_node=4 train_script.py        # the script builds a Trainer and calls fit()

torchrun sets ``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK``; ``DistributedContext.from_env()`` reads
them, and the Trainer then (1) initialises the process group (NCCL on CUDA, Gloo on CPU), (2) puts
each process on ``cuda:LOCAL_RANK``, (3) wraps the model in DistributedDataParallel, (4) shards the
data with a DistributedSampler (``set_epoch`` each epoch), (5) sums epoch metrics over ranks, and
(6) lets only rank 0 write files (config, metrics.jsonl, checkpoints) and emit events to callbacks.
Without those variables everything runs in one process (the path the tests exercise).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch import nn


@dataclass(frozen=True)
class DistributedContext:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @classmethod
    def from_env(cls) -> "DistributedContext":
        """Read torchrun's variables; a single process when WORLD_SIZE is unset or 1."""
        world_size = int(os.environ.get("WORLD_SIZE", "1"))
        if world_size <= 1:
            return cls()
        return cls(rank=int(os.environ["RANK"]), world_size=world_size,
                   local_rank=int(os.environ.get("LOCAL_RANK", "0")))

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def device(self, requested: torch.device) -> torch.device:
        """Each rank's device: ``cuda:LOCAL_RANK`` when training on CUDA, else ``requested``."""
        if self.enabled and requested.type == "cuda":
            return torch.device("cuda", self.local_rank)
        return requested

    def setup(self, device: torch.device) -> None:
        """Initialise the default process group once (env:// rendezvous from torchrun)."""
        if not self.enabled or dist.is_initialized():
            return
        if device.type == "cuda":
            torch.cuda.set_device(device)
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")

    def wrap(self, model: nn.Module, device: torch.device) -> nn.Module:
        if not self.enabled:
            return model
        device_ids = [device.index] if device.type == "cuda" else None
        return nn.parallel.DistributedDataParallel(model, device_ids=device_ids)

    def sampler(self, dataset: Any, seed: int, shuffle: bool = True):
        """A DistributedSampler for this rank (None in a single process)."""
        if not self.enabled:
            return None
        from torch.utils.data.distributed import DistributedSampler

        return DistributedSampler(dataset, num_replicas=self.world_size, rank=self.rank, shuffle=shuffle, seed=seed)

    def all_reduce_sum(self, tensor: torch.Tensor) -> torch.Tensor:
        if not self.enabled:
            return tensor
        work = tensor.clone().to(_collective_device())
        dist.all_reduce(work, op=dist.ReduceOp.SUM)
        return work.to(tensor.device)

    def all_gather_objects(self, items: list) -> list:
        """Concatenate each rank's list, in rank order."""
        if not self.enabled:
            return items
        gathered: list[list | None] = [None] * self.world_size
        dist.all_gather_object(gathered, items)
        return [item for part in gathered for item in (part or [])]

    def barrier(self) -> None:
        if self.enabled:
            dist.barrier()


def _collective_device() -> torch.device:
    if dist.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")
