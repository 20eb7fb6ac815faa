"""One description of how a 2-D model sees an image, stored in its checkpoint, and the functions applying it.

``Preprocessing`` (a frozen dataclass of plain values, so ``torch.load(weights_only=True)`` still reads
it from ``config.extra["preprocessing"]``) says, in order:

1. crop: a central *square* of side ``round(crop * max(H, W))`` native pixels (padded with the image
   minimum where it leaves the image; 1.0 = the whole field of view, squared off). A square keeps the
   aspect ratio, so non-square scanners (ACDC 256 x 216, ...) are not stretched.
2. intensity: per image, on the crop: ``minmax`` (x - min) / (max - min); ``percentile`` clip to the
   (p_lo, p_hi) percentiles, then min-max to 0..1 (robust to a few bright pixels); ``zscore``
   (x - mean) / (std + 1e-6); ``none``.
3. size: resize the crop to ``size`` x ``size`` (area when shrinking, else bilinear; labels nearest).
4. channels: the grey image repeated ``channels`` times.
5. labels: ``label_maps[kind]`` maps a data set's labels to model classes (unnamed labels -> 0).
6. output (``largest_component``): after the argmax on the native grid, keep only the largest
   connected component of each foreground class per scoring unit (a volume's slices stacked: 3-D,
   26-connectivity; a single slice: 2-D), as segmentation pipelines commonly do for one-object classes.
7. test time (``test_time``): ``none``, ``mirror`` (the input and its left-right mirror) or ``dihedral``
   (the 8 flips / quarter turns): the class probabilities are the mean over those readings of the model
   input (``models.test_time``); older checkpoints read as ``none``.

``prepare`` applies 1-5 (training, validation and ``evaluate`` all call it); ``restore_probabilities``
takes class probabilities on the model grid back to the native image (bilinear, outside the crop:
background), so metrics can be measured at native resolution; ``keep_largest_component`` is step 6.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Mapping

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage

from medinterp_widgets.data.errors import DataFormatError
from medinterp_widgets.data.images import resize_pair
from medinterp_widgets.data.intensity import minmax_normalize

INTENSITY_MODES = ("minmax", "percentile", "zscore", "none")
TEST_TIME_MODES = ("none", "mirror", "dihedral")  # step 7, applied by models.test_time.predict_softmax
CHECKPOINT_KEY = "preprocessing"  # under the checkpoint's config.extra


@dataclass(frozen=True)
class Preprocessing:
    """See the module docstring; ``size`` None keeps the crop's native size (then batches need equal sizes)."""

    size: int | None = None
    crop: float = 1.0
    intensity: str = "minmax"
    percentiles: tuple[float, float] = (1.0, 99.0)
    channels: int = 1
    label_maps: Mapping[str, Mapping[int, int]] = field(default_factory=dict)
    largest_component: bool = False
    test_time: str = "none"

    def __post_init__(self) -> None:
        problem = _problem(self)
        if problem:
            raise ValueError(f"Preprocessing.{problem}")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-like data (label map keys as strings, as JSON would write them)."""
        values = asdict(self)
        values["percentiles"] = list(self.percentiles)
        values["label_maps"] = {kind: {str(k): int(v) for k, v in table.items()}
                                for kind, table in self.label_maps.items()}
        return values

    @classmethod
    def from_dict(cls, values: Any, source: str = "preprocessing") -> "Preprocessing":
        """Rebuild from ``to_dict`` output; DataFormatError naming ``source`` and the field otherwise."""
        if not isinstance(values, Mapping):
            raise DataFormatError(source, f"expected a mapping of preprocessing fields, got {type(values).__name__}")
        known = {"size", "crop", "intensity", "percentiles", "channels", "label_maps", "largest_component",
                 "test_time"}
        unknown = sorted(set(values) - known)
        if unknown:
            raise DataFormatError(source, f"unknown preprocessing field(s) {', '.join(unknown)}")
        try:
            maps = {str(kind): {int(k): int(v) for k, v in table.items()}
                    for kind, table in (values.get("label_maps") or {}).items()}
            spec = cls(size=None if values.get("size") is None else int(values["size"]),
                       crop=float(values.get("crop", 1.0)), intensity=str(values.get("intensity", "minmax")),
                       percentiles=_pair(values.get("percentiles", (1.0, 99.0))),
                       channels=int(values.get("channels", 1)), label_maps=maps,
                       largest_component=bool(values.get("largest_component", False)),
                       test_time=str(values.get("test_time", "none")))
        except (TypeError, ValueError, AttributeError) as error:
            raise DataFormatError(source, f"invalid preprocessing: {error}") from error
        return spec

    def label_map(self, kind: str) -> dict[int, int]:
        """The data set's label -> model class table; KeyError-free: ValueError naming the known kinds."""
        if kind not in self.label_maps:
            raise ValueError(f"preprocessing has no label map for data set {kind!r}; it has {sorted(self.label_maps)}")
        return dict(self.label_maps[kind])


