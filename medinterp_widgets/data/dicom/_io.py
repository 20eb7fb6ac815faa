"""Open a DICOM file and decode its pixels; every failure becomes a `DicomReadError` naming the path."""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Iterator

import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.pixels import get_decoder
from pydicom.uid import UID

from medinterp_widgets.data.errors import DicomReadError

_IMAGE_KEYWORDS = ("Rows", "Columns")


@contextlib.contextmanager
def wrap_errors(path: str | os.PathLike, doing: str) -> Iterator[None]:
    """Turn any exception raised inside into ``DicomReadError(path, "<doing>: <Type>: <message>")``."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pydicom warns (not raises) on odd-but-readable values
            yield
    except DicomReadError:
        raise
    except Exception as error:  # noqa: BLE001 - the one place every third-party error is named
        raise DicomReadError(path, f"{doing}: {type(error).__name__}: {error}") from error


def open_dataset(path: str | os.PathLike, *, header_only: bool = False) -> Dataset:
    """Parse one file with pydicom; files without the 'DICM' preamble are retried leniently.

    A leniently parsed file must still look like an image (Rows, Columns) to count as DICOM.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise DicomReadError(path, "no such file")
    with wrap_errors(path, "cannot parse DICOM"):
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
    return meta.get("TransferSyntaxUID") if meta is not None else None


def _require_decoder(path: str, syntax: UID | None) -> None:
    """Raise a named error when a compressed syntax has no installed decoder, saying which plugin would."""
    if syntax is None or not syntax.is_compressed:
        return
    try:
        decoder = get_decoder(syntax)
    except NotImplementedError:
        raise DicomReadError(path, f"transfer syntax {syntax.name} ({syntax}) is not supported by pydicom") from None
    if not decoder.is_available:
        plugins = "; ".join(decoder.missing_dependencies) or "a pydicom pixel-data plugin"
        raise DicomReadError(
            path, f"compressed transfer syntax {syntax.name} ({syntax}) has no decoder installed; install one of: {plugins}"
        )


def decode_pixels(path: str | os.PathLike, dataset: Dataset) -> np.ndarray:
    """Stored pixel values, shaped (frames, rows, cols[, samples]); pydicom turns YBR colour into RGB."""
    path = os.fspath(path)
    if not any(k in dataset for k in ("PixelData", "FloatPixelData", "DoubleFloatPixelData")):
        raise DicomReadError(path, "missing PixelData (7FE0,0010): expected an image")
    _require_decoder(path, transfer_syntax(dataset))
    with wrap_errors(path, "cannot decode PixelData"):
        pixels = dataset.pixel_array
        frames = int(dataset.get("NumberOfFrames") or 1)
        samples = int(dataset.get("SamplesPerPixel") or 1)
        expected = (frames, int(dataset.Rows), int(dataset.Columns)) + ((samples,) if samples > 1 else ())
        pixels = np.asarray(pixels).reshape(expected)
    return pixels
