"""Plain helpers behind AttributionViewer: the sample tensor, the output kind, layer choices, targets
and a small LRU cache of maps. No widgets here and no attribution maths (that is ``attribution``)."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Hashable

import numpy as np
import torch
from torch import nn

from medinterp_widgets.attribution import LAYER_METHODS, METHODS, ClassTarget, RegionTarget, resolve_layer
from medinterp_widgets.attribution.hooks import CONV_TYPES
from medinterp_widgets.attribution.state import attribution_session

SLOW_METHODS = ("scorecam", "occlusion")  # many forward passes: progress bar, background thread
LAYERLESS_METHODS = tuple(name for name in METHODS if name not in LAYER_METHODS)  # work on the input only
REGIONS = ("predicted", "mask", "whole")  # segmentation targets: predicted region, given mask, all pixels


class LRUCache:
    """At most ``maxsize`` items; ``get`` marks an item as recently used, ``put`` evicts the oldest."""

    def __init__(self, maxsize: int = 32):
        self.maxsize = maxsize
        self._items: OrderedDict[Hashable, Any] = OrderedDict()

    def __contains__(self, key: Hashable) -> bool:
        return key in self._items

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: Hashable, default=None):
        if key not in self._items:
            return default
        self._items.move_to_end(key)
        return self._items[key]

    def put(self, key: Hashable, value: Any) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self.maxsize:
            self._items.popitem(last=False)

    def clear(self) -> None:
        self._items.clear()


def model_device(model: nn.Module) -> torch.device:
    """The device of the model's first parameter (CPU for a parameter-free model)."""
    return next((p.device for p in model.parameters()), torch.device("cpu"))


def as_sample(x, model: nn.Module) -> torch.Tensor:
    """One sample as a (1, C, *S) float tensor on the model's device; (C, *S) gains the batch axis."""
    tensor = torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x).detach()
    if tensor.dim() == 3:
        tensor = tensor.unsqueeze(0)  # (C, H, W) -> (1, C, H, W)
    if tensor.dim() not in (4, 5) or tensor.shape[0] != 1:
        raise ValueError(f"x: got shape {tuple(tensor.shape)}, expected one sample (1, C, H, W), (C, H, W) "
                         "or (1, C, D, H, W)")
    return tensor.float().to(model_device(model))


@dataclass(frozen=True)
class OutputInfo:
    """What the model returns for the sample: task kind, class count, predicted class (classifiers)."""

    task: str  # "classification" (B, K) or "segmentation" (B, K, *S)
    n_classes: int
    predicted: int


def describe_output(model: nn.Module, x: torch.Tensor) -> OutputInfo:
    """One forward without gradients (running statistics shielded, mode unchanged)."""
    with attribution_session(model, grad=False):
        output = model(x)
    if not isinstance(output, torch.Tensor) or output.dim() < 2:
        raise ValueError(f"model output: expected a tensor (B, K) or (B, K, *S), got {type(output).__name__}")
    if output.dim() == 2:
        return OutputInfo("classification", output.shape[1], int(output[0].argmax()))
    return OutputInfo("segmentation", output.shape[1], min(1, output.shape[1] - 1))


def conv_layer_names(model: nn.Module) -> list[str]:
    """The engine's default layer first, then every convolution's dotted name in registration order."""
    default, _ = resolve_layer(model, None)
    convs = [name for name, module in model.named_modules() if isinstance(module, CONV_TYPES)]
    return [default] + [name for name in convs if name != default]


def region_mask(masks: np.ndarray | None, class_index: int, task: str) -> np.ndarray | None:
    """The mask a map is scored against: label == class (segmentation) or any label > 0 (classifiers)."""
    if masks is None:
        return None
    return masks == class_index if task == "segmentation" else masks > 0


def build_target(info: OutputInfo, class_index: int, region: str, masks: np.ndarray | None):
    """ClassTarget for classifiers; for segmentation RegionTarget on the predicted region or the given
    mask, or ClassTarget (the class logits summed over every pixel) for ``region="whole"``."""
    if info.task == "classification" or region == "whole":
        return ClassTarget(class_index)
    if region == "predicted":
        return RegionTarget(class_index)
    if region != "mask":
        raise ValueError(f"region: got {region!r}, expected one of {REGIONS}")
    if masks is None:
        raise ValueError("region 'mask': this sample has no mask; choose 'predicted' or 'whole'")
    mask = torch.from_numpy(region_mask(masks, class_index, info.task).astype(np.float32))[None]  # (1, *S)
    return RegionTarget(class_index, mask)


def method_options(method: str, spatial: tuple[int, ...], progress: bool) -> dict:
    """Keyword arguments for slow methods: occlusion window ~1/16 of the image, half-window stride."""
    if method == "occlusion":
        window = max(2, min(spatial) // 16)
        return {"window": window, "stride": max(1, window // 2), "batch_size": 64, "progress": progress}
    if method == "scorecam":
        return {"batch_size": 16, "progress": progress}
    return {}
