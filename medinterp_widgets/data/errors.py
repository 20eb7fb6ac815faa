"""Named errors of the data layer: each names the file, the field and what was expected."""

from __future__ import annotations

import os


class DataError(Exception):
    """Base class for data-layer errors."""


class DicomReadError(DataError):
    """A DICOM file (or series) could not be read: ``DicomReadError: 12.dcm: missing PixelSpacing``."""

    def __init__(self, path: str | os.PathLike, problem: str):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class DataFormatError(DataError):
    """A non-DICOM file (contour text, HDF5, NIfTI, image, manifest) is not in the expected format."""

    def __init__(self, path: str | os.PathLike, problem: str):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")
