"""Plain helpers behind AttributionViewer: the sample tensor, the output kind, layer choices, targets
and a small LRU cache of maps. No widgets here and no attribution maths (that is ``attribution``)."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Hashable

import numpy as np
import torch
from torch import nn

from medinterp_widgets.attribution import ClassTarget, RegionTarget
from medinterp_widgets.attribution.state import attribution_session

# segmentation targets: predicted region, given mask, all pixels, the region clicked or brushed on the image
REGIONS = ("predicted", "mask", "whole", "selected")


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
    """What the model returns for the sample: task kind, class count, predicted class (classifiers) and,
    for segmentation, the predicted label map (*S) when it has the input's spatial shape."""

    task: str  # "classification" (B, K) or "segmentation" (B, K, *S)
    n_classes: int
    predicted: int
    labels: np.ndarray | None = None


def describe_output(model: nn.Module, x: torch.Tensor) -> OutputInfo:
    """One forward without gradients (running statistics shielded, mode unchanged)."""
    with attribution_session(model, grad=False):
        output = model(x)
    if not isinstance(output, torch.Tensor) or output.dim() < 2:
        raise ValueError(f"model output: expected a tensor (B, K) or (B, K, *S), got {type(output).__name__}")
    if output.dim() == 2:
        return OutputInfo("classification", output.shape[1], int(output[0].argmax()))
    labels = output[0].argmax(0).cpu().numpy() if output.shape[2:] == x.shape[2:] else None  # (*S)
    return OutputInfo("segmentation", output.shape[1], min(1, output.shape[1] - 1), labels)


def region_mask(masks: np.ndarray | None, class_index: int, task: str) -> np.ndarray | None:
    """The mask a map is scored against: label == class (segmentation) or any label > 0 (classifiers)."""
    if masks is None:
        return None
    return masks == class_index if task == "segmentation" else masks > 0


def build_target(info: OutputInfo, class_index: int, region: str, masks: np.ndarray | None,
                 selected: np.ndarray | None = None):
    """ClassTarget for classifiers; for segmentation RegionTarget on the predicted region, the given
    mask or the ``selected`` region (clicked or brushed), or ClassTarget (the class logits summed over
    every pixel) for ``region="whole"``."""
    if info.task == "classification" or region == "whole":
        return ClassTarget(class_index)
    if region == "predicted":
        return RegionTarget(class_index)
    if region not in ("mask", "selected"):
        raise ValueError(f"region: got {region!r}, expected one of {REGIONS}")
    if region == "selected":
        if selected is None:
            raise ValueError("region 'selected': click or brush a region on the image first")
        return RegionTarget(class_index, torch.from_numpy(selected.astype(np.float32))[None])  # (1, *S)
    if masks is None:
        raise ValueError("region 'mask': this sample has no mask; choose 'predicted' or 'whole'")
    mask = torch.from_numpy(region_mask(masks, class_index, info.task).astype(np.float32))[None]  # (1, *S)
    return RegionTarget(class_index, mask)
