"""`Config`: one dataclass per LV GAP-FCN run, with the smoke / quick / full presets."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from medinterp_widgets.data.preprocessing import TEST_TIME_MODES
from medinterp_widgets.pipelines.config import PipelineConfig

PAPER = {"dice_percent": 94.48, "apd_mm": 1.93, "accuracy_percent": 99.7, "epochs": 50, "lr": 0.02,
         "decay_rate": 0.73, "decay_steps": 10_000}
DATASETS = ("auto", "sunnybrook", "acdc", "acdc+sunnybrook", "synthetic")
INTENSITIES = ("minmax", "percentile", "zscore", "none")
# pixel loss name -> (training.losses.build_loss name, its keyword arguments)
PIXEL_LOSSES = {"ce": ("ce", {}), "dice_ce": ("dice_ce", {}),
                "dice_ce_image": ("dice_ce", {"include_background": False, "per_image": True})}


@dataclass
class Config(PipelineConfig):
    """Everything one reproduction run needs.

    dataset: "auto" = every real set under ``data_root`` (ACDC and Sunnybrook), else synthetic cine
    slices; splits in ``data.py``. Inputs: central square crop ``crop_fraction`` of the longer side,
    ``intensity`` scaling, resized to ``image_size``^2 (one ``Preprocessing`` stored in each checkpoint).
    Optimiser: SGD with momentum (DIGITS' default solver; the paper's LR 0.02 is an SGD-scale rate).
    cam_loss_weight: lambda of the LV-area term on the GAP head (see ``losses.CamAreaLoss``); 0 turns it
    off (the CAM head then stays untrained).
    """

    data_root: str | Path | None = None
    device: str | None = None
    seed: int = 0
    dataset: str = "auto"
    image_size: int = 64
    crop_fraction: float = 0.5  # central square crop before resizing (the LV sits near the centre of the field)
    intensity: str = "percentile"  # per-image scaling of the crop (data/preprocessing.py)
    augment: bool = True  # flips / quarter turns, small affine, gamma (augment.py)
    augment_scale: tuple[float, float] = (0.85, 1.15)  # the affine's isotropic zoom range
    largest_component: bool = True  # keep the largest LV component per slice / volume (Preprocessing step 6)
    test_time: str = "dihedral"  # scoring: mean probabilities over the 8 flips / quarter turns the augmentation trains
    val_fraction: float = 0.34  # synthetic phantoms held out
    sunnybrook_val_fraction: float = 0.34  # Sunnybrook studies held out for validation (1 of the 3 shared)
    sunnybrook_repeat: int = 4  # copies of each Sunnybrook training slice per epoch
    acdc_slices_per_epoch: int | None = None  # ACDC training slices drawn afresh each epoch (None: all of them)
    acdc_tune_fraction: float = 0.15  # ACDC training patients that choose the best epoch / search trial
    synthetic_cases: int = 3
    synthetic_slices: int = 4
    synthetic_phases: int = 4
    max_train_slices: int | None = None
    # GapFCN
    base_channels: int = 8
    depth: int = 3
    convs_per_stage: int = 2
    cam_loss_weight: float = 0.5
    cam_loss_mode: str = "dense"  # "dense": per-cell LV share on the GAP layer's grid; "area": image level only
    # "ce", "dice_ce" (cross-entropy + batch soft Dice, robust to the LV's ~2 % share) or "dice_ce_image"
    # (cross-entropy + the LV's soft Dice per image, averaged: a small apical slice weighs as much as a large one;
    # measured on --paper: ACDC 0.927 -> 0.932 but Sunnybrook 0.932 -> 0.924, so not the default)
    pixel_loss: str = "dice_ce"
    # optimisation (the paper's knobs: LR, decay rate, decay steps)
    epochs: int = 50
    batch_size: int = 2
    optimizer: str = "sgd"
    momentum: float = 0.9
    weight_decay: float = 1e-4
    lr: float = PAPER["lr"]
    decay_rate: float = PAPER["decay_rate"]
    decay_steps: int = PAPER["decay_steps"]
    # Optuna search of (lr, decay_rate, decay_steps), reported beside the paper-schedule model; 0 skips it
    sweep_trials: int = 3
    sweep_epochs: int = 3
    sweep_max_train_slices: int | None = None  # search on a (shuffled) subset of the training slices
    # U-Net baseline trained the same way (0 epochs skips it)
    unet_epochs: int = 8
    # GapFCN weights = the mean of the last N epochs' weights (SWA; training.averaging), 0: the best tuning epoch
    average_last_epochs: int = 0
    unet_base_channels: int = 8
    monitor_every: int = 2
    cam_examples: int = 4
    out_dir: str | Path | None = None  # runs + sweep database; None: a temporary folder
    limit_steps: int | None = None  # dry run: cap every training run's steps and the search's trials (dry_run.py)
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.dataset not in DATASETS:
            raise ValueError(f"Config.dataset: expected one of {DATASETS}, got {self.dataset!r}")
        if self.cam_loss_mode not in ("dense", "area"):
            raise ValueError(f"Config.cam_loss_mode: expected 'dense' or 'area', got {self.cam_loss_mode!r}")
        if self.pixel_loss not in PIXEL_LOSSES:
            raise ValueError(f"Config.pixel_loss: expected one of {tuple(PIXEL_LOSSES)}, got {self.pixel_loss!r}")
        if not 0.0 < self.crop_fraction <= 1.0:
            raise ValueError(f"Config.crop_fraction: expected a value in (0, 1], got {self.crop_fraction}")
        if self.test_time not in TEST_TIME_MODES:
            raise ValueError(f"Config.test_time: expected one of {TEST_TIME_MODES}, got {self.test_time!r}")
        if self.intensity not in INTENSITIES:
            raise ValueError(f"Config.intensity: expected one of {INTENSITIES}, got {self.intensity!r}")
        scale = tuple(self.augment_scale)
        if not (len(scale) == 2 and 0.0 < scale[0] <= scale[1]):
            raise ValueError(f"Config.augment_scale: expected (low, high) zoom factors with 0 < low <= high, "
                             f"got {self.augment_scale!r}")
        if not 0 <= self.average_last_epochs <= self.epochs:
            raise ValueError(f"Config.average_last_epochs: expected 0..epochs ({self.epochs}), "
                             f"got {self.average_last_epochs}")
        if self.image_size % 2 ** self.depth:
            raise ValueError(f"Config.image_size: {self.image_size} must be a multiple of 2**depth = {2 ** self.depth}")

    @classmethod
    def presets(cls) -> dict[str, dict[str, Any]]:
        """``smoke`` (tests, seconds), ``quick`` (CI / demos, <= 3 min on 2 CPU cores), ``paper`` (the
        targets, <= 30 min on 2 CPU cores) or ``full`` (the paper's scale, one GPU)."""
        return PRESETS


PRESETS: dict[str, dict[str, Any]] = {
    "smoke": dict(dataset="synthetic", image_size=32, crop_fraction=1.0, synthetic_cases=2, synthetic_slices=2,
                  synthetic_phases=2, base_channels=4, depth=2, epochs=1, batch_size=4, lr=0.01, sweep_trials=1,
                  sweep_epochs=1, unet_epochs=1, unet_base_channels=4, cam_examples=2, monitor_every=1),
    # CI / demos: the paper's schedule shape at a few epochs (LR decays every 200 steps so it shows)
    "quick": dict(epochs=4, batch_size=4, lr=0.01, decay_steps=200, sweep_trials=2, sweep_epochs=1,
                  sweep_max_train_slices=300, unet_epochs=2, monitor_every=20),
    # the targets on 2 CPU cores: the paper's LR / decay / 50 epochs, batch 2 so 10,000-step decays happen;
    # the GapFCN is the mean of the last 20 epochs' weights (README: the epoch-to-epoch spread on unseen studies)
    "paper": dict(image_size=96, crop_fraction=0.5, base_channels=12, depth=3, convs_per_stage=2,
                  epochs=PAPER["epochs"], batch_size=2, sweep_trials=4, sweep_epochs=2, sweep_max_train_slices=400,
                  unet_epochs=4, unet_base_channels=8, monitor_every=200, cam_examples=6, average_last_epochs=20),
    # the paper's scale on one GPU: full 256^2 fields of view, a 64-wide 4-level VGG-style encoder; ~5 min on
    # one H100 by FLOPs (README), unmeasured
    "full": dict(image_size=256, crop_fraction=1.0, base_channels=64, depth=4, convs_per_stage=3,
                 epochs=PAPER["epochs"], batch_size=2, sweep_trials=12, sweep_epochs=2, sweep_max_train_slices=400,
                 unet_epochs=PAPER["epochs"], unet_base_channels=32, monitor_every=500, cam_examples=6,
                 average_last_epochs=20),
}
