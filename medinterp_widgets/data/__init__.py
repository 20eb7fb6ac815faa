"""Data layer: `Volume`, readers for DICOM / NIfTI / HDF5 / images, contours, data sets, synthetic data.

No UI imports here.
"""

from medinterp_widgets.data.contours import contour_to_mask, mask_to_contour, read_contour_file
from medinterp_widgets.data.dicom import read_dicom, read_dicom_series
from medinterp_widgets.data.errors import DataError, DataFormatError, DicomReadError
from medinterp_widgets.data.sunnybrook import SunnybrookDataset, SunnybrookSlice, load_sunnybrook, split_studies
from medinterp_widgets.data.volume import Volume

__all__ = [
    "DataError",
    "DataFormatError",
    "DicomReadError",
    "SunnybrookDataset",
    "SunnybrookSlice",
    "Volume",
    "contour_to_mask",
    "load_sunnybrook",
    "mask_to_contour",
    "read_contour_file",
    "read_dicom",
    "read_dicom_series",
    "split_studies",
]