def _problem(spec: Preprocessing) -> str:
    """'field: what was expected' for the first invalid field ('' when all are valid)."""
    low, high = (spec.percentiles + (math.nan, math.nan))[:2] if len(spec.percentiles) == 2 else (math.nan, math.nan)
    checks = [
        ("size", spec.size is None or (isinstance(spec.size, int) and spec.size >= 1), "None or a positive int"),
        ("crop", 0.0 < spec.crop <= 1.0, "a fraction in (0, 1]"),
        ("intensity", spec.intensity in INTENSITY_MODES, f"one of {INTENSITY_MODES}"),
        ("percentiles", 0.0 <= low < high <= 100.0, "(low, high) with 0 <= low < high <= 100"),
        ("channels", isinstance(spec.channels, int) and spec.channels >= 1, "a positive int"),
        ("test_time", spec.test_time in TEST_TIME_MODES, f"one of {TEST_TIME_MODES}"),
    ]
    for name, ok, expected in checks:
        if not ok:
            return f"{name}: expected {expected}, got {getattr(spec, name)!r}"
    return ""


@dataclass(frozen=True)
class Geometry:
    """Where the model grid sits in the native image: crop box (top, left, side) and the native shape."""

    top: int
    left: int
    side: int
    shape: tuple[int, int]


@dataclass(frozen=True)
class Prepared:
    """``x`` (C, h, w) float32, ``y`` (h, w) int64 model classes or None, and the geometry to restore."""

    x: np.ndarray
    y: np.ndarray | None
    geometry: Geometry


