"""Perturbation methods: occlusion and Score-CAM. Forward passes only, batched, under no_grad.

Variants of a batch are stacked variant-major: ``n`` variants of B samples form ``n * B`` rows,
row ``j`` belonging to sample ``j % B`` (what ``targets`` expects when it tiles indices/masks).

- Occlusion (Zeiler & Fergus): a window of ``window`` voxels (all channels) moved with ``stride``
  is set to ``baseline``; each voxel gets the mean drop ``Y(x) - Y(x_occluded)`` over the windows
  that cover it (0 where none does). The sign is kept. Window starts are 0, stride, ... up to
  ``ceil((S - w) / stride)`` steps, the last one clipped at the border, so every voxel is covered
  when stride <= window (Captum's convention).
- Score-CAM (Wang et al.): masks ``M_k = minmax(upsample(A_k))`` (a constant channel -> 0), channel
  scores ``s_k = Y(x * M_k)``, weights ``w = softmax_k(s)``, map ``ReLU(sum_k w_k A_k)``.

``progress=True`` shows a tqdm bar over the chunks (3-D volumes can take long).
"""

from __future__ import annotations

import itertools
import math
from typing import Any, ClassVar, Sequence

import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from .base.cam import CamInputs, CamMethod
from .base.result import RawAttribution
from .methods import MethodInfo
from .normalise import divide_or_zero, normalize_maps
from .state import attribution_session
from .targets import Target
from .upsample import upsample_maps

__all__ = ["batched_scores", "variants_per_forward", "Occlusion", "ScoreCAM"]


IMAGES_PER_FORWARD = {"cuda": 256, "cpu": 16}  # the automatic chunk: images per forward pass
VOXELS_PER_IMAGE = 128 * 128  # ... of this many voxels; larger images (3-D volumes) go fewer at a time


