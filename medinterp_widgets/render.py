"""Display maths on plain arrays: window/level, colormaps, stable label colours, overlays, contours.

Everything here is a pure numpy/cv2 function returning new arrays (inputs are never modified). The
interactive viewers send raw slices plus uint8 index images and let the browser's colour mappers
apply these same rules; the ``*_rgba`` functions produce the equivalent static picture (reports,
screenshots, tests).

Window/level: ``grey = clip((v - (c - w/2)) / w, 0, 1) * 255`` for centre ``c`` and width ``w``.
"""

from __future__ import annotations

import cv2
import numpy as np
from skimage.util import montage

# A fixed palette indexed by label id (id 0 = background, transparent). Label k always gets
# LABEL_COLORS[(k - 1) % len(LABEL_COLORS)], whatever case it comes from.
LABEL_COLORS: tuple[str, ...] = (
    "#e6194b", "#3cb44b", "#4363d8", "#ffe119", "#f58231", "#911eb4", "#42d4f4", "#f032e6",
    "#bfef45", "#fabed4", "#469990", "#dcbeff", "#9a6324", "#fffac8", "#800000", "#aaffc3",
    "#808000", "#ffd8b1", "#000075", "#a9a9a9",
)
TRANSPARENT = "#00000000"
COLORMAPS: dict[str, int | None] = {
    "gray": None,
    "hot": cv2.COLORMAP_HOT,
    "jet": cv2.COLORMAP_JET,
    "turbo": cv2.COLORMAP_TURBO,
    "viridis": cv2.COLORMAP_VIRIDIS,
    "inferno": cv2.COLORMAP_INFERNO,
}
N_LEVELS = 256  # uint8 index images: value v -> palette[v]


def window_bounds(center: float, width: float) -> tuple[float, float]:
    """(low, high) = (c - w/2, c + w/2); width is clamped to a tiny positive number."""
    width = max(float(width), 1e-6)
    return float(center) - width / 2, float(center) + width / 2


def window_to_uint8(values: np.ndarray, center: float, width: float) -> np.ndarray:
    """Grey levels ``clip((v - low) / (high - low), 0, 1) * 255`` as uint8 (NaN -> 0)."""
    low, high = window_bounds(center, width)
    scaled = (np.asarray(values, dtype=np.float32) - low) / (high - low)
    return np.nan_to_num(np.clip(scaled, 0.0, 1.0) * 255.0, nan=0.0).round().astype(np.uint8)


