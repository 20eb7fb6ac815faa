"""Per-image intensity scaling used as network input, shared by the pipelines and ``evaluate``.

- ``minmax_normalize``: (x - min) / (max - min) to [0, 1]; a constant image -> zeros.
- ``standardise``: per-image z-score (x - mean) / (std + eps) of a batch (N, C, *S).
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["minmax_normalize", "standardise"]


def minmax_normalize(image: np.ndarray) -> np.ndarray:
    """Per-slice (x - min) / (max - min) to [0, 1] (zeros for a constant slice), float32."""
    low, high = float(image.min()), float(image.max())
    return np.zeros_like(image, dtype=np.float32) if high <= low else ((image - low) / (high - low)).astype(np.float32)


def standardise(images: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """Per-image z-score: (x - mean(x)) / (std(x) + eps) over all but the first dim; same shape."""
    dims = tuple(range(1, images.dim()))
    mean = images.mean(dim=dims, keepdim=True)  # (N, 1, ...)
    std = images.std(dim=dims, keepdim=True)
    return (images - mean) / (std + eps)
