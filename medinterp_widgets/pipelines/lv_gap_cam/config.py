"""`Config`: one dataclass per LV GAP-FCN run, with the smoke / quick / full presets."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PAPER = {"dice_percent": 94.48, "apd_mm": 1.93, "epochs": 50, "lr": 0.02, "decay_rate": 0.73, "decay_steps": 10_000}
DATASETS = ("auto", "sunnybrook", "acdc", "synthetic")


@dataclass
class Config:
    """Everything one reproduction run needs.

    dataset: "auto" = ACDC for the full preset / Sunnybrook otherwise when ``data_root`` holds the set,
    else synthetic cine slices. cam_loss_weight: lambda of the LV-area term on the GAP head (see
    ``losses.CamAreaLoss``); 0 turns it off (the CAM head then stays untrained).
    """

    preset: str = "quick"
    data_root: str | Path | None = None
    device: str | None = None
    seed: int = 0
    dataset: str = "auto"
    image_size: int = 64
    crop_fraction: float = 0.5  # central crop before resizing (the LV sits near the centre of the field)
    val_fraction: float = 0.34
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
    pixel_loss: str = "dice_ce"  # "ce" or "dice_ce" (cross-entropy + soft Dice, robust to the LV's ~2 % share)
    # optimisation (the paper's knobs: LR, decay rate, decay steps)
    epochs: int = 8
    batch_size: int = 4
    optimizer: str = "adam"
    lr: float = 3e-3
    decay_rate: float = 0.73
    decay_steps: int = 10_000
    # Optuna search of (lr, decay_rate, decay_steps); 0 trials skips it
    sweep_trials: int = 3
    sweep_epochs: int = 3
    # U-Net baseline trained the same way (0 epochs skips it)
    unet_epochs: int = 8
    unet_base_channels: int = 8
    monitor_every: int = 2
    cam_examples: int = 4
    out_dir: str | Path | None = None  # runs + sweep database; None: a temporary folder
    limit_steps: int | None = None  # dry run: cap every training run's steps and the search's trials (dry_run.py)
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.preset, str):  # Config() directly: the field default is the classmethod below
            self.preset = "custom"
        if self.dataset not in DATASETS:
            raise ValueError(f"Config.dataset: expected one of {DATASETS}, got {self.dataset!r}")
        if self.cam_loss_mode not in ("dense", "area"):
            raise ValueError(f"Config.cam_loss_mode: expected 'dense' or 'area', got {self.cam_loss_mode!r}")
        if self.pixel_loss not in ("ce", "dice_ce"):
            raise ValueError(f"Config.pixel_loss: expected 'ce' or 'dice_ce', got {self.pixel_loss!r}")
        if not 0.0 < self.crop_fraction <= 1.0:
            raise ValueError(f"Config.crop_fraction: expected a value in (0, 1], got {self.crop_fraction}")
        if self.image_size % 2 ** self.depth:
            raise ValueError(f"Config.image_size: {self.image_size} must be a multiple of 2**depth = {2 ** self.depth}")

    @classmethod
    def preset(cls, name: str, **overrides: Any) -> "Config":
        """``smoke`` (tests, seconds), ``quick`` (~90 s on 2 CPU cores) or ``full`` (paper scale, a GPU)."""
        if name not in PRESETS:
            raise ValueError(f"Config.preset: expected one of {sorted(PRESETS)}, got {name!r}")
        values = {**PRESETS[name], **{k: v for k, v in overrides.items()}}
        return cls(preset=name, **values)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


PRESETS: dict[str, dict[str, Any]] = {
    "smoke": dict(dataset="synthetic", image_size=32, crop_fraction=1.0, synthetic_cases=2, synthetic_slices=2, synthetic_phases=2,
                  base_channels=4, depth=2, epochs=1, batch_size=4, sweep_trials=1, sweep_epochs=1,
                  unet_epochs=1, unet_base_channels=4, cam_examples=2, monitor_every=1),
    "quick": dict(),
    "full": dict(image_size=256, crop_fraction=1.0, base_channels=64, depth=4, convs_per_stage=3, epochs=PAPER["epochs"],
                 batch_size=16, lr=PAPER["lr"], decay_rate=PAPER["decay_rate"],
                 decay_steps=PAPER["decay_steps"], sweep_trials=12, sweep_epochs=10, unet_epochs=PAPER["epochs"],
                 unet_base_channels=32, monitor_every=50, cam_examples=6, val_fraction=0.2),
}
