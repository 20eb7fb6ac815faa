"""`Config`: one dataclass per rodent-gbp run, with the "smoke", "quick" and "full" presets."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class Config:
    """Settings of one run (paper: Matos et al., AIAI 2019, rodent brain U-Net + guided backprop).

    data_root: folder holding ``mouse_brain/`` (real data) or None for the synthetic brain phantom.
    Optimiser (paper): SGD, lr 3e-4, momentum 0.9, batch 5, lr / (1 + time_decay * step); soft Dice.
    Enhancement (paper): z = zscore(log(|g| + eps)); f(z) = exp(-((z - bump_centre) / bump_width)^2).
    """

    data_root: str | Path | None = None
    device: str | None = None
    seed: int = 0
    out_dir: str | Path | None = None  # training runs go under it (default: a temporary folder)
    # data
    image_size: int = 64  # phantom slice size (real slices keep their 128 x 80 grid)
    n_train: int = 48  # phantom training slices
    n_test: int = 8  # phantom / real test slices
    train_animals: int = 4  # real data: animals for training (the rest are held out for testing)
    slice_step: int = 2  # real data: keep every n-th slice
    min_brain_fraction: float = 0.12  # real data: skip slices with less brain
    slice_size: tuple[int, int] | None = None  # real data: resample slices to (H, W); None keeps 128 x 80
    # model
    base_channels: int = 8
    depth: int = 3
    # training
    epochs: int = 6
    batch_size: int = 5
    lr: float = 3e-4
    momentum: float = 0.9
    time_decay: float = 1e-6
    # guided-backprop enhancement and mask placement
    log_eps: float = 1e-6
    bump_centre: float = 2.0
    bump_width: float = 0.5
    smooth_sigma: float = 1.0  # Gaussian blur (px) of the enhanced image before correlation; 0 = none
    template_margin: int = 2  # pixels of border around the reference mask's bounding box
    shifts: tuple[tuple[int, int], ...] = ((0, 0), (-6, 0), (0, 8), (5, -5), (-8, 10))
    progress: bool = False
    limit_steps: int | None = None  # dry run: stop training after this many optimisation steps (dry_run.py)

    @classmethod
    def preset(cls, name: str, **overrides: Any) -> "Config":
        """"smoke" (tests: seconds), "quick" (<= ~90 s on 2 CPU cores), "full" (paper scale, GPU).

        ``None`` overrides are ignored, so ``preset("quick", data_root=None, device=None)`` keeps defaults.
        """
        if name not in _PRESETS:
            raise ValueError(f"preset: got {name!r}, expected one of {sorted(_PRESETS)}")
        values = dict(_PRESETS[name])
        values.update({key: value for key, value in overrides.items() if value is not None})
        unknown = set(values) - {field.name for field in dataclasses.fields(cls)}
        if unknown:
            raise ValueError(f"Config.preset({name!r}): unknown fields {sorted(unknown)}")
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


# quick/smoke raise the learning rate: the paper's 3e-4 with SGD needs far more steps than ~1 minute of CPU
_PRESETS: dict[str, dict[str, Any]] = {
    "smoke": dict(image_size=32, n_train=10, n_test=2, epochs=1, base_channels=4, depth=2, lr=0.05,
                  train_animals=1, slice_step=8, slice_size=(32, 20), shifts=((0, 0), (3, -2))),
    "quick": dict(image_size=64, n_train=60, n_test=8, epochs=8, base_channels=8, depth=3,
                  train_animals=4, slice_step=4, slice_size=(64, 40), lr=0.08,
                  shifts=((0, 0), (-3, 0), (0, 4), (3, -3), (-4, 5))),
    "full": dict(image_size=128, n_train=800, n_test=64, epochs=100, base_channels=32, depth=4, lr=3e-4,
                 train_animals=4, slice_step=1, progress=True,
                 shifts=((0, 0), (-10, 0), (0, 10), (8, -8), (-12, 16), (16, 4))),
}
