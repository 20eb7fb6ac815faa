"""Data layer: `Volume`, readers for DICOM / NIfTI / HDF5 / images, contours, data sets, synthetic data.

No UI imports here.
"""

# -- real data sets, splits, manifests (datasets branch) --------------------------------------------
from medinterp_widgets.data.acdc import AcdcCase, acdc_diagnosis, list_acdc, load_acdc, read_acdc_h5

# -- DICOM, contours, Sunnybrook (dicom branch) ------------------------------------------------------
from medinterp_widgets.data.contours import contour_to_mask, mask_to_contour, read_contour_file
from medinterp_widgets.data.covid_ct import CovidCtImage, load_covid_ct
from medinterp_widgets.data.covid_lesions import LesionSlice, load_covid_lesions
from medinterp_widgets.data.datasets import (
    AcdcSliceDataset,
    CovidCtDataset,
    CovidLesionDataset,
    MouseBrainSliceDataset,
    fold_subsets,
    split_by_group,
)
from medinterp_widgets.data.dicom import read_dicom, read_dicom_series
from medinterp_widgets.data.errors import (
    CheckpointError,
    DataError,
    DataFormatError,
    DataRepairWarning,
    DataTooLargeError,
    DicomReadError,
    DicomTooLargeError,
    OutsideDataRootError,
    UntrustedModelError,
)
from medinterp_widgets.data.images import read_grey_image
from medinterp_widgets.data.manifests import VerifyResult, load_manifest, manifest_names, verify_manifest
from medinterp_widgets.data.mouse_brain import MouseBrain, load_mouse_brain, tissue_map
from medinterp_widgets.data.splits import patient_folds, patient_split, select_indices
from medinterp_widgets.data.sunnybrook import SunnybrookDataset, SunnybrookSlice, load_sunnybrook

# -- synthetic defaults (synthetic branch) ----------------------------------------------------------
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
    "CheckpointError", "DataError", "DataFormatError", "DataRepairWarning", "DataTooLargeError", "DicomReadError",
    "DicomTooLargeError", "OutsideDataRootError", "UntrustedModelError", "Volume",
]
__all__ += [
    "SunnybrookDataset", "SunnybrookSlice", "contour_to_mask", "load_sunnybrook", "mask_to_contour",
    "read_contour_file", "read_dicom", "read_dicom_series",
]
__all__ += [
    "AcdcCase", "AcdcSliceDataset", "CovidCtDataset", "CovidCtImage", "CovidLesionDataset", "LesionSlice",
    "MouseBrain", "MouseBrainSliceDataset", "VerifyResult", "acdc_diagnosis", "fold_subsets",
    "list_acdc", "load_acdc", "load_covid_ct", "load_covid_lesions", "load_manifest", "load_mouse_brain",
    "manifest_names", "patient_folds", "patient_split", "read_acdc_h5", "read_grey_image",
    "select_indices", "split_by_group", "tissue_map", "verify_manifest",
]
__all__ += [
    "CardiacBatch", "synthetic_brain", "synthetic_brain_slices", "synthetic_cardiac_mri", "synthetic_cine_lv",
    "synthetic_covid_ct", "synthetic_lung_ct",
]
