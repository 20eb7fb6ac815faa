"""Read 2-D picture files (PNG/JPEG) as one float32 grey channel, and resize image/label pairs.

Conversion to grey (documented, used by every picture-based data set):

- 8-bit values are divided by 255, 16-bit by 65535 -> float32 in 0..1;
- grey (H, W) is kept; colour is converted with OpenCV's BT.601 luma
  ``Y = 0.299 R + 0.587 G + 0.114 B`` (exact for the grey-as-RGB slices of COVID-CT);
- an alpha channel is composited onto black: ``Y * alpha`` (alpha in 0..1; opaque files are unchanged).
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from medinterp_widgets.data.errors import DataFormatError, wrap_errors
from medinterp_widgets.data.picture_header import read_picture


def read_grey_image(path: str | os.PathLike) -> np.ndarray:
    """A PNG/JPEG file -> (H, W) float32 in 0..1 (colour -> BT.601 luma, alpha composited onto black).

    The header's size is checked before decoding (``picture_header.read_picture``); decoder errors
    become `DataFormatError` naming the file.
    """
    path = Path(path)
    data, _ = read_picture(path)
    with wrap_errors(path, "pixel data"):
        raw = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if raw is None or raw.size == 0:
        raise DataFormatError(path, "pixel data: not a decodable PNG/JPEG image")
    if raw.dtype not in (np.uint8, np.uint16):
        raise DataFormatError(path, f"pixel dtype {raw.dtype}, expected 8- or 16-bit")
    scale = 255.0 if raw.dtype == np.uint8 else 65535.0
    pixels = raw.astype(np.float32) / scale
    if pixels.ndim == 2:
        return pixels
    channels = pixels.shape[2]
    if channels == 1:
        return pixels[..., 0]
    if channels not in (3, 4):
        raise DataFormatError(path, f"{channels} colour channels, expected 1 (grey), 3 (RGB) or 4 (RGBA)")
    grey = cv2.cvtColor(np.ascontiguousarray(pixels[..., :3]), cv2.COLOR_BGR2GRAY)
    if channels == 4:
        grey = grey * pixels[..., 3]
    return np.clip(grey, 0.0, 1.0).astype(np.float32, copy=False)


def resize_pair(
    image: np.ndarray, label: np.ndarray | None, size: tuple[int, int] | None
) -> tuple[np.ndarray, np.ndarray | None]:
    """Resize a 2-D image (bilinear, or area when shrinking) and its label map (nearest) to ``size`` = (H, W).

    Both use pixel centres: output pixel i samples input position (i + 0.5) * in / out - 0.5. The labels take
    ``cv2.INTER_NEAREST_EXACT``; plain ``INTER_NEAREST`` reads input floor(i * in / out), half an input pixel
    off the image's grid (Sunnybrook LV masks taken 128 -> 96 px and back: Dice 0.963-0.974 against themselves
    with it, 0.982-0.987 with the exact one).

    The resized image is clipped to the input's range (area averaging can round 1.0 to 1.0000001).
    """
    if size is None or tuple(image.shape[:2]) == tuple(size):
        return image, label
    height, width = size
    shrink = image.shape[0] > height and image.shape[1] > width
    interpolation = cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
    resized = cv2.resize(image, (width, height), interpolation=interpolation)
    if image.size:
        resized = np.clip(resized, image.min(), image.max())
    if label is None:
        return resized, None
    return resized, resize_labels(label, size)


def resize_labels(label: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A label map (H, W) of small non-negative integers (or bool) resized to ``size`` = (H, W) by nearest
    neighbour on pixel centres (``cv2.INTER_NEAREST_EXACT``, see ``resize_pair``); same dtype."""
    height, width = size
    resized = cv2.resize(np.asarray(label).astype(np.uint8), (width, height), interpolation=cv2.INTER_NEAREST_EXACT)
    return resized.astype(np.asarray(label).dtype, copy=False)
