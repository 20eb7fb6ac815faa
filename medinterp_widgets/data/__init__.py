"""Data layer: `Volume`, readers for DICOM / NIfTI / HDF5 / images, contours, data sets, synthetic data.

No UI imports here.
"""

from medinterp_widgets.data.errors import DataError, DataFormatError, DicomReadError
from medinterp_widgets.data.synthetic import synthetic_brain, synthetic_brain_slices, synthetic_cine_lv
from medinterp_widgets.data.volume import Volume

__all__ = [
    "DataError",
    "DataFormatError",
    "DicomReadError",
    "Volume",
    "synthetic_brain",
    "synthetic_brain_slices",
    "synthetic_cine_lv",
]
