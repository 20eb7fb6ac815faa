"""Cost of layer monitoring, as ratios against plain training steps measured in the same run.

    python -m benchmarks.training_monitor [--steps 40] [--size 64]     (from the repository root)

Prints JSON: seconds per step without monitoring (baseline), with a sample on every step, and with
``monitor_every=20``; each as a ratio to the baseline. Sampled steps add forward hooks and one
summary; the others should cost nothing (ratio ~1.0).
"""

from __future__ import annotations

import argparse
import json
import statistics
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
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    _seconds_per_step(0, 4, args.size)  # warm-up
    timings: dict[int, list[float]] = {0: [], 1: [], 20: []}
    for _ in range(args.rounds):  # interleaved rounds, medians: robust to a busy machine
        for every in timings:
            timings[every].append(_seconds_per_step(every, args.steps, args.size))
    baseline, every_step, sparse = (statistics.median(timings[k]) for k in (0, 1, 20))
    print(json.dumps({"baseline_s_per_step": baseline, "monitor_every_1_ratio": every_step / baseline,
                      "monitor_every_20_ratio": sparse / baseline, "steps": args.steps, "size": args.size,
                      "rounds": args.rounds}))


if __name__ == "__main__":
    main()