def auto_window(values: np.ndarray, percentiles: tuple[float, float] = (1.0, 99.0),
                max_samples: int = 1_000_000) -> tuple[float, float]:
    """(centre, width) spanning the given percentiles of the finite values; (0.5, 1) if there are none.

    Large arrays are estimated from an evenly strided sample of at most ``max_samples`` values.
    """
    flat = np.asarray(values).ravel()
    flat = flat[:: max(1, flat.size // max_samples)]
    finite = flat[np.isfinite(flat)]
    if finite.size == 0:
        return 0.5, 1.0
    low, high = np.percentile(finite, percentiles)
    width = float(high - low) or 1.0
    return float(low) + width / 2, width


def compact_for_display(values: np.ndarray) -> np.ndarray:
    """A C-contiguous copy in the smallest lossless display dtype: (u)int8/(u)int16 kept, bool -> uint8,
    wider ints -> int16 when they fit else float32, floats -> float32 (never float64)."""
    array = np.asarray(values)
    if array.dtype == bool:
        return np.ascontiguousarray(array, dtype=np.uint8)
    if array.dtype in (np.uint8, np.int8, np.uint16, np.int16, np.float32):
        return np.ascontiguousarray(array)
    if np.issubdtype(array.dtype, np.integer):
        info = np.iinfo(np.int16)
        fits = array.size == 0 or (array.min() >= info.min and array.max() <= info.max)
        return np.ascontiguousarray(array, dtype=np.int16 if fits else np.float32)
    return np.ascontiguousarray(array, dtype=np.float32)


def label_color(label: int) -> str:
    """The fixed colour (hex) of label id ``label``; background (0) is transparent."""
    label = int(label)
    if label < 0:
        raise ValueError(f"label ids must be >= 0, got {label}")
    return TRANSPARENT if label == 0 else LABEL_COLORS[(label - 1) % len(LABEL_COLORS)]


# Structures that keep one colour whatever id a data set gives them (the LV is red on the phantom and on
# ACDC); keys are lower-case class names.
STRUCTURE_COLORS: dict[str, str] = {
    "lv cavity": "#e6194b", "lv blood pool": "#e6194b", "left ventricle": "#e6194b",
    "myocardium": "#3cb44b", "lv myocardium": "#3cb44b",
    "right ventricle": "#4363d8", "rv cavity": "#4363d8",
}


def label_colors(names: dict[int, str] | None = None) -> dict[int, str]:
    """Colour of each named label id: ``STRUCTURE_COLORS`` for known structures, else ``label_color(id)``."""
    return {int(k): STRUCTURE_COLORS.get(str(name).strip().lower(), label_color(int(k)))
            for k, name in (names or {}).items() if 0 < int(k) < N_LEVELS}


def label_palette(names: dict[int, str] | None = None) -> list[str]:
    """256 colours, entry k = ``label_color(k)`` or the structure colour of its name (``label_colors``):
    the palette for uint8 label index images."""
    named = label_colors(names)
    return [named.get(k, label_color(k)) for k in range(N_LEVELS)]


def colormap_lut(name: str) -> np.ndarray:
    """(256, 3) uint8 RGB lookup table of a named colormap (``COLORMAPS``)."""
    if name not in COLORMAPS:
        raise ValueError(f"colormap must be one of {sorted(COLORMAPS)}, got {name!r}")
    ramp = np.arange(N_LEVELS, dtype=np.uint8).reshape(N_LEVELS, 1)
    if COLORMAPS[name] is None:
        return np.repeat(ramp, 3, axis=1)
    bgr = cv2.applyColorMap(ramp, COLORMAPS[name])  # (256, 1, 3) BGR
    return np.ascontiguousarray(bgr[:, 0, ::-1])


def colormap_palette(name: str, threshold: float = 0.0) -> list[str]:
    """256 hex colours of ``name``; levels below ``threshold * 255`` (threshold in 0..1) are transparent."""
    cut = int(np.ceil(float(np.clip(threshold, 0.0, 1.0)) * (N_LEVELS - 1)))
    return [TRANSPARENT if k < cut else "#%02x%02x%02x" % tuple(rgb) for k, rgb in enumerate(colormap_lut(name))]


def heatmap_range(heatmap: np.ndarray) -> tuple[float, float]:
    """(min, max) of the finite values (0, 1) when there are none or they are constant."""
    finite = np.asarray(heatmap)[np.isfinite(heatmap)]
    if finite.size == 0 or finite.min() == finite.max():
        return 0.0, 1.0
    return float(finite.min()), float(finite.max())


def heatmap_to_index(heatmap: np.ndarray, vmin: float = 0.0, vmax: float = 1.0) -> np.ndarray:
    """uint8 levels ``round(clip((h - vmin) / (vmax - vmin), 0, 1) * 255)``; NaN -> 0."""
    span = max(float(vmax) - float(vmin), 1e-12)
    scaled = np.clip((np.asarray(heatmap, dtype=np.float32) - vmin) / span, 0.0, 1.0)
    return np.nan_to_num(scaled * 255.0, nan=0.0).round().astype(np.uint8)


def inner_boundaries(labels: np.ndarray) -> np.ndarray:
    """Boolean map of labelled pixels (id > 0) with a differently labelled 8-neighbour.

    ``min3x3(L) != L or max3x3(L) != L`` via cv2 erode/dilate (the image border is not an edge).
    """
    labels = np.ascontiguousarray(labels, dtype=np.uint8)
    kernel = np.ones((3, 3), np.uint8)
    edges = (cv2.erode(labels, kernel) != labels) | (cv2.dilate(labels, kernel) != labels)
    return edges & (labels > 0)


def label_index(labels: np.ndarray, mode: str = "fill") -> np.ndarray:
    """uint8 label image for display: the labels themselves (``fill``) or only their boundaries
    (``contour``: pixels of label k on the inner edge of region k keep k, the rest become 0)."""
    labels = np.asarray(labels)
    if labels.size and (labels.min() < 0 or labels.max() >= N_LEVELS):
        raise ValueError(f"label ids must lie in 0..{N_LEVELS - 1}, got {labels.min()}..{labels.max()}")
    labels = labels.astype(np.uint8)
    if mode == "fill":
        return labels
    if mode == "contour":
        return np.where(inner_boundaries(labels), labels, 0).astype(np.uint8)
    raise ValueError(f"mask mode must be 'fill' or 'contour', got {mode!r}")


def _hex_to_rgba(color: str) -> tuple[int, int, int, int]:
    digits = color.lstrip("#")
    alpha = int(digits[6:8], 16) if len(digits) == 8 else 255
    return int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16), alpha


def palette_rgba(palette: list[str]) -> np.ndarray:
    """(len, 4) uint8 RGBA table of hex colours (``#rrggbb`` or ``#rrggbbaa``)."""
    return np.array([_hex_to_rgba(c) for c in palette], dtype=np.uint8)


def blend(base_rgb: np.ndarray, index: np.ndarray, palette: list[str], opacity: float) -> np.ndarray:
    """``out = (1 - a) * base + a * colour`` per pixel, ``a = opacity * palette alpha[index]``."""
    table = palette_rgba(palette).astype(np.float32)
    colour = table[np.asarray(index, dtype=np.uint8)]  # (H, W, 4)
    alpha = float(opacity) * colour[..., 3:4] / 255.0
    mixed = (1.0 - alpha) * np.asarray(base_rgb, dtype=np.float32) + alpha * colour[..., :3]
    return mixed.round().astype(np.uint8)


def slice_rgba(
    image: np.ndarray,
    center: float,
    width: float,
    *,
    labels: np.ndarray | None = None,
    label_mode: str = "contour",
    label_opacity: float = 0.6,
    heatmap: np.ndarray | None = None,
    heatmap_limits: tuple[float, float] = (0.0, 1.0),
    colormap: str = "jet",
    heatmap_opacity: float = 0.5,
    heatmap_threshold: float = 0.0,
) -> np.ndarray:
    """(H, W, 4) uint8 picture: windowed grey image, then heatmap, then labels, as the browser draws it."""
    grey = window_to_uint8(image, center, width)
    rgb = np.repeat(grey[..., None], 3, axis=2)  # (H, W) -> (H, W, 3)
    if heatmap is not None:
        levels = heatmap_to_index(heatmap, *heatmap_limits)
        rgb = blend(rgb, levels, colormap_palette(colormap, heatmap_threshold), heatmap_opacity)
    if labels is not None:
        rgb = blend(rgb, label_index(labels, label_mode), label_palette(), label_opacity)
    alpha = np.full(rgb.shape[:2] + (1,), 255, dtype=np.uint8)
    return np.concatenate([rgb, alpha], axis=2)


def tile_mosaic(tiles: np.ndarray, columns: int | None = None, padding: int = 1) -> np.ndarray:
    """(K, h, w) maps -> one uint8 mosaic (skimage ``montage``): each tile min-max scaled to 0..255 on its
    own (``heatmap_to_index`` over ``heatmap_range``), ``padding`` pixels of 0 between tiles."""
    tiles = np.asarray(tiles, dtype=np.float32)
    if tiles.ndim != 3 or len(tiles) == 0:
        raise ValueError(f"tiles: expected a non-empty (K, h, w) array, got shape {tiles.shape}")
    levels = np.stack([heatmap_to_index(tile, *heatmap_range(tile)) for tile in tiles])  # (K, h, w) uint8
    columns = columns or int(np.ceil(np.sqrt(len(tiles))))
    grid = (int(np.ceil(len(tiles) / columns)), columns)
    return montage(levels, fill=0, grid_shape=grid, padding_width=padding).astype(np.uint8)
