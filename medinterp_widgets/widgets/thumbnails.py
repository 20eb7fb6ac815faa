"""Small PNG thumbnails as ``data:`` URIs, for hover tooltips (computed once per image set)."""

from __future__ import annotations

import base64
from typing import Any

import cv2
import numpy as np

from medinterp_widgets import render

THUMBNAIL_PX = 64


def thumbnail_uri(image: Any, size: int = THUMBNAIL_PX) -> str:
    """``data:image/png;base64,...`` of one image fitted into ``size`` x ``size`` pixels (aspect kept).

    ``image``: (H, W) grey (any dtype, auto-windowed to the 1st-99th percentile), (H, W, 3|4) uint8
    RGB(A), or channel-first (1|3, H, W).
    """
    picture = _as_display_uint8(np.asarray(image))
    rows, cols = picture.shape[:2]
    scale = size / max(rows, cols)
    shape = (max(1, round(cols * scale)), max(1, round(rows * scale)))  # cv2 wants (width, height)
    small = cv2.resize(picture, shape, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_NEAREST)
    if small.ndim == 3:
        small = cv2.cvtColor(small, cv2.COLOR_RGB2BGR)
    ok, encoded = cv2.imencode(".png", small)
    if not ok:
        raise ValueError(f"image: could not encode a {picture.shape} thumbnail as PNG")
    return "data:image/png;base64," + base64.b64encode(encoded.tobytes()).decode("ascii")


def thumbnail_uris(images: Any, size: int = THUMBNAIL_PX) -> list[str]:
    """One data URI per image of a stack (N, ...) or sequence of differently sized images."""
    if hasattr(images, "detach"):
        images = images.detach().cpu().numpy()
    return [thumbnail_uri(image, size) for image in images]


def _as_display_uint8(image: np.ndarray) -> np.ndarray:
    """(H, W) or (H, W, 3) uint8 ready for PNG."""
    if image.ndim == 3 and image.shape[0] in (1, 3) and image.shape[-1] not in (1, 3, 4):
        image = np.moveaxis(image, 0, -1)  # (C, H, W) -> (H, W, C)
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    if image.ndim == 3 and image.shape[-1] in (3, 4):
        rgb = image[..., :3]
        if rgb.dtype != np.uint8:
            rgb = render.window_to_uint8(rgb, *render.auto_window(rgb))
        return np.ascontiguousarray(rgb)
    if image.ndim != 2:
        raise ValueError(f"image: expected (H, W), (H, W, 3|4) or (1|3, H, W), got shape {image.shape}")
    return render.window_to_uint8(image, *render.auto_window(image))
