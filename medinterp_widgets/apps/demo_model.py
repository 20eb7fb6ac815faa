"""What the workbench's attribution panel explains: the shown slice as a model input, a tiny demo model
trained for a few seconds on the current case (through the Trainer), and checkpoints to load.

Model inputs are slices scaled to 0..1 with the automatic window (``render.auto_window``), the range
the data sets' torch Datasets use.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import TensorDataset

from medinterp_widgets import render
from medinterp_widgets.apps.cases import resolve_in_root
from medinterp_widgets.data.paths import is_inside
from medinterp_widgets.data.volume import Volume
from medinterp_widgets.models import GapFCN
from medinterp_widgets.training import TrainConfig, Trainer, model_from_checkpoint
from medinterp_widgets.training.events import RunStarted, StepEnd
from medinterp_widgets.widgets.slice_browser import overlay_plane

CHECKPOINT_SUFFIXES = (".pt", ".pth")
MAX_CHECKPOINTS = 200
MAX_DEMO_SLICES = 16


def slice_to_unit(plane: np.ndarray) -> np.ndarray:
    """A 2-D slice as float32 in 0..1: its auto window (1st..99th percentile) mapped to 0..1."""
    return render.window_to_uint8(plane, *render.auto_window(plane)).astype(np.float32) / 255.0


def slice_sample(volume: Volume, masks: np.ndarray | None, axis: str, index: int, frame: int,
                 in_channels: int = 1):
    """(x (1, C, H, W), masks (H, W) or None, display Volume (H, W) with the slice's spacing)."""
    plane, spacing = volume.slice2d(axis, index, frame)
    x = torch.from_numpy(slice_to_unit(plane))[None, None].repeat(1, in_channels, 1, 1)  # (1, C, H, W)
    labels = None if masks is None else overlay_plane(volume, np.asarray(masks), axis, index, frame)
    return x, labels, Volume(plane, spacing=spacing, metadata=dict(volume.metadata))  # keeps window presets


def _training_slices(volume: Volume, masks: np.ndarray, frame: int) -> TensorDataset:
    """Up to MAX_DEMO_SLICES z-slices (evenly spread) of one frame with their labels."""
    count = volume.spatial_shape[0] if volume.is_3d else 1
    picks = np.unique(np.linspace(0, count - 1, min(count, MAX_DEMO_SLICES)).round().astype(int))
    pairs = [slice_sample(volume, masks, "z", int(i), frame)[:2] for i in picks]
    images = torch.cat([x for x, _ in pairs])  # (N, 1, H, W)
    labels = torch.from_numpy(np.stack([y for _, y in pairs]).astype(np.int64))  # (N, H, W)
    return TensorDataset(images, labels)


def train_demo_model(volume: Volume, masks: np.ndarray, *, frame: int = 0, seconds: float = 8.0,
                     max_steps: int | None = None, max_epochs: int = 200, seed: int = 0) -> tuple[GapFCN, dict]:
    """A tiny GapFCN (4..16 channels, 2 poolings) trained on the case's slices for ``seconds`` of steps,
    or ``max_steps`` steps if that comes first (a step budget gives the same model on any machine).

    Returns (model in eval mode, {"steps", "seconds", "loss"}). masks: integer labels shaped like the
    volume or its spatial part; classes = max label + 1.
    """
    if masks is None:
        raise ValueError("train a demo model: this case has no label masks to learn from")
    data = _training_slices(volume, np.asarray(masks), frame)
    n_classes = max(int(data.tensors[1].max()) + 1, 2)
    torch.manual_seed(seed)
    model = GapFCN(n_classes=n_classes, base_channels=4, depth=2, convs_per_stage=1, max_channels=16)
    config = TrainConfig(epochs=max_epochs, batch_size=4, lr=1e-2, seed=seed, progress=False,
                         save_checkpoints=False, drop_last=len(data) > 4)
    summary = {"steps": 0, "loss": float("nan")}
    trainer = Trainer(model, data, None, config)
    started = time.monotonic()

    def stop_on_time(event) -> None:
        nonlocal started
        if isinstance(event, RunStarted):  # the clock starts after set-up (the first optimizer imports a lot)
            started = time.monotonic()
        if isinstance(event, StepEnd):
            summary["steps"], summary["loss"] = summary["steps"] + 1, float(event.loss)
            out_of_steps = max_steps is not None and summary["steps"] >= max_steps
            if out_of_steps or time.monotonic() - started > seconds:
                trainer.stop()

    trainer.callbacks.append(stop_on_time)
    trainer.fit()
    summary["seconds"] = round(time.monotonic() - started, 2)
    return model.cpu().eval(), summary


def find_checkpoints(*folders: str | os.PathLike | None, limit: int = MAX_CHECKPOINTS) -> list[Path]:
    """Checkpoint files (.pt/.pth) under the given folders, sorted; symlinked folders are not followed and a
    file that resolves outside its folder (a symlink leading out, which ``load_model`` refuses) is not listed."""
    found: list[Path] = []
    for folder in [Path(f) for f in folders if f]:
        if not folder.is_dir():
            continue
        for here, subfolders, files in os.walk(folder):
            subfolders.sort()
            found += [Path(here) / f for f in sorted(files)
                      if f.endswith(CHECKPOINT_SUFFIXES) and is_inside(folder, Path(here) / f)]
            if len(found) >= limit:
                break
    return sorted(found)[:limit]


def load_model(path: str | os.PathLike, allowed_roots: list[str | os.PathLike]):
    """The model of a checkpoint inside one of ``allowed_roots`` (OutsideDataRootError otherwise)."""
    errors = []
    for root in [r for r in allowed_roots if r]:
        try:
            resolved = resolve_in_root(root, path)
        except ValueError as error:
            errors.append(error)
            continue
        return model_from_checkpoint(resolved)
    if errors:
        raise errors[0]
    raise FileNotFoundError(f"{path}: no data root or runs folder to load checkpoints from")
