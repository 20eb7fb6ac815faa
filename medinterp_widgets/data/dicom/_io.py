"""Open a DICOM file and decode its pixels; every failure becomes a `DicomReadError` naming the path."""

from __future__ import annotations

import os

import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.pixels import get_decoder
from pydicom.uid import UID

from medinterp_widgets.data.errors import DicomReadError, DicomTooLargeError, FieldError, quiet_library_warnings
from medinterp_widgets.data.errors import wrap_errors as wrap_data_errors
from medinterp_widgets.data.limits import ARRAY_LIMIT_ENV, check_array_size, check_file_size, max_array_bytes

_IMAGE_KEYWORDS = ("Rows", "Columns")


def wrap_errors(path: str | os.PathLike, doing: str):
    """Turn any exception raised inside into ``DicomReadError(path, "<doing>: ...")`` (see ``errors.wrap_errors``)."""
    return wrap_data_errors(path, doing, DicomReadError)


def header_count(dataset: Dataset, keyword: str, default: int | None = None, minimum: int = 1) -> int:
    """A whole-number header field (Rows, Columns, NumberOfFrames, ...) >= ``minimum``; FieldError otherwise."""
    value = dataset.get(keyword)
    if value in (None, "") and default is not None:
        return default
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise FieldError(keyword, f"{value!r} is not a whole number") from None
    if number < minimum:
        raise FieldError(keyword, f"{number}, expected at least {minimum}")
    return number


def open_dataset(path: str | os.PathLike, *, header_only: bool = False) -> Dataset:
    """Parse one file with pydicom; files without the 'DICM' preamble are retried leniently.

    A leniently parsed file must still look like an image (Rows, Columns) to count as DICOM.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise DicomReadError(path, "no such file")
    check_file_size(path, "file size", os.path.getsize(path), max_array_bytes(), ARRAY_LIMIT_ENV,
                    error=DicomTooLargeError)
    with wrap_errors(path, "cannot parse DICOM"), quiet_library_warnings():
        try:
            dataset = pydicom.dcmread(path, stop_before_pixels=header_only)
        except InvalidDicomError:
            dataset = pydicom.dcmread(path, stop_before_pixels=header_only, force=True)
            if "SOPClassUID" not in dataset and not all(keyword in dataset for keyword in _IMAGE_KEYWORDS):
                raise DicomReadError(
                    path, "not a DICOM file: no 'DICM' marker at byte 128 and no readable SOPClassUID/Rows/Columns"
                ) from None
        for keyword in _IMAGE_KEYWORDS:
            if keyword not in dataset:
                raise DicomReadError(path, f"missing {keyword}: expected an image with Rows and Columns")
    return dataset


def transfer_syntax(dataset: Dataset) -> UID | None:
    """The file's transfer syntax UID (None for a file without meta information)."""
    meta = getattr(dataset, "file_meta", None)
    syntax = meta.get("TransferSyntaxUID") if meta is not None else None
    return None if syntax in (None, "") else UID(str(syntax))


def _require_decoder(path: str, syntax: UID | None) -> None:
    """Raise a named error when a compressed syntax has no installed decoder, saying which plugin would."""
    if syntax is None:
        return
    if not syntax.is_transfer_syntax:
        raise DicomReadError(path, f"TransferSyntaxUID {syntax!s} is not a transfer syntax pydicom knows")
    if not syntax.is_compressed:
        return
    try:
        decoder = get_decoder(syntax)
    except NotImplementedError:
        raise DicomReadError(path, f"transfer syntax {syntax.name} ({syntax}) is not supported by pydicom") from None
    if not decoder.is_available:
        plugins = "; ".join(decoder.missing_dependencies) or "a pydicom pixel-data plugin"
        raise DicomReadError(
            path,
            f"compressed transfer syntax {syntax.name} ({syntax}) has no decoder installed; install one of: {plugins}",
        )


def declared_shape(dataset: Dataset) -> tuple[int, ...]:
    """(frames, rows, cols[, samples]) from the header (FieldError naming a bad field)."""
    frames = header_count(dataset, "NumberOfFrames", default=1)
    samples = header_count(dataset, "SamplesPerPixel", default=1)
    shape = (frames, header_count(dataset, "Rows"), header_count(dataset, "Columns"))
    return shape + ((samples,) if samples > 1 else ())


def _check_pixel_description(dataset: Dataset) -> None:
    """BitsStored, PixelRepresentation and PhotometricInterpretation hold single values (FieldError)."""
    header_count(dataset, "BitsStored", default=1)
    header_count(dataset, "PixelRepresentation", default=0, minimum=0)
    photometric = dataset.get("PhotometricInterpretation")
    if photometric is not None and not isinstance(photometric, str):
        raise FieldError("PhotometricInterpretation", f"{list(photometric)!r}, expected one value")


def decode_pixels(path: str | os.PathLike, dataset: Dataset) -> np.ndarray:
    """Stored pixel values, shaped (frames, rows, cols[, samples]); pydicom turns YBR colour into RGB.

    The declared size (frames x rows x cols x samples x bytes per sample) is checked against the
    array limit before decoding.
    """
    path = os.fspath(path)
    with wrap_errors(path, "cannot decode PixelData"):
        if not any(k in dataset for k in ("PixelData", "FloatPixelData", "DoubleFloatPixelData")):
            raise DicomReadError(path, "missing PixelData (7FE0,0010): expected an image")
        expected = declared_shape(dataset)
        bits = header_count(dataset, "BitsAllocated", default=8)
        _check_pixel_description(dataset)
        check_array_size(path, "PixelData (frames, rows, cols[, samples])", expected, max(1, -(-bits // 8)),
                         error=DicomTooLargeError)
        _require_decoder(path, transfer_syntax(dataset))
        with quiet_library_warnings():
            pixels = np.asarray(dataset.pixel_array)
        if pixels.size != int(np.prod(expected)):
            raise FieldError("PixelData", f"holds {pixels.size} values; NumberOfFrames x Rows x Columns x "
                                          f"SamplesPerPixel = {' x '.join(map(str, expected))}")
        pixels = pixels.reshape(expected)
    return pixels
