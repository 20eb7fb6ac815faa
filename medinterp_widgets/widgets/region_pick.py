"""Which region a click or a brushed box picks on a segmentation model's predicted label map.

- a click at voxel v: the predicted class c = labels[v] and the connected region of class c that holds
  v (face-connected, 2-D or 3-D, ``scipy.ndimage.label``): "explain this structure";
- a box: the class most often predicted inside it, background (0) only when nothing else is there,
  and the voxels of that class inside the box.

Plain numpy; the viewer turns the pick into a ``RegionTarget(c, mask)``.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

__all__ = ["box_slices", "region_at", "region_in_box"]


def region_at(labels: np.ndarray, index: tuple[int, ...]) -> tuple[int, np.ndarray]:
    """(class at ``index``, bool mask of its connected region) on ``labels`` (*S)."""
    index = tuple(int(i) for i in index)
    if len(index) != labels.ndim or any(not 0 <= i < s for i, s in zip(index, labels.shape)):
        raise IndexError(f"voxel {index} is outside the label map of shape {labels.shape}")
    cls = int(labels[index])
    components, _ = ndimage.label(labels == cls)  # face connectivity
    return cls, components == components[index]


def region_in_box(labels: np.ndarray, box: tuple[slice, ...]) -> tuple[int, np.ndarray]:
    """(majority non-background class inside ``box``, bool mask of that class inside the box)."""
    inside = labels[box]
    if inside.size == 0:
        raise ValueError(f"the box {box} holds no voxel of the {labels.shape} label map")
    counts = np.bincount(inside.ravel().astype(np.int64))
    cls = int(np.argmax(counts[1:]) + 1) if counts[1:].sum() > 0 else 0
    mask = np.zeros(labels.shape, bool)
    mask[box] = inside == cls
    return cls, mask


def box_slices(first: tuple[int, ...], second: tuple[int, ...], shape: tuple[int, ...]) -> tuple[slice, ...]:
    """The voxel box spanned by two corner indices (inclusive), clipped to ``shape``."""
    return tuple(slice(max(0, min(a, b)), min(size, max(a, b) + 1)) for a, b, size in zip(first, second, shape))
