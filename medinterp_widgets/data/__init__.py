"""Data layer: `Volume`, readers for DICOM / NIfTI / HDF5 / images, contours, data sets, synthetic data.

No UI imports here.
"""

from medinterp_widgets.data.errors import DataError, DataFormatError, DicomReadError
from medinterp_widgets.data.volume import Volume

__all__ = ["DataError", "DataFormatError", "DicomReadError", "Volume"]
