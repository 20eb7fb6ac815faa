"""`Config`: one dataclass per rodent-gbp run, with the "smoke", "quick", "paper" and "full" presets."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from medinterp_widgets.pipelines.config import PipelineConfig

from .data import INPUT_SCALES

PLACEMENTS = ("paper", "multi")


@dataclass
class Config(PipelineConfig):
    """Settings of one run (paper: Matos et al., rodent brain U-Net + guided backprop).

    data_root: folder holding ``mouse_brain/`` (real data) or None for synthetic brain phantoms.
    Training (paper): 4-class softmax U-Net, soft Dice loss, SGD lr 3e-4, momentum 0.9, batch 5,
    lr / (1 + time_decay * step) with time_decay 1.5e-6; 80/20 animals, then 80/20 of the training
    slices for validation; the best epoch by validation Dice is kept.
    Enhancement (paper): linear expansion to 0..expand_max, log compression log(1 + x), z-score,
    f(z) = exp(-((z - bump_centre) / bump_width)^2). Placement: "paper" = the mask of one reference
    animal times its enhanced map, plain 2-D cross-correlation per slice after aligning the sagittal
    axis; "multi" = normalised cross-correlation with every training animal over in-plane rotations
    (3-D offset), each aligned mask deformed by the optical flow between the log-compressed GBP maps,
    the masks fused by majority vote. ``placement`` picks the one whose mask removes the background
    for re-segmentation; both are measured.
    """

    data_root: str | Path | None = None
    device: str | None = None
    seed: int = 0
    out_dir: str | Path | None = None  # training runs go under it (default: a temporary folder)
    progress: bool = False
    limit_steps: int | None = None  # dry run: stop training after this many optimisation steps (dry_run.py)
    # data
    tissue: str = "mixture"  # ground truth: "mixture" (atlas-prior Gaussian mixture) or "labels"
    test_animals: tuple[int, ...] = (6,)  # real data: held-out animals (1-based); the rest train
    slice_size: tuple[int, int] | None = None  # resample slices to (H, W); None keeps 128 x 80
    input_scale: str = "brain_median"  # each animal's intensity divisor: 2 x median, or "percentile" (p99.5; data.py)
    min_brain_fraction: float = 0.02  # training slices: at least this much brain
    slice_step: int = 1  # training slices: every n-th
    context: int = 0  # 2.5-D input: this many neighbouring slices on each side as extra channels (0 = paper)
    val_fraction: float = 0.2  # of the training slices, for model selection
    phantom_animals: int = 4  # no data: synthetic animals (the last one is the test animal)
    phantom_shape: tuple[int, int, int] = (24, 48, 32)
    # model
    base_channels: int = 16
    depth: int = 4
    # training
    epochs: int = 40
    batch_size: int = 5
    optimizer: str = "sgd"
    lr: float = 3e-4
    momentum: float = 0.9
    time_decay: float = 1.5e-6
    lr_drop_epoch: int = 0  # > 0: multiply the learning rate by lr_drop once, at this epoch (0: the paper's decay)
    lr_drop: float = 0.1
    loss: str = "dice"  # "dice" (paper: soft Dice over the 4 classes) or "dice_ce" (+ cross-entropy)
    dice_weights: tuple[float, float, float, float] | None = None  # soft Dice weights bg / WM / GM / CSF (None: mean)
    augment_rotation: float = 0.0  # training slices: random in-plane rotation within +-this many degrees (augment.py)
    augment_scale: float = 0.0  # random zoom by 1 +- this
    augment_intensity: float = 0.0  # random gain and gamma exp(+-this) on brain voxels
    augment_mirror: bool = False  # random reversal of the context channels (a left-right mirrored brain)
    baseline_epochs: int = 0  # also train with the paper's SGD lr 3e-4 for this many epochs (a report row)
    # guided-backprop enhancement and mask placement
    expand_max: float = 255.0
    bump_centre: float = 2.0
    bump_width: float = 0.5
    smooth_sigma: float = 1.0  # Gaussian blur (px) of the enhanced map before correlation; 0 = none
    placement: str = "multi"
    reference_animal: int = 1  # "paper" placement: which training animal gives the template (1-based)
    angles: tuple[float, ...] = (-9.0, -6.0, -3.0, 0.0, 3.0, 6.0, 9.0)  # "multi": in-plane rotations (deg)
    flow: bool = True  # "multi": deform each aligned reference mask by the optical flow of the GBP feature maps
    flow_iterations: int = 20  # TV-L1 iterations per warp (3 warps)
    # experiments (Fig. 3 translation, Fig. 4 noise)
    shifts: tuple[tuple[int, int], ...] = ((0, 0), (-10, 0), (0, 10), (8, -8), (-12, 16), (16, 4))
    noise_levels: tuple[float, ...] = (0.0, 0.02, 0.05, 0.1, 0.2)

    def __post_init__(self) -> None:
        if self.placement not in PLACEMENTS:
            raise ValueError(f"Config.placement: expected one of {PLACEMENTS}, got {self.placement!r}")
        if self.tissue not in ("mixture", "labels"):
            raise ValueError(f"Config.tissue: expected 'mixture' or 'labels', got {self.tissue!r}")
        if self.input_scale not in INPUT_SCALES:
            raise ValueError(f"Config.input_scale: expected one of {INPUT_SCALES}, got {self.input_scale!r}")
        if self.loss not in ("dice", "dice_ce"):
            raise ValueError(f"Config.loss: expected 'dice' or 'dice_ce', got {self.loss!r}")
        if self.dice_weights is not None and (len(self.dice_weights) != 4 or min(self.dice_weights) < 0
                                              or sum(self.dice_weights) <= 0):
            raise ValueError(f"Config.dice_weights: expected 4 non-negative weights (bg, WM, GM, CSF) with a positive "
                             f"sum, or None; got {self.dice_weights!r}")
        if not isinstance(self.context, int) or self.context < 0:
            raise ValueError(f"Config.context: expected an integer >= 0 (neighbouring slices per side), "
                             f"got {self.context!r}")
        if self.optimizer not in ("sgd", "adam"):
            raise ValueError(f"Config.optimizer: expected 'sgd' or 'adam', got {self.optimizer!r}")

    @classmethod
    def presets(cls) -> dict[str, dict[str, Any]]:
        """"smoke" (tests: seconds), "quick" (<= 3 min on 2 CPU cores), "paper" (<= 30 min on 2 CPU
        cores, reaches the targets), "full" (paper scale: the paper's optimiser, 128 x 80, GPU)."""
        return _PRESETS

    @property
    def augmenting(self) -> bool:
        """Whether any ``augment_*`` setting is on (training slices then go through ``AugmentedSlices``)."""
        return bool(self.augment_rotation or self.augment_scale or self.augment_intensity or self.augment_mirror)

    @property
    def input_channels(self) -> int:
        """Channels of the network input: the slice and ``context`` neighbours on each side."""
        return 2 * self.context + 1


_PRESETS: dict[str, dict[str, Any]] = {
    "smoke": dict(phantom_animals=3, phantom_shape=(16, 32, 20), epochs=1, base_channels=4, depth=2,
                  optimizer="sgd", lr=0.05, slice_size=(32, 20), slice_step=8, angles=(0.0,), flow_iterations=2,
                  shifts=((0, 0), (3, -2)), noise_levels=(0.0, 0.1)),
    "quick": dict(epochs=30, base_channels=8, depth=3, slice_size=(64, 40), optimizer="adam", lr=1e-3, context=2,
                  angles=(-6.0, 0.0, 6.0), flow_iterations=10, shifts=((0, 0), (-5, 0), (0, 5), (4, -4), (-6, 8)),
                  noise_levels=(0.0, 0.05, 0.1, 0.2)),
    "paper": dict(epochs=65, base_channels=16, depth=4, optimizer="adam", lr=1e-3, lr_drop_epoch=50, context=2,
                  dice_weights=(1.0, 2.0, 1.0, 2.0), baseline_epochs=10),
    "full": dict(epochs=100, base_channels=32, depth=4, optimizer="sgd", lr=3e-4, progress=True),
}
