"""Data layer: `Volume`, readers for DICOM / NIfTI / HDF5 / images, contours, data sets, synthetic data.

No UI imports here.
"""

from medinterp_widgets.data.errors import DataError, DataFormatError, DicomReadError
from medinterp_widgets.data.synthetic import (
    CardiacBatch,
    synthetic_brain,
    synthetic_brain_slices,
    synthetic_cardiac_mri,
    synthetic_cine_lv,
    synthetic_covid_ct,
    synthetic_lung_ct,
)
from medinterp_widgets.data.volume import Volume

__all__ = [
    "CardiacBatch",
    "DataError",
    "DataFormatError",
    "DicomReadError",
    "Volume",
    "synthetic_brain",
    "synthetic_brain_slices",
    "synthetic_cardiac_mri",
    "synthetic_cine_lv",
    "synthetic_covid_ct",
    "synthetic_lung_ct",
]