def variants_per_forward(batch_size: int | None, batch: int, device: torch.device, voxels: int = 0) -> int:
    """``batch_size`` variants per forward, or None: about IMAGES_PER_FORWARD images of the device, scaled
    down for images of more than VOXELS_PER_IMAGE voxels (so a chunk of 3-D volumes stays small).

    A variant is a perturbed copy of the whole batch (``batch`` images). On a CPU small forwards run
    fastest (measured on 2 cores, 16 images of 128 px, VGG-like net: Score-CAM over 128 channels 115x
    a plain forward at 16 images per forward, 151x at 32, 193x at 512); a GPU wants large ones.
    """
    if batch_size is None:
        images = IMAGES_PER_FORWARD.get(device.type, IMAGES_PER_FORWARD["cpu"])
        images = images * VOXELS_PER_IMAGE // max(voxels, VOXELS_PER_IMAGE)
        return max(1, images // max(batch, 1))
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size: got {batch_size!r}, expected a positive int or None (automatic)")
    return batch_size


def batched_scores(
    model: nn.Module, variants: Tensor, target: Target, batch_size: int | None, progress: bool = False
) -> Tensor:
    """Scores of ``variants`` (n, B, C, *S) in chunks of ``batch_size`` variants -> (n, B)."""
    n, b = variants.shape[:2]
    batch_size = variants_per_forward(batch_size, b, variants.device, variants.shape[3:].numel())
    chunks = []
    with attribution_session(model, grad=False):
        for start in tqdm(range(0, n, batch_size), desc="scorecam", disable=not progress, leave=False):
            chunk = variants[start : start + batch_size].flatten(0, 1)  # (n_chunk * B, C, *S)
            chunks.append(target.score(model(chunk)).view(-1, b))  # (n_chunk, B)
    return torch.cat(chunks)  # (n, B)


def _per_dim(value: int | Sequence[int], dims: int, name: str) -> tuple[int, ...]:
    values = (value,) * dims if isinstance(value, int) else tuple(int(v) for v in value)
    if len(values) != dims or any(v < 1 for v in values):
        raise ValueError(f"occlusion: {name}={value!r}, expected a positive int or {dims} positive ints")
    return values


def occlusion_options(spatial: tuple[int, ...], cells: int | None = None) -> dict:
    """cells: window = stride = side / cells; None: 2-D window ~1/16 of the image with a half-window stride,
    3-D window ~1/8 of the volume without overlap (8^3 windows)."""
    if cells is not None:
        window = tuple(max(1, side // cells) for side in spatial)
        return {"window": window, "stride": window}
    if len(spatial) >= 3:
        cube = max(2, min(spatial) // 8)
        return {"window": cube, "stride": cube}
    side = max(2, min(spatial) // 16)
    return {"window": side, "stride": max(1, side // 2)}


class Occlusion:
    """Mean drop of the target score when a window around each voxel is set to ``baseline``."""

    info: ClassVar[MethodInfo]
    info = MethodInfo("occlusion", "occlusion: drop of the score when a window of the input is blanked",
                      uses_layer=False, differentiable=False, cost="perturbation", needs_hooks=False,
                      needs_gradients=False, options=occlusion_options)

    def __init__(self, window: int | Sequence[int] = 3, stride: int | Sequence[int] = 1,
                 baseline: float | Tensor = 0.0, batch_size: int | None = None, progress: bool = False):
        """window/stride: int or one per spatial dim; baseline: float or tensor broadcastable to x;
        batch_size: occluded copies of the batch per forward pass (None: ``variants_per_forward``);
        progress: a tqdm bar."""
        self.window, self.stride, self.baseline = window, stride, baseline
        self.batch_size, self.progress = batch_size, progress

    def _windows(self, spatial: tuple[int, ...]) -> list[tuple[slice, ...]]:
        window = _per_dim(self.window, len(spatial), "window")
        stride = _per_dim(self.stride, len(spatial), "stride")
        if any(w > s for w, s in zip(window, spatial)):
            raise ValueError(f"occlusion: window {window} larger than the input's spatial shape {spatial}")
        counts = [math.ceil((s - w) / st) + 1 for s, w, st in zip(spatial, window, stride)]
        starts = [range(0, n * st, st) for n, st in zip(counts, stride)]  # last one may be clipped
        corners = itertools.product(*starts)
        return [tuple(slice(a, a + w) for a, w in zip(corner, window)) for corner in corners]

    def _window_masks(self, boxes: Sequence[tuple[slice, ...]], spatial: tuple[int, ...],
                      device: torch.device) -> Tensor:
        masks = torch.zeros(len(boxes), *spatial, dtype=torch.bool, device=device)  # (n, *S)
        for i, box in enumerate(boxes):
            masks[(i,) + box] = True
        return masks

    def __call__(self, model: nn.Module, x: Tensor, target: Target, *, layer: Any = None,
                 create_graph: bool = False, relu: bool = True) -> RawAttribution:
        x = x.detach()
        spatial = tuple(x.shape[2:])
        windows = self._windows(spatial)
        with attribution_session(model, grad=False):
            output = model(x)
        bound = target.bind(output)
        clean = bound.score(output)  # (B,)
        baseline = torch.as_tensor(self.baseline, dtype=x.dtype, device=x.device).expand_as(x)
        total = x.new_zeros(x.shape[0], *spatial)  # (B, *S)
        count = x.new_zeros(spatial)  # (*S)
        chunk = variants_per_forward(self.batch_size, x.shape[0], x.device, x.shape[2:].numel())
        for start in tqdm(range(0, len(windows), chunk), desc="occlusion", disable=not self.progress, leave=False):
            masks = self._window_masks(windows[start : start + chunk], spatial, x.device)
            occluded = masks[:, None, None]  # (n, 1, 1, *S)
            variants = torch.where(occluded, baseline.unsqueeze(0), x.unsqueeze(0))  # (n, B, C, *S)
            drops = clean - batched_scores(model, variants, bound, len(masks))  # (n, B)
            total += torch.einsum("nb,n...->b...", drops, masks.to(x.dtype))
            count += masks.sum(0)
        raw = divide_or_zero(total, count)  # (B, *S): mean drop over the windows covering a voxel
        return RawAttribution(raw, clean.detach(), output.detach())


class ScoreCAM(CamMethod):
    """Channel weights = softmax over channels of the target score of x masked by each channel."""

    info: ClassVar[MethodInfo]
    info = MethodInfo("scorecam", "Score-CAM: layer channels weighted by the score of the input masked by each",
                      uses_layer=True, differentiable=False, cost="perturbation", needs_hooks=True,
                      needs_gradients=False)

    def __init__(self, batch_size: int | None = None, progress: bool = False):
        """batch_size: masked copies of the batch per forward pass (None: ``variants_per_forward``)."""
        self.batch_size, self.progress = batch_size, progress

    def channel_weights(self, inputs: CamInputs) -> Tensor:
        x = inputs.x.detach()
        activation = inputs.activation.detach()  # (B, C, *S')
        b, c = activation.shape[:2]
        masks = upsample_maps(activation.flatten(0, 1), x.shape[2:])  # (B*C, *S)
        masks = normalize_maps(masks, "minmax").view(b, c, 1, *x.shape[2:])  # (B, C, 1, *S)
        variants = (x.unsqueeze(1) * masks).transpose(0, 1)  # (C, B, Cin, *S)
        model, target = inputs.model, inputs.target
        scores = batched_scores(model, variants, target, self.batch_size, self.progress)  # (C, B)
        return torch.softmax(scores.t(), dim=1)  # (B, C)
