"""What the workbench's attribution panel explains: the shown slice as a model input, a small demo model
trained on the current case (a fixed number of steps through the Trainer), and checkpoints to load.

Model inputs are slices as the browser shows them (``data.orientation``), scaled to 0..1 with the
automatic window (``render.auto_window``), the range the data sets' torch Datasets use.

The demo model: a GapFCN (16..64 channels, 3 poolings) trained for ``DEMO_STEPS`` Adam steps of
cross-entropy + soft Dice on up to ``MAX_DEMO_SLICES`` labelled slices of the current view (every
frame of a cine case), shrunk by a whole factor to about ``DEMO_SIDE`` pixels; seeded and on one torch
thread, so the same case and seed give the same model however busy the machine is (about 15 s of CPU;
on a loaded 2-core machine two threads made it more than ten times slower). It is explained at
``DEMO_LAYER``, its last decoder stage: at the bottleneck, Grad-CAM's spatially averaged gradients are
dominated by GapFCN's
global-average context path (the same gradient at every position), which lights the background.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Callable

import cv2
import numpy as np
import torch
from torch.utils.data import TensorDataset

from medinterp_widgets import render
from medinterp_widgets.apps.cases import resolve_in_root
from medinterp_widgets.data import orientation
from medinterp_widgets.data.paths import is_inside
from medinterp_widgets.data.volume import Volume
from medinterp_widgets.models import GapFCN
from medinterp_widgets.training import TrainConfig, Trainer
from medinterp_widgets.training.events import StepEnd
from medinterp_widgets.training.losses import DiceCrossEntropyLoss
from medinterp_widgets.training.model_files import MODEL_SUFFIXES, open_model_file

CHECKPOINT_SUFFIXES = MODEL_SUFFIXES  # project checkpoints, TorchScript archives, ONNX files
MAX_CHECKPOINTS = 200
MAX_DEMO_SLICES = 16
DEMO_STEPS = 150
DEMO_SIDE = 128  # the demo model sees slices shrunk by a whole factor to about this side
DEMO_LAYER = "decoder.2"  # its last decoder stage: where Grad-CAM of a segmentation falls on the structure
DEMO_THREADS = 1  # one float summation order (the same model everywhere) and no thread contention on a busy machine


def slice_to_unit(plane: np.ndarray) -> np.ndarray:
    """A slice or volume as float32 in 0..1: its auto window (1st..99th percentile) mapped to 0..1."""
    return render.window_to_uint8(plane, *render.auto_window(plane)).astype(np.float32) / 255.0


def shrink_factor(shape: tuple[int, ...], side: int | None) -> int:
    """The whole factor f that brings the longer side of ``shape`` to about ``side`` (1: None or small)."""
    return 1 if side is None else max(1, int(np.ceil(max(shape[-2:]) / (side * 1.25))))


def slice_sample(volume: Volume, masks: np.ndarray | None, axis: str, index: int, frame: int,
                 in_channels: int = 1, side: int | None = None):
    """(x (1, C, h, w), masks (h, w) or None, display Volume (h, w)) of the slice as displayed; the
    display Volume keeps the view's geometry (same markers) and the window presets. ``side``: shrink the
    slice by a whole factor to about that side (area mean for the image, nearest label)."""
    view = orientation.views(volume)[axis]
    plane = orientation.plane_volume(volume, view, index, frame)
    labels = None if masks is None else orientation.view_slice(volume, view, index, frame, np.asarray(masks))[0]
    factor = shrink_factor(plane.array.shape, side)
    if factor > 1:
        size = tuple(-(-n // factor) for n in plane.array.shape)  # ceil(n / f)
        image = torch.nn.functional.interpolate(torch.from_numpy(plane.array.astype(np.float32))[None, None],
                                                size=size, mode="area")[0, 0].numpy()  # (h, w)
        if labels is not None:
            labels = cv2.resize(np.ascontiguousarray(labels, np.uint8), size[::-1],
                                interpolation=cv2.INTER_NEAREST_EXACT)
        spacing = tuple(s * n / m for s, n, m in zip(plane.spacing, plane.array.shape, size))
        plane = replace(plane, array=image, spacing=spacing)
    x = torch.from_numpy(slice_to_unit(plane.array))[None, None].repeat(1, in_channels, 1, 1)  # (1, C, h, w)
    return x, labels, plane


def volume_sample(volume: Volume, masks: np.ndarray | None, frame: int, in_channels: int = 1):
    """For a 3-D model: (x (1, C, D, H, W), masks (D, H, W) or None, the still Volume) of one frame; the
    volume's auto window (1st..99th percentile) mapped to 0..1 as for a slice."""
    still = volume.frame(frame)
    if not still.is_3d:
        raise ValueError(f"a 3-D model needs a 3-D volume; this case is {still.array.ndim}-D")
    x = torch.from_numpy(slice_to_unit(still.array))[None, None].repeat(1, in_channels, 1, 1, 1)
    labels = None
    if masks is not None:
        masks = np.asarray(masks)
        labels = masks[frame] if masks.ndim == volume.array.ndim and volume.has_time else masks
    return x, labels, still