def crop_box(shape: tuple[int, int], crop: float) -> Geometry:
    """The central square of side round(crop * max(H, W)) (>= 1); top/left may be negative (padding)."""
    height, width = int(shape[0]), int(shape[1])
    side = max(1, int(round(crop * max(height, width))))
    return Geometry((height - side) // 2, (width - side) // 2, side, (height, width))


def _window(array: np.ndarray, box: Geometry, fill: float) -> np.ndarray:
    """array[top:top+side, left:left+side], padded with ``fill`` where the box leaves the array."""
    height, width = array.shape
    pads = ((max(0, -box.top), max(0, box.top + box.side - height)),
            (max(0, -box.left), max(0, box.left + box.side - width)))
    if any(p for pair in pads for p in pair):
        array = np.pad(array, pads, constant_values=fill)
    top, left = box.top + pads[0][0], box.left + pads[1][0]
    return array[top:top + box.side, left:left + box.side]


def scale_intensity(image: np.ndarray, mode: str, percentiles: tuple[float, float] = (1.0, 99.0)) -> np.ndarray:
    """Per-image intensity scaling (module docstring, step 2), float32."""
    image = np.asarray(image, dtype=np.float32)
    if mode == "minmax":
        return minmax_normalize(image)
    if mode == "percentile":
        low, high = np.percentile(image, percentiles)
        return minmax_normalize(np.clip(image, low, high))
    if mode == "zscore":
        return ((image - image.mean()) / (image.std() + 1e-6)).astype(np.float32)
    if mode == "none":
        return image
    raise ValueError(f"intensity: expected one of {INTENSITY_MODES}, got {mode!r}")


def map_labels(label: np.ndarray, table: Mapping[int, int]) -> np.ndarray:
    """Model classes of a label map: ``table[v]`` for the listed labels, 0 for every other value (int64)."""
    label = np.asarray(label)
    out = np.zeros(label.shape, dtype=np.int64)
    for source, target in table.items():
        out[label == source] = target
    return out


def prepare(spec: Preprocessing, image: np.ndarray, label: np.ndarray | None = None,
            kind: str | None = None) -> Prepared:
    """The model's view of one 2-D ``image`` (and its ``label`` of data set ``kind``): steps 1-5 above."""
    image = np.asarray(image, dtype=np.float32)
    if image.ndim != 2:
        raise ValueError(f"prepare: expected a 2-D image (H, W), got shape {image.shape}")
    box = crop_box(image.shape, spec.crop)
    cropped = scale_intensity(_window(image, box, float(image.min()) if image.size else 0.0),
                              spec.intensity, spec.percentiles)
    classes = None
    if label is not None:
        if np.shape(label) != image.shape:
            raise ValueError(f"prepare: label shape {np.shape(label)} differs from image shape {image.shape}")
        table = spec.label_map(kind) if kind is not None else {}
        mapped = map_labels(label, table) if kind is not None else np.asarray(label, dtype=np.int64)
        classes = _window(mapped, box, 0).astype(np.uint8)
    size = None if spec.size is None else (spec.size, spec.size)
    resized, resized_label = resize_pair(cropped, classes, size)
    x = np.repeat(np.ascontiguousarray(resized, dtype=np.float32)[None], spec.channels, axis=0)  # (C, h, w)
    y = None if resized_label is None else resized_label.astype(np.int64)
    return Prepared(x, y, box)


def restore_probabilities(probabilities: torch.Tensor, geometry: Geometry) -> torch.Tensor:
    """Class probabilities (C, h, w) on the model grid -> (C, H, W) on the native image.

    Bilinear resize to the crop's side (half-pixel centres, as cv2), paste at the crop box; pixels
    outside the crop are background (class 0 probability 1).
    """
    channels = probabilities.shape[0]
    side = geometry.side
    grid = F.interpolate(probabilities[None].float(), size=(side, side), mode="bilinear", align_corners=False)[0]
    height, width = geometry.shape
    native = torch.zeros(channels, height, width, dtype=grid.dtype)
    native[0] = 1.0
    top, left = max(0, geometry.top), max(0, geometry.left)
    bottom, right = min(height, geometry.top + side), min(width, geometry.left + side)
    native[:, top:bottom, left:right] = grid[:, top - geometry.top:bottom - geometry.top,
                                             left - geometry.left:right - geometry.left]
    return native


def keep_largest_component(labels: np.ndarray) -> np.ndarray:
    """Step 6 on one label map (2-D or a stack of slices, 3-D): each foreground class keeps only its
    largest connected component (full connectivity); background fills the rest. Returns a copy."""
    labels = np.asarray(labels)
    out = np.where(labels > 0, 0, labels).astype(labels.dtype)
    structure = np.ones((3,) * labels.ndim, dtype=bool)
    for c in np.unique(labels[labels > 0]):
        components, count = ndimage.label(labels == c, structure=structure)
        if count:
            sizes = np.bincount(components.ravel())[1:]  # voxels of components 1..count
            out[components == 1 + int(np.argmax(sizes))] = c
    return out


def from_checkpoint(payload: Mapping[str, Any], source: str = "checkpoint") -> Preprocessing | None:
    """The Preprocessing stored in a checkpoint's ``config.extra`` (None when it has none).

    Older checkpoints named only ``input_size`` / ``input_normalize`` / ``eval_label_map``; those become
    a Preprocessing with crop 1.0 (they did not record a crop).
    """
    extra = ((payload.get("config") or {}).get("extra") or {})
    if CHECKPOINT_KEY in extra:
        return Preprocessing.from_dict(extra[CHECKPOINT_KEY], f"{source}: config.extra.{CHECKPOINT_KEY}")
    if "eval_label_map" not in extra:
        return None
    size = extra.get("input_size")
    return Preprocessing.from_dict({"size": int(size[0]) if size else None,
                                    "intensity": extra.get("input_normalize") or "none",
                                    "label_maps": extra["eval_label_map"]}, f"{source}: config.extra")


def _pair(values: Any) -> tuple[float, float]:
    """Two floats from a stored (low, high) pair; ValueError for another count."""
    low, high = (float(v) for v in values)
    return low, high
