"""Named errors of the data layer: each names the file, the field and what was expected.

``wrap_errors(path, doing)`` is the one place a reader turns a library's exception (h5py, nibabel,
OpenCV, pydicom, torch) into the reader's named error with the path.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Iterator


class DataError(Exception):
    """Base class for data-layer errors."""


class _PathError(DataError):
    def __init__(self, path: str | os.PathLike, problem: str):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class DicomReadError(_PathError):
    """A DICOM file (or series) could not be read: ``DicomReadError: 12.dcm: missing PixelSpacing``."""


class DataFormatError(_PathError):
    """A non-DICOM file (contour text, HDF5, NIfTI, image, manifest) is not in the expected format."""


class DataTooLargeError(DataFormatError):
    """A file declares an array (or holds a checkpoint) larger than the configured limit (``data.limits``)."""


class DicomTooLargeError(DicomReadError, DataTooLargeError):
    """A DICOM file or series declares more pixel data than the array limit."""


class CheckpointError(DataFormatError):
    """A checkpoint file is not a usable medinterp checkpoint (field named in the message)."""


class UntrustedModelError(CheckpointError):
    """A checkpoint names a model class that is neither registered nor in a module the user trusted.

    ``module``: the module whose code loading it would run (None when the name cannot be trusted at all).
    """

    def __init__(self, path: str | os.PathLike, problem: str, module: str | None = None):
        self.module = module
        super().__init__(path, problem)


class OutsideDataRootError(DataError, ValueError):
    """A path (as given, or after following symlinks) lies outside the data root."""


class DataRepairWarning(UserWarning):
    """A reader repaired a value (e.g. non-finite voxels set to 0); the message names file, field and fix."""


class FieldError(ValueError):
    """A header field holds a value a reader cannot use; ``wrap_errors`` reports it as '<field>: <problem>'."""

    def __init__(self, field: str, problem: str):
        super().__init__(f"{field}: {problem}")


@contextlib.contextmanager
def skip_or_raise(skip_bad: bool, skipped: list[tuple[str, str]],
                  catch: type[Exception] | tuple[type[Exception], ...] = DataError,
                  never: tuple[type[Exception], ...] = ()) -> Iterator[None]:
    """One item of a loop over files: a ``catch`` error is raised, or with ``skip_bad`` recorded in
    ``skipped`` as (path, problem) and the rest of the block skipped; ``never`` errors always propagate."""
    try:
        yield
    except never:
        raise
    except catch as error:
        if not skip_bad:
            raise
        skipped.append((str(getattr(error, "path", "")), str(getattr(error, "problem", error))))


@contextlib.contextmanager
def quiet_library_warnings() -> Iterator[None]:
    """Silence a parser's warnings about odd-but-readable values (pydicom converting a header value,
    nibabel reading a header) for the calls inside only; our `DataRepairWarning` stays visible."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        warnings.simplefilter("default", DataRepairWarning)
        yield


@contextlib.contextmanager
def wrap_errors(path: str | os.PathLike, doing: str, error: type[_PathError] = DataFormatError) -> Iterator[None]:
    """Turn any exception raised inside (but our named ones) into ``error(path, "<doing>: ...")``.

    A `FieldError` keeps its own text ("<field>: <problem>"); other exceptions give their type and
    message. Warnings pass through: ``quiet_library_warnings`` goes around the parsing calls that need it.
    """
    try:
        yield
    except DataError:
        raise
    except MemoryError as caught:
        raise DataTooLargeError(path, f"{doing}: out of memory; the file declares more data than fits") from caught
    except FieldError as caught:
        raise error(path, f"{doing}: {caught}") from caught
    except Exception as caught:  # noqa: BLE001 - the one place third-party errors are named
        raise error(path, f"{doing}: {type(caught).__name__}: {caught}") from caught
