"""COVID-19 CT lesion masks (MedSeg, radiologist-drawn) in the Inf-Net layout (Fan et al., TMI 2020).

    <root>/LungInfection-Train/Doctor-label/Imgs/<n>.jpg, GT/<n>.png (0/255 infection mask)
    <root>/MultiClassInfection-Train/Imgs/<n>.jpg, GT/<n>.png (0 bg, 1 ground-glass, 2 consolidation)

The multi-class GT files are palette PNGs: the palette *indices* are the class ids (read with Pillow,
not OpenCV, which would return the palette colours). Grey GT files with values 0..2 are accepted too.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from medinterp_widgets.data.errors import DataFormatError, wrap_errors
from medinterp_widgets.data.images import read_grey_image
from medinterp_widgets.data.picture_header import read_picture

BINARY_DIR = Path("LungInfection-Train") / "Doctor-label"
MULTICLASS_DIR = Path("MultiClassInfection-Train")
LESION_CLASSES = {0: "background", 1: "ground-glass opacity", 2: "consolidation"}


@dataclass(frozen=True)
class LesionSlice:
    """One CT slice with its infection mask (read lazily); ``multiclass`` tells which GT kind."""

    image_path: Path
    mask_path: Path
    case_id: str
    multiclass: bool

    def read(self) -> tuple[np.ndarray, np.ndarray]:
        """(image (H, W) float32 0..1, mask (H, W) uint8: 0/1, or 0/1/2 when multiclass)."""
        image = read_grey_image(self.image_path)
        mask = read_multiclass_mask(self.mask_path) if self.multiclass else read_binary_mask(self.mask_path)
        if mask.shape != image.shape:
            raise DataFormatError(self.mask_path, f"mask shape {mask.shape} differs from image shape {image.shape}")
        return image, mask


def read_binary_mask(path: str | os.PathLike) -> np.ndarray:
    """A 0/255 (or 0/1) mask PNG -> uint8 0/1; any other value raises DataFormatError."""
    values = _pixels(Path(path))
    present = set(np.unique(values).tolist())
    if not present <= {0, 1, 255}:
        raise DataFormatError(path, f"mask values {sorted(present)[:6]}, expected 0/255 (binary infection mask)")
    return (values > 0).astype(np.uint8)


def read_multiclass_mask(path: str | os.PathLike) -> np.ndarray:
    """A palette (or grey) PNG of class ids -> uint8 in {0, 1, 2}."""
    values = _pixels(Path(path))
    if values.max(initial=0) > 2:
        raise DataFormatError(path, f"class ids up to {values.max()}, expected 0 bg, 1 GGO, 2 consolidation")
    return values.astype(np.uint8)


def _pixels(path: Path) -> np.ndarray:
    """Raw class values of a mask PNG: palette indices for mode 'P', values for grey; else an error.
    The header's size is checked before decoding (``picture_header.read_picture``)."""
    data, _ = read_picture(path)
    with wrap_errors(path, "pixel data"), Image.open(io.BytesIO(data)) as picture:
        mode = picture.mode
        values = np.array(picture)
    if mode not in ("P", "L", "1", "I;16", "I"):
        raise DataFormatError(path, f"image mode {mode!r}, expected a palette or grey mask PNG")
    return values.astype(np.int64)


def _pairs(folder: Path, multiclass: bool) -> list[LesionSlice]:
    images, truths = folder / "Imgs", folder / "GT"
    for needed in (images, truths):
        if not needed.is_dir():
            raise FileNotFoundError(f"lesion folder not found: {needed}")
    slices = []
    for image_path in sorted(images.glob("*.jpg"), key=lambda p: (len(p.stem), p.stem)):
        mask_path = truths / f"{image_path.stem}.png"
        if not mask_path.is_file():
            raise DataFormatError(mask_path, f"GT mask missing for image {image_path.name}")
        slices.append(LesionSlice(image_path, mask_path, image_path.stem, multiclass))
    return slices


def load_covid_lesions(root: str | os.PathLike, multiclass: bool = False) -> list[LesionSlice]:
    """MedSeg lesion slices: binary infection masks (default) or the GGO/consolidation classes."""
    root = Path(root)
    return _pairs(root / (MULTICLASS_DIR if multiclass else BINARY_DIR), multiclass)
