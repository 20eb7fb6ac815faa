"""Cost of layer monitoring, as ratios against plain training steps measured in the same run.

    python benchmarks/training_monitor.py [--steps 40] [--size 64]

Prints JSON: seconds per step without monitoring (baseline), with a sample on every step, and with
``monitor_every=20``; each as a ratio to the baseline. Sampled steps add forward hooks and one
summary; the others should cost nothing (ratio ~1.0).
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from medinterp_widgets.models import GapFCN
from medinterp_widgets.training import TrainConfig, Trainer


def _seconds_per_step(monitor_every: int, steps: int, size: int) -> float:
    torch.manual_seed(0)
    images = torch.rand(steps * 2, 1, size, size)
    data = torch.utils.data.TensorDataset(images, (images[:, 0] > 0.5).long())
    model = GapFCN(in_channels=1, n_classes=2, base_channels=8, depth=3, convs_per_stage=2)
    config = TrainConfig(epochs=1, batch_size=2, progress=False, monitor_every=monitor_every, lr=1e-3)
    trainer = Trainer(model, data, None, config)
    started = time.perf_counter()
    trainer.fit()
    return (time.perf_counter() - started) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--size", type=int, default=64)
    args = parser.parse_args()
    _seconds_per_step(0, 4, args.size)  # warm-up
    baseline = _seconds_per_step(0, args.steps, args.size)
    every = _seconds_per_step(1, args.steps, args.size)
    sparse = _seconds_per_step(20, args.steps, args.size)
    print(json.dumps({"baseline_s_per_step": baseline, "monitor_every_1_ratio": every / baseline,
                      "monitor_every_20_ratio": sparse / baseline, "steps": args.steps, "size": args.size}))


if __name__ == "__main__":
    main()
