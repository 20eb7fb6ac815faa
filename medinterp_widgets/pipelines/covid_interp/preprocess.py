"""One preprocessing per model, stored in its checkpoint as plain data and used by training and ``evaluate``.

``Preprocess(size, intensity)``: the grey image (0..1) is resized to size x size (area / bilinear, as
the data layer's ``resize_pair``), then its intensities are mapped per image:

- ``zscore``: (x - mean) / (std + 1e-6) (``data.intensity.standardise``);
- ``window``: a robust lung window: w = clip((x - p1) / (p99 - p1), 0, 1) with p1, p99 the image's
  1st and 99th percentiles, then (w - 0.5) / 0.25, so a paper figure printed with a narrow window
  and a full CT slice end on one scale;
- ``equalize``: histogram equalisation (``skimage.exposure.equalize_hist``, 256 bins), then
  (e - 0.5) / 0.29 (a uniform 0..1 variable has sd 0.29).

With ``lungs=True`` (lung focus) everything outside the lung fields (``lungs.lung_mask`` of the 0..1
image, before the intensity mapping) is set to the mapped image's mean inside the fields, so the model
can only draw evidence from the lungs; the UCSD figures and MedSeg slices show the chest wall, the
mediastinum, text and arrows in paper-specific ways that a small classifier otherwise learns instead
of the lesions. ``masks`` may be passed precomputed (training computes them once per image).

``test_time`` (``data.preprocessing.TEST_TIME_MODES``; ``mirror`` for a classifier trained with random
left-right flips): P(class) is the mean over the input and its mirror (``models.test_time``); a checkpoint
that stores none reads ``none``.

``Preprocess.to_dict()`` goes into ``TrainConfig.extra["preprocess"]``; ``from_checkpoint_config``
reads it back (``input_size`` / ``input_normalize`` of older checkpoints are understood too).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
from skimage import exposure

from medinterp_widgets.data.intensity import standardise
from medinterp_widgets.data.preprocessing import TEST_TIME_MODES

from . import lungs as lung_fields

INTENSITIES = ("zscore", "window", "equalize")


@dataclass(frozen=True)
class Preprocess:
    size: int = 128
    intensity: str = "zscore"
    lungs: bool = False
    test_time: str = "none"

    def __post_init__(self) -> None:
        if self.intensity not in INTENSITIES:
            raise ValueError(f"preprocess intensity: got {self.intensity!r}, expected one of {INTENSITIES}")
        if self.test_time not in TEST_TIME_MODES:
            raise ValueError(f"preprocess test_time: got {self.test_time!r}, expected one of {TEST_TIME_MODES}")
        if int(self.size) < 8:
            raise ValueError(f"preprocess size: got {self.size!r}, expected at least 8 pixels")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def apply(self, images: torch.Tensor, masks: np.ndarray | None = None) -> torch.Tensor:
        """(N, 1, size, size) grey images in 0..1 -> network inputs of the same shape (float32); ``masks``
        (N, size, size) bool lung fields when ``lungs`` (None: computed here)."""
        if tuple(images.shape[-2:]) != (self.size, self.size):
            raise ValueError(f"preprocess: images of {tuple(images.shape[-2:])}, expected {self.size} x {self.size}")
        mapped = normalise(images.float(), self.intensity)
        if not self.lungs:
            return mapped
        return focus(mapped, lung_fields.lung_masks(images) if masks is None else masks)

    def masks(self, images: torch.Tensor) -> np.ndarray | None:
        """The lung fields ``apply`` would use (N, size, size) bool, or None without lung focus."""
        return lung_fields.lung_masks(images) if self.lungs else None


def focus(mapped: torch.Tensor, masks) -> torch.Tensor:
    """(N, 1, H, W) mapped images with every pixel outside ``masks`` (N, H, W) set to the image's mean inside."""
    inside = torch.as_tensor(np.asarray(masks), dtype=torch.bool)[:, None]  # (N, 1, H, W)
    if inside.shape != mapped.shape:
        raise ValueError(f"lung focus: masks of shape {tuple(inside.shape)}, expected {tuple(mapped.shape)}")
    weights = inside.to(mapped.dtype)
    mean = (mapped * weights).sum(dim=(1, 2, 3), keepdim=True) / weights.sum(dim=(1, 2, 3), keepdim=True).clamp(min=1)
    return torch.where(inside, mapped, mean)


def normalise(images: torch.Tensor, intensity: str) -> torch.Tensor:
    """Per-image intensity mapping (module docstring) of (N, C, H, W) images in 0..1."""
    if intensity == "zscore":
        return standardise(images)
    flat = images.flatten(1).numpy()  # (N, C*H*W)
    if intensity == "window":
        low, high = np.percentile(flat, [1.0, 99.0], axis=1, keepdims=True)  # (1, N, 1) each
        scaled = np.clip((flat - low) / np.maximum(high - low, 1e-6), 0.0, 1.0)
        return torch.from_numpy(((scaled - 0.5) / 0.25).astype(np.float32)).view_as(images)
    if intensity == "equalize":
        equalised = np.stack([exposure.equalize_hist(row, nbins=256) for row in flat])
        return torch.from_numpy(((equalised - 0.5) / 0.29).astype(np.float32)).view_as(images)
    raise ValueError(f"intensity: got {intensity!r}, expected one of {INTENSITIES}")


def from_checkpoint_config(config: dict[str, Any], path: str = "checkpoint") -> Preprocess:
    """The Preprocess a checkpoint's ``config`` names (``extra.preprocess``; else input_size + zscore)."""
    from medinterp_widgets.data.errors import DataFormatError

    extra = (config or {}).get("extra") or {}
    stored = extra.get("preprocess")
    if stored is None:
        size = extra.get("input_size")
        if not size:
            raise DataFormatError(path, "config.extra has neither 'preprocess' nor 'input_size'")
        stored = {"size": int(size[0]), "intensity": extra.get("input_normalize") or "zscore"}
    if not isinstance(stored, dict):
        raise DataFormatError(path, f"config.extra.preprocess: expected a dict, got {type(stored).__name__}")
    try:
        return Preprocess(size=int(stored.get("size", 0)), intensity=str(stored.get("intensity", "zscore")),
                          lungs=_flag(stored.get("lungs", False), path),
                          test_time=str(stored.get("test_time", "none")))
    except (TypeError, ValueError) as error:
        raise DataFormatError(path, f"config.extra.preprocess: {error}") from None


def _flag(value: Any, path: str) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"lungs: expected true or false, got {value!r}")
    return value
