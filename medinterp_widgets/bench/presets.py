"""`medinterp bench presets`: how long each `reproduce NAME --full` trains on this machine.

Per full preset, each model it trains runs real Trainer steps (the preset's model, loss, optimiser,
batch size and input size, random inputs) and a no-grad forward of one validation batch. The time of
a step is the median gap between consecutive StepEnd events after ``--warmup`` steps (data loading,
forward, loss, backward, optimiser step and the per-step metrics, as in a real run). Estimated
training time = sum over the preset's runs of steps x step time + validation batches x forward time,
with step counts from the preset and the training-set sizes of the shared data (``TRAIN_ITEMS``).
On a GPU this is the estimate for that GPU. On a CPU the estimate uses this process's CPU time per step
(``time.process_time``: one thread = one core, robust to other jobs on a shared machine) divided by an
assumed GPU speed-up over one core (``--speedup``; 30x and 60x when unset).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

# training / validation items per run on the shared data (held-out copies are of the same kinds and sizes)
TRAIN_ITEMS = {"lv-gap-cam": (1234, 222), "rodent-gbp": (295, 74), "heatmap-acdc": (450, 150),
               "covid-interp": (398, 100)}
NAMES = ("lv-gap-cam", "rodent-gbp", "heatmap-loss", "covid-interp")


@dataclass
class RunPlan:
    """One kind of training run of a preset: its Trainer factory and how many steps / val batches it does."""

    label: str
    make_trainer: object  # (train TensorDataset, run_dir) -> Trainer
    batch: int
    input_shape: tuple[int, ...]
    n_classes: int
    segmentation: bool
    steps: int
    val_batches: int


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"presets of {', '.join(NAMES)} (default: all)")
    parser.add_argument("--device", default=None, help="cpu, cuda ... (default: automatic)")
    parser.add_argument("--steps", type=int, default=3, help="timed steps per run kind (default 3)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed steps first (default 1)")
    parser.add_argument("--speedup", type=float, default=None,
                        help="on a CPU: assumed GPU speed-up for the estimate (prints 30x and 60x when unset)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's own)")
    parser.add_argument("--json", action="store_true")


def _epochs_steps(items: int, batch: int, epochs: int, drop_last: bool = True) -> int:
    per_epoch = items // batch if drop_last else math.ceil(items / batch)
    return max(per_epoch, 1) * epochs


def _lv_plans(device: str) -> list[RunPlan]:
    from medinterp_widgets.pipelines.lv_gap_cam import training
    from medinterp_widgets.pipelines.lv_gap_cam.config import Config
    from medinterp_widgets.pipelines.lv_gap_cam.data import make_preprocessing

    config = Config.from_preset("full", device=device)
    train_items, val_items = TRAIN_ITEMS["lv-gap-cam"]
    val_batches = math.ceil(val_items / config.batch_size)

    def factory(build, cam_weight):
        def make(train, run_dir):
            tconfig = training.train_config(config, run_dir, 1, make_preprocessing(config), monitor_every=0)
            return training.make_trainer(build(config), SimpleNamespace(train=train, tune=None), tconfig,
                                         config.pixel_loss, cam_weight, (), config.cam_loss_mode)
        return make

    shape = (1, config.image_size, config.image_size)
    sweep_epochs = config.sweep_trials * config.sweep_epochs
    sweep_items = min(train_items, config.sweep_max_train_slices or train_items)
    gap_steps = (_epochs_steps(train_items, config.batch_size, config.epochs)
                 + _epochs_steps(sweep_items, config.batch_size, sweep_epochs))
    return [
        RunPlan("GapFCN (search + final)", factory(training.build_gapfcn, config.cam_loss_weight), config.batch_size,
                shape, 2, True, gap_steps, val_batches * (sweep_epochs + config.epochs)),
        RunPlan("U-Net baseline", factory(training.build_unet, None), config.batch_size, shape, 2, True,
                _epochs_steps(train_items, config.batch_size, config.unet_epochs), val_batches * config.unet_epochs),
    ]


def _rodent_plans(device: str) -> list[RunPlan]:
    from medinterp_widgets.pipelines.rodent_gbp import training
    from medinterp_widgets.pipelines.rodent_gbp.config import Config

    config = Config.from_preset("full", device=device)

    def make(train, run_dir):
        return training.make_trainer(config, train, Path(run_dir), device or "auto")

    items, val_items = TRAIN_ITEMS["rodent-gbp"]
    return [RunPlan("U-Net (SGD, soft Dice)", make, config.batch_size, (1, 128, 80), 4, True,
                    _epochs_steps(items, config.batch_size, config.epochs, drop_last=False),
                    math.ceil(val_items / config.batch_size) * config.epochs)]


def _heatmap_plans(device: str) -> list[RunPlan]:
    from medinterp_widgets.pipelines.heatmap_loss import study
    from medinterp_widgets.pipelines.heatmap_loss.config import Config
    from medinterp_widgets.training import TrainConfig, Trainer

    config = Config.from_preset("full", device=device)
    runs_per_group = config.models_per_group * config.sweep_trials * config.epochs  # epochs per group

    def factory(loss):
        def make(train, run_dir):
            tconfig = TrainConfig(epochs=1, batch_size=config.batch_size, device=device or "auto",
                                  task="classification", num_classes=2, run_dir=str(run_dir), drop_last=True,
                                  progress=False, save_checkpoints=False)
            return Trainer(study.build_model(config, 2, 0), train, None, tconfig, loss=study.make_loss(loss, config))
        return make

    plans = []
    acdc_train, acdc_val = TRAIN_ITEMS["heatmap-acdc"]
    for study_name in config.studies:
        dataset, _, loss = study_name.partition(":")
        train_items, val_items = (acdc_train, acdc_val) if dataset == "acdc" else (config.n_train, config.n_val)
        plans.append(RunPlan(f"{study_name} x {config.models_per_group} models x {config.sweep_trials} trials",
                             factory(loss), config.batch_size, (1, config.size, config.size), 2, False,
                             _epochs_steps(train_items, config.batch_size, runs_per_group),
                             math.ceil(val_items / config.batch_size) * runs_per_group))
    return plans


def _covid_plans(device: str) -> list[RunPlan]:
    """The paper AlexNet per fold and the explained classifier's fine-tuning per fold and variant (the
    SimCLR pretraining, run once, is timed as fine-tuning steps of the same net with two views)."""
    from medinterp_widgets.pipelines.covid_interp import baseline, classifier
    from medinterp_widgets.pipelines.covid_interp.config import Config
    from medinterp_widgets.training import Trainer

    config = Config.from_preset("full", device=device)
    train_items, val_items = TRAIN_ITEMS["covid-interp"]
    folds = config.folds_to_run or config.folds
    runs = folds * (1 + len(config.ablations))

    def alexnet(train, run_dir):
        return Trainer(baseline.build_alexnet(config), train, None,
                       baseline.train_config(config, Path(run_dir), 0, train_items))

    def explained(train, run_dir):
        prep = classifier.preprocess_of(config)
        return Trainer(classifier.build_classifier(config), train, None,
                       classifier.fine_tune_config(config, Path(run_dir), 0, train_items, prep, "final"))

    ssl_steps = config.ssl_epochs * max(1, (train_items + val_items) // config.ssl_batch_size)
    return [RunPlan(f"AlexNet x {folds} folds", alexnet, config.alexnet_batch_size,
                    (1, config.alexnet_size, config.alexnet_size), 2, False,
                    _epochs_steps(train_items, config.alexnet_batch_size, config.alexnet_epochs * folds, False),
                    math.ceil(val_items / config.alexnet_batch_size) * config.alexnet_epochs * folds),
            RunPlan(f"SmallResNet x {runs} fold runs", explained, config.batch_size,
                    (1, config.image_size, config.image_size), 2, False,
                    _epochs_steps(train_items, config.batch_size, config.epochs * runs),
                    math.ceil(val_items / config.batch_size) * config.epochs * runs),
            RunPlan("SimCLR (as 2-view steps)", explained, 2 * config.ssl_batch_size,
                    (1, config.image_size, config.image_size), 2, False, ssl_steps, 0)]


PLANS = {"lv-gap-cam": _lv_plans, "rodent-gbp": _rodent_plans, "heatmap-loss": _heatmap_plans,
         "covid-interp": _covid_plans}


def time_plan(plan: RunPlan, steps: int, warmup: int) -> dict:
    """Seconds per training step (median StepEnd gap) and per no-grad validation batch of ``plan``."""
    import torch
    from torch.utils.data import TensorDataset

    from medinterp_widgets.bench.timing import time_call
    from medinterp_widgets.training import StepEnd

    count = plan.batch * (steps + warmup + 1)
    x = torch.rand(count, *plan.input_shape)
    y = (torch.randint(0, plan.n_classes, (count, *plan.input_shape[1:])) if plan.segmentation
         else torch.randint(0, 2, (count,)))
    extras = () if plan.segmentation else (torch.rand(count, *plan.input_shape[1:]) > 0.5,)  # heatmap-loss mask
    stamps: list[tuple[float, float]] = []  # (wall, process CPU) at each StepEnd
    with tempfile.TemporaryDirectory() as folder:
        trainer = plan.make_trainer(TensorDataset(x, y, *[e.float() for e in extras]), folder)
        trainer.config = _capped(trainer.config, steps + warmup + 1)
        trainer.callbacks.append(lambda event: stamps.append((time.perf_counter(), time.process_time()))
                                 if isinstance(event, StepEnd) else None)
        trainer.fit()
        model, device = trainer.base_model.eval(), trainer.device
        batch = x[:plan.batch].to(device)
        with torch.no_grad():
            forward = time_call(lambda: model(batch), device, repeats=steps, warmup=1).median_ms / 1000
        cpu_start = time.process_time()
        with torch.no_grad():
            model(batch)
        forward_cpu = time.process_time() - cpu_start
    pairs = list(zip(stamps[warmup:], stamps[warmup + 1:]))
    return {"step_s": statistics.median(b[0] - a[0] for a, b in pairs), "val_batch_s": forward,
            "step_cpu_s": statistics.median(b[1] - a[1] for a, b in pairs), "val_batch_cpu_s": forward_cpu}


def _capped(config, steps: int):
    return dataclasses.replace(config, epochs=1, max_steps=steps, save_checkpoints=False, monitor_every=0,
                               progress=False)


def estimate(names, device: str, steps: int, warmup: int) -> list[dict]:
    """One row per run kind: its timings and ``hours_here`` (CPU time on a CPU, wall time on a GPU)."""
    rows = []
    suffix = "_cpu_s" if device == "cpu" else "_s"
    for name in names:
        for plan in PLANS[name](device):
            timing = time_plan(plan, steps, warmup)
            hours = (plan.steps * timing[f"step{suffix}"] + plan.val_batches * timing[f"val_batch{suffix}"]) / 3600
            rows.append({"preset": name, "run": plan.label, "steps": plan.steps, "val_batches": plan.val_batches,
                         **timing, "hours_here": hours})
    return rows


def run(args: argparse.Namespace) -> int:
    import torch

    from medinterp_widgets.devices import resolve_device, tune_for_speed

    if args.threads:
        torch.set_num_threads(args.threads)
    unknown = sorted(set(args.names) - set(NAMES))
    if unknown:
        raise SystemExit(f"medinterp bench presets: unknown preset(s) {unknown}; expected some of {list(NAMES)}")
    device = resolve_device(args.device)
    tune_for_speed(device)
    rows = estimate(args.names or NAMES, str(device), args.steps, args.warmup)
    speedups = [args.speedup] if args.speedup else ([30.0, 60.0] if device.type == "cpu" else [1.0])
    if args.json:
        print(json.dumps({"device": str(device), "speedups": speedups, "rows": rows}))
        return 0
    print(f"device {device}; estimated hours at speed-up {' / '.join(f'{s:g}x' for s in speedups)}")
    for row in rows:
        scaled = " / ".join(f"{row['hours_here'] / s:.2f}" for s in speedups)
        print(f"{row['preset']:13s} {row['run']:45s} {row['steps']:7d} steps {row['step_s'] * 1000:8.1f} ms/step "
              f"(cpu {row['step_cpu_s'] * 1000:8.1f}) {row['val_batch_s'] * 1000:7.1f} ms/val batch  -> {scaled} h")
    for name in dict.fromkeys(row["preset"] for row in rows):
        total = sum(row["hours_here"] for row in rows if row["preset"] == name)
        print(f"{name:13s} total training: {' / '.join(f'{total / s:.2f}' for s in speedups)} h")
    return 0