def _labelled_slices(volume: Volume, masks: np.ndarray, axis: str) -> list[tuple[int, int]]:
    """(frame, slice) pairs of the view along ``axis`` whose labels are not empty, at most MAX_DEMO_SLICES
    spread evenly (every pair when none is labelled)."""
    view = orientation.views(volume)[axis]
    count = volume.spatial_shape[orientation.ARRAY_AXES.index(axis)] if volume.is_3d else 1
    frames = range(volume.n_frames if masks.shape == volume.array.shape else 1)
    pairs = [(t, i) for t in frames for i in range(count)]
    labelled = [(t, i) for t, i in pairs if orientation.view_slice(volume, view, i, t, masks)[0].any()] or pairs
    picks = np.unique(np.linspace(0, len(labelled) - 1, min(len(labelled), MAX_DEMO_SLICES)).round().astype(int))
    return [labelled[k] for k in picks]


def _training_slices(volume: Volume, masks: np.ndarray, axis: str) -> TensorDataset:
    """The labelled slices of the current view as the demo model sees them: inputs (N, 1, h, w), labels (N, h, w)."""
    samples = [slice_sample(volume, masks, axis, i, t, side=DEMO_SIDE)[:2]
               for t, i in _labelled_slices(volume, masks, axis)]
    images = torch.cat([x for x, _ in samples])  # (N, 1, h, w)
    labels = torch.from_numpy(np.stack([y for _, y in samples]).astype(np.int64))  # (N, h, w)
    return TensorDataset(images, labels)


def demo_gapfcn(n_classes: int) -> GapFCN:
    """The demo architecture: GapFCN, 3 poolings, 16 -> 32 -> 64 channels, one conv per stage."""
    return GapFCN(n_classes=n_classes, base_channels=16, depth=3, convs_per_stage=1, max_channels=64)


def train_demo_model(volume: Volume, masks: np.ndarray, *, axis: str = "z", steps: int = DEMO_STEPS, seed: int = 0,
                     progress: Callable[[int, int, float], None] | None = None) -> tuple[GapFCN, dict]:
    """A demo GapFCN trained for exactly ``steps`` steps on the case's labelled slices along ``axis``,
    shrunk to about DEMO_SIDE (give it ``slice_sample(..., side=DEMO_SIDE)`` inputs).

    ``progress(step, steps, loss)`` is called after every step. Returns (model in eval mode,
    {"steps", "loss", "slices"}). masks: integer labels shaped like the volume or its spatial part;
    classes = max label + 1.
    """
    if masks is None:
        raise ValueError("this case has no label masks, so there is nothing to train a demo model on")
    data = _training_slices(volume, np.asarray(masks), axis)
    n_classes = max(int(data.tensors[1].max()) + 1, 2)
    torch.manual_seed(seed)
    model = demo_gapfcn(n_classes)
    config = TrainConfig(epochs=steps, batch_size=4, lr=1e-2, seed=seed, progress=False, save_checkpoints=False,
                         drop_last=len(data) > 4, max_steps=steps, device="cpu")
    summary = {"steps": 0, "loss": float("nan"), "slices": len(data)}

    def count(event) -> None:
        if isinstance(event, StepEnd):
            summary["steps"], summary["loss"] = summary["steps"] + 1, float(event.loss)
            if progress is not None:
                progress(summary["steps"], steps, summary["loss"])

    threads = torch.get_num_threads()
    torch.set_num_threads(DEMO_THREADS)
    try:
        Trainer(model, data, None, config, loss=DiceCrossEntropyLoss(), callbacks=[count]).fit()
    finally:
        torch.set_num_threads(threads)
    return model.cpu().eval(), summary


def find_checkpoints(*folders: str | os.PathLike | None, limit: int = MAX_CHECKPOINTS) -> list[Path]:
    """Model files (checkpoints, TorchScript, ONNX: ``MODEL_SUFFIXES``) under the given folders, sorted;
    symlinked folders are not followed and a
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
    """The model of a file inside one of ``allowed_roots`` (OutsideDataRootError otherwise): a project checkpoint,
    a TorchScript archive or an ONNX file (``training.model_files.open_model_file``)."""
    errors = []
    for root in [r for r in allowed_roots if r]:
        try:
            resolved = resolve_in_root(root, path)
        except ValueError as error:
            errors.append(error)
            continue
        return open_model_file(resolved)
    if errors:
        raise errors[0]
    raise FileNotFoundError(f"{path}: no data root or runs folder to load checkpoints from")
