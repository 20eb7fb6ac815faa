"""Split a parsed DICOM dataset into 2-D frames with their own geometry, timing and rescale.

Values are looked up per frame (enhanced multi-frame: PerFrameFunctionalGroupsSequence), then in the
SharedFunctionalGroupsSequence, then at the top level of the dataset (classic single-frame files).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue

from medinterp_widgets.data.checks import repair_non_finite
from medinterp_widgets.data.dicom._io import decode_pixels, header_count, transfer_syntax, wrap_errors
from medinterp_widgets.data.errors import FieldError, quiet_library_warnings

# functional-group sequence that holds each attribute in enhanced multi-frame objects
_GROUP_OF = {
    "ImagePositionPatient": "PlanePositionSequence",
    "ImageOrientationPatient": "PlaneOrientationSequence",
    "PixelSpacing": "PixelMeasuresSequence",
    "SliceThickness": "PixelMeasuresSequence",
    "SpacingBetweenSlices": "PixelMeasuresSequence",
    "RescaleSlope": "PixelValueTransformationSequence",
    "RescaleIntercept": "PixelValueTransformationSequence",
    "WindowCenter": "FrameVOILUTSequence",
    "WindowWidth": "FrameVOILUTSequence",
    "WindowCenterWidthExplanation": "FrameVOILUTSequence",
    "NominalCardiacTriggerDelayTime": "CardiacSynchronizationSequence",
    "TemporalPositionIndex": "FrameContentSequence",
}
_FLOAT32_MAX = float(np.finfo(np.float32).max)
_LUMA_WEIGHTS = np.array([0.299, 0.587, 0.114], dtype=np.float32)  # ITU-R BT.601: Y = .299R + .587G + .114B
HEADER_KEYWORDS = (
    "Modality", "PatientID", "StudyInstanceUID", "SeriesInstanceUID", "SeriesNumber", "SeriesDescription",
    "SOPInstanceUID", "SOPClassUID", "InstanceNumber", "TriggerTime", "SliceLocation", "SliceThickness",
    "SpacingBetweenSlices", "PhotometricInterpretation", "Manufacturer", "Rows", "Columns", "NumberOfFrames",
    "CardiacNumberOfImages", "BitsStored", "RescaleType",
)  # fmt: skip


@dataclass(frozen=True)
class Frame:
    """One 2-D image (rows, cols) with where it sits in space and time."""

    pixels: np.ndarray
    source: str
    frame_index: int
    position: tuple[float, float, float] | None
    orientation: tuple[float, ...] | None
    spacing: tuple[float, float] | None
    instance: int
    trigger_time: float | None
    temporal_index: int | None


def plain(value: Any) -> Any:
    """A pydicom element value as plain Python (str / int / float / list)."""
    if value is None or type(value) in (bool, int, float, str):
        return value
    if isinstance(value, (list, tuple, MultiValue)):
        return [plain(v) for v in value]
    for cast in (int, float):  # pydicom's IS / DSfloat / DSdecimal subclass these
        if isinstance(value, cast):
            return cast(value)
    return str(value)  # UID, PersonName, bytes-free text


def _item(dataset: Dataset, container: str, frame: int, group: str) -> Dataset | None:
    sequence = dataset.get(container)
    if not sequence:
        return None
    index = frame if container == "PerFrameFunctionalGroupsSequence" else 0
    if index >= len(sequence):
        return None
    inner = sequence[index].get(group)
    return inner[0] if inner else None


def lookup(dataset: Dataset, keyword: str, frame: int = 0) -> Any:
    """Value of ``keyword`` for ``frame``: per-frame group, shared group, then top level (None if absent)."""
    group = _GROUP_OF.get(keyword)
    if group is not None:
        for container in ("PerFrameFunctionalGroupsSequence", "SharedFunctionalGroupsSequence"):
            item = _item(dataset, container, frame, group)
            if item is not None and item.get(keyword) not in (None, ""):
                return item.get(keyword)
    value = dataset.get(keyword)
    return None if value in (None, "") else value


def _floats(value: Any, count: int, field: str) -> tuple[float, ...] | None:
    """``count`` finite numbers (None when absent or of another count); FieldError for text or NaN/inf."""
    if value is None:
        return None
    items = plain(value)
    items = items if isinstance(items, list) else [items]
    try:
        numbers = tuple(float(v) for v in items)
    except (TypeError, ValueError):
        raise FieldError(field, f"{items!r} are not numbers") from None
    if len(numbers) != count:
        return None
    if not all(np.isfinite(numbers)):
        raise FieldError(field, f"non-finite values {list(numbers)}")
    return numbers


def _optional_number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if np.isfinite(number) else None


def _header_number(dataset: Dataset, keyword: str, frame: int, default: float) -> float:
    """A numeric header value (``default`` when absent); FieldError for text or NaN/inf."""
    value = lookup(dataset, keyword, frame)
    if value is None:
        return default
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise FieldError(keyword, f"{plain(value)!r} is not a number") from None
    if not np.isfinite(number):
        raise FieldError(keyword, f"{number} is not a finite number")
    return number


def pixel_spacing(dataset: Dataset, frame: int = 0) -> tuple[float, float] | None:
    """(dy, dx) in mm: PixelSpacing is (row spacing, column spacing); ImagerPixelSpacing as a fallback."""
    spacing = (_floats(lookup(dataset, "PixelSpacing", frame), 2, "PixelSpacing")
               or _floats(dataset.get("ImagerPixelSpacing"), 2, "ImagerPixelSpacing"))
    if spacing is None or min(spacing) <= 0:
        return None
    return spacing[0], spacing[1]


def window_presets(dataset: Dataset, frame: int = 0) -> list[dict[str, Any]]:
    """Window centre/width pairs (multi-valued allowed) with their explanation as the name."""
    centers = plain(lookup(dataset, "WindowCenter", frame))
    widths = plain(lookup(dataset, "WindowWidth", frame))
    if centers is None or widths is None:
        return []
    names = plain(lookup(dataset, "WindowCenterWidthExplanation", frame))
    centers = centers if isinstance(centers, list) else [centers]
    widths = widths if isinstance(widths, list) else [widths]
    names = names if isinstance(names, list) else [names] * len(centers)
    presets = []
    for i, (center, width) in enumerate(zip(centers, widths)):
        name = names[i] if i < len(names) and names[i] else f"preset {i + 1}"
        center, width = _optional_number(center), _optional_number(width)
        if center is not None and width is not None and width > 0:
            presets.append({"center": center, "width": width, "name": str(name)})
    return presets


def _rescale(pixels: np.ndarray, dataset: Dataset, frame: int) -> np.ndarray:
    """Modality rescale: value = stored * RescaleSlope + RescaleIntercept (float32 unless identity).

    A slope/intercept that is not a finite number, or that takes the stored range outside float32,
    raises; non-finite stored floats are set to 0 with a warning (``checks.repair_non_finite``).
    """
    slope = _header_number(dataset, "RescaleSlope", frame, 1.0)
    intercept = _header_number(dataset, "RescaleIntercept", frame, 0.0)
    if slope == 1.0 and intercept == 0.0:
        return pixels
    if pixels.size:
        low, high = float(np.min(pixels)), float(np.max(pixels))
        reach = max(abs(slope * low + intercept), abs(slope * high + intercept))
        if not reach <= _FLOAT32_MAX:
            raise FieldError("RescaleSlope/RescaleIntercept", f"{slope:g} x stored + {intercept:g} reaches "
                                                              f"{reach:g}, beyond float32")
    return pixels.astype(np.float32) * np.float32(slope) + np.float32(intercept)


def _to_gray(pixels: np.ndarray) -> np.ndarray:
    """(frames, rows, cols, 3) RGB -> (frames, rows, cols) float32 luminance."""
    return pixels[..., :3].astype(np.float32) @ _LUMA_WEIGHTS


def _xyz(values: tuple[float, ...] | None) -> tuple[float, float, float] | None:
    """A checked 3-number tuple (``_floats(..., 3, ...)``) typed as a position."""
    return None if values is None else (values[0], values[1], values[2])


def _grid_positions(dataset: Dataset, n_frames: int) -> list[tuple[float, float, float]] | None:
    """Frame positions of classic multi-frame volumes (RT dose): IPP + GridFrameOffsetVector[i] * normal."""
    offsets = plain(dataset.get("GridFrameOffsetVector"))
    origin = _floats(dataset.get("ImagePositionPatient"), 3, "ImagePositionPatient")
    orientation = _floats(dataset.get("ImageOrientationPatient"), 6, "ImageOrientationPatient")
    if not isinstance(offsets, list) or len(offsets) != n_frames or origin is None or orientation is None:
        return None
    normal = np.cross(orientation[:3], orientation[3:])
    steps = _floats(offsets, n_frames, "GridFrameOffsetVector") or ()
    positions = [np.asarray(origin) + offset * normal for offset in steps]
    return [(float(p[0]), float(p[1]), float(p[2])) for p in positions]


def frames_of(path: str, dataset: Dataset) -> list[Frame]:
    """All frames of one parsed file, rescaled, each with its own geometry and timing."""
    pixels = decode_pixels(path, dataset)  # (frames, rows, cols[, samples])
    if pixels.ndim == 4:
        pixels = _to_gray(pixels)  # -> (frames, rows, cols)
    with wrap_errors(path, "cannot read frame geometry"), quiet_library_warnings():  # header values convert here
        instance = int(_optional_number(dataset.get("InstanceNumber")) or 0)
        top_trigger = _optional_number(dataset.get("TriggerTime"))
        grid = _grid_positions(dataset, pixels.shape[0]) if "PerFrameFunctionalGroupsSequence" not in dataset else None
        frames = []
        for i in range(pixels.shape[0]):
            trigger = _optional_number(lookup(dataset, "NominalCardiacTriggerDelayTime", i))
            temporal = _optional_number(lookup(dataset, "TemporalPositionIndex", i))
            frames.append(
                Frame(
                    pixels=repair_non_finite(_rescale(pixels[i], dataset, i), path, f"frame {i} pixel values"),
                    source=path,
                    frame_index=i,
                    position=grid[i] if grid else _xyz(_floats(lookup(dataset, "ImagePositionPatient", i), 3,
                                                               "ImagePositionPatient")),
                    orientation=_floats(lookup(dataset, "ImageOrientationPatient", i), 6, "ImageOrientationPatient"),
                    spacing=pixel_spacing(dataset, i),
                    instance=instance,
                    trigger_time=trigger if trigger is not None else top_trigger,
                    temporal_index=None if temporal is None else int(temporal),
                )
            )
    return frames


def header_metadata(path: str, dataset: Dataset) -> dict[str, Any]:
    """Useful header fields as plain values, window presets and colour/inversion flags."""
    with wrap_errors(path, "cannot read header"), quiet_library_warnings():
        values = {k: lookup(dataset, k) for k in HEADER_KEYWORDS}  # frame 0's functional groups first
        meta = {k: plain(v) for k, v in values.items() if v is not None}
        syntax = transfer_syntax(dataset)
        if syntax is not None:
            meta["TransferSyntaxUID"] = str(syntax)
        meta["windows"] = window_presets(dataset)
        photometric = str(dataset.get("PhotometricInterpretation", "MONOCHROME2"))
        meta["display_inverted"] = photometric == "MONOCHROME1"  # low values display white: flip at render
        if header_count(dataset, "SamplesPerPixel", default=1) > 1:
            meta["converted_to_gray"] = f"{photometric} -> luminance (ITU-R BT.601)"
        if photometric == "PALETTE COLOR":
            meta["palette_indices"] = True  # values are palette indices, not intensities
        meta["source"] = path
    return meta
