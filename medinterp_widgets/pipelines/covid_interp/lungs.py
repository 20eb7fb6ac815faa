"""Lung fields of a lung-window CT picture (UCSD figures, MedSeg JPGs: no Hounsfield units), for
lung-focused preprocessing.

``lung_mask(image)``, image (H, W) in 0..1:

1. smooth (Gaussian, sigma = H / 128) and split dark from bright at Otsu's threshold;
2. the body is the convex hull of the bright regions of at least ``MIN_REGION`` of the picture (chest
   wall, mediastinum; text and arrows in the corners are smaller), so the air around the body falls
   out even where the crop cuts through the chest wall and the lungs touch the picture's edge; dark
   regions inside the hull smaller than ``MIN_REGION`` of the picture (bowel gas, the trachea at most)
   are dropped;
3. close with a disk of radius ``CLOSING`` * H and fill holes, so vessels, ground-glass and consolidation
   enclosed by aerated lung belong to the field; then dilate by ``MARGIN`` * H to keep the pleura.

A picture where less than ``MIN_FIELD`` of the area is found (a crop through the lungs, an odd window)
keeps everything (all True): masking is then a no-op, never a blank input.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from skimage.filters import threshold_otsu
from skimage.morphology import convex_hull_image, disk

MIN_REGION = 0.01  # dark regions smaller than this share of the picture are not lung
MIN_FIELD = 0.05  # below this share the picture keeps everything
CLOSING = 0.06  # closing disk radius, share of the picture height
MARGIN = 0.03  # final dilation, share of the picture height


def lung_mask(image: np.ndarray) -> np.ndarray:
    """(H, W) grey picture in 0..1 -> (H, W) bool lung fields (module docstring)."""
    picture = np.asarray(image, dtype=np.float32)
    if picture.ndim != 2 or min(picture.shape) < 8:
        raise ValueError(f"lung_mask: expected a 2-D picture of at least 8 x 8, got shape {picture.shape}")
    size = picture.shape[0]
    smooth = ndimage.gaussian_filter(picture, sigma=max(size / 128.0, 0.5))
    if float(smooth.max() - smooth.min()) < 1e-6:
        return np.ones(picture.shape, dtype=bool)
    bright = smooth >= threshold_otsu(smooth)
    dark = ~bright & convex_hull_image(large_regions(bright, MIN_REGION))
    dark = ndimage.binary_opening(dark, structure=disk(1))
    dark = large_regions(dark, MIN_REGION)
    radius = max(1, int(round(CLOSING * size)))
    padded = np.pad(dark, radius)  # closing near the edge must not be cut by it
    closed = ndimage.binary_closing(padded, structure=disk(radius))[radius:-radius, radius:-radius]
    field = ndimage.binary_fill_holes(closed)
    field = ndimage.binary_dilation(field, structure=disk(max(1, int(round(MARGIN * size)))))
    if field.mean() < MIN_FIELD:
        return np.ones(picture.shape, dtype=bool)
    return field


def large_regions(mask: np.ndarray, share: float) -> np.ndarray:
    """The 8-connected regions of a bool mask that cover at least ``share`` of it (all when none does)."""
    labels, count = ndimage.label(mask, structure=np.ones((3, 3)))
    if count == 0:
        return mask
    areas = ndimage.sum(mask, labels, index=np.arange(1, count + 1))
    kept = 1 + np.flatnonzero(areas >= share * mask.size)
    return np.isin(labels, kept) if len(kept) else mask


def lung_masks(images) -> np.ndarray:
    """(N, 1, H, W) or (N, H, W) pictures in 0..1 (numpy or torch) -> (N, H, W) bool lung fields."""
    array = images.detach().cpu().numpy() if hasattr(images, "detach") else np.asarray(images)
    array = array[:, 0] if array.ndim == 4 else array
    return np.stack([lung_mask(picture) for picture in array]) if len(array) else np.zeros(array.shape, bool)
