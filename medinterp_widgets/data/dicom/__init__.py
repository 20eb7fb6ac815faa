"""DICOM readers: `read_dicom` (one file, single- or multi-frame) and `read_dicom_series` (a folder)."""

from medinterp_widgets.data.dicom.reader import read_dicom, read_dicom_series

__all__ = ["read_dicom", "read_dicom_series"]
