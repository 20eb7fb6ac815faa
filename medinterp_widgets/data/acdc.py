"""ACDC (Automated Cardiac Diagnosis Challenge), preprocessed HDF5 layout.

    <root>/data/patientXXX_frameYY_slice_N.h5   2-D training slices
    <root>/data/patientXXX_frameYY.h5           validation volumes (slices, H, W)
    <root>/train_slices.list, train.list, val.list   (any ``<name>.list``: ``list_acdc(root, name)``)

Each file holds ``image`` (float32, 0..1) and ``label`` (uint8: 0 background, 1 right ventricle,
2 myocardium, 3 LV cavity). The ACDC training patients are ordered by diagnosis in blocks of 20
(001-020 DCM, 021-040 HCM, 041-060 MINF, 061-080 NOR, 081-100 RV); numbers above 100 have no known
group here (``None``).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from medinterp_widgets.data.errors import DataFormatError, FieldError, wrap_errors
from medinterp_widgets.data.limits import check_array_size

ACDC_CLASSES = {0: "background", 1: "right ventricle", 2: "myocardium", 3: "LV cavity"}
DIAGNOSIS_BLOCKS = ("DCM", "HCM", "MINF", "NOR", "RV")  # patients 1-20, 21-40, ... 81-100
_SPLIT_LISTS = {"train": "train_slices.list", "val": "val.list"}
_NAME = re.compile(r"^(patient(\d{3}))_frame(\d{2})(?:_slice_(\d+))?$")


def acdc_diagnosis(patient_number: int) -> str | None:
    """Diagnosis group of an ACDC training patient: blocks of 20 -> DCM, HCM, MINF, NOR, RV; else None."""
    if 1 <= patient_number <= 100:
        return DIAGNOSIS_BLOCKS[(patient_number - 1) // 20]
    return None


@dataclass(frozen=True)
class AcdcCase:
    """One ACDC file: a 2-D slice (``slice_index`` set) or a validation volume (``slice_index`` None)."""

    path: Path
    patient_id: str  # "patient003"
    patient_number: int
    frame: int
    slice_index: int | None
    diagnosis: str | None

    @property
    def is_volume(self) -> bool:
        return self.slice_index is None

    def read(self) -> tuple[np.ndarray, np.ndarray]:
        """(image float32 0..1, label uint8), shaped (H, W) for a slice or (S, H, W) for a volume."""
        return read_acdc_h5(self.path, ndim=3 if self.is_volume else 2)

    def n_slices(self) -> int:
        """Number of 2-D slices in the file (reads only the HDF5 header)."""
        if not self.is_volume:
            return 1
        with _open(self.path) as handle:
            shape = _dataset(handle, "image", self.path).shape
        if not shape:
            raise DataFormatError(self.path, f"'image' has shape {shape}, expected (slices, H, W)")
        return int(shape[0])


def parse_acdc_name(name: str) -> tuple[str, int, int, int | None]:
    """``patient003_frame01_slice_4`` -> ("patient003", 3, 1, 4); a volume name gives slice None."""
    match = _NAME.match(name)
    if match is None:
        raise ValueError(f"not an ACDC case name (patientXXX_frameYY[_slice_N]): {name!r}")
    slice_text = match.group(4)
    return match.group(1), int(match.group(2)), int(match.group(3)), None if slice_text is None else int(slice_text)


def _open(path: Path) -> h5py.File:
    if not path.is_file():
        raise FileNotFoundError(f"HDF5 file not found: {path}")
    with wrap_errors(path, "not a readable HDF5 file"):
        return h5py.File(path, "r")


def _dataset(handle: h5py.File, key: str, path: Path) -> h5py.Dataset:
    with wrap_errors(path, f"HDF5 dataset {key!r}"):
        item = handle.get(key)
    if not isinstance(item, h5py.Dataset):
        raise DataFormatError(path, f"missing HDF5 dataset {key!r} (expected keys 'image' and 'label')")
    return item


def _read_dataset(handle: h5py.File, key: str, path: Path) -> np.ndarray:
    """The numeric dataset ``key``, its declared shape x itemsize checked against the array limit first."""
    dataset = _dataset(handle, key, path)
    with wrap_errors(path, f"HDF5 dataset {key!r}"):
        dtype, shape = dataset.dtype, dataset.shape
        if shape is None or dtype.kind not in "biuf":
            raise FieldError(f"{key!r}", f"dtype {dtype} / shape {shape}, expected a numeric array")
        check_array_size(path, f"HDF5 dataset {key!r}", shape, dtype.itemsize)
        return np.asarray(dataset[()])


def read_acdc_h5(path: str | os.PathLike, ndim: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Read and check one ACDC HDF5 file -> (image float32 in 0..1, label uint8 in 0..3).

    Every h5py failure (a corrupt chunk, a bad filter) becomes a `DataFormatError` naming the file
    and the dataset; sizes are checked from the header before reading (``limits``).
    """
    path = Path(path)
    with _open(path) as handle:
        image = _read_dataset(handle, "image", path)
        label = _read_dataset(handle, "label", path)
    if ndim is not None and image.ndim != ndim:
        raise DataFormatError(path, f"'image' has {image.ndim} dims {image.shape}, expected {ndim}")
    if image.ndim not in (2, 3) or image.size == 0:
        raise DataFormatError(path, f"'image' has shape {image.shape}, expected a non-empty (H, W) or (S, H, W)")
    if image.shape != label.shape:
        raise DataFormatError(path, f"'label' shape {label.shape} differs from 'image' shape {image.shape}")
    if not np.issubdtype(image.dtype, np.floating):
        raise DataFormatError(path, f"'image' dtype {image.dtype}, expected float32 in 0..1")
    if not np.isfinite(image).all() or np.min(image) < -1e-3 or np.max(image) > 1 + 1e-3:
        raise DataFormatError(path, "'image' values outside 0..1 (expected finite float32 scaled to 0..1)")
    if not np.issubdtype(label.dtype, np.integer) or label.min() < 0 or label.max() > 3:
        raise DataFormatError(path, f"'label' must be integers 0..3 (bg, RV, myo, LV), got {label.dtype}")
    return image.astype(np.float32, copy=False), label.astype(np.uint8, copy=False)


def _read_list(path: Path) -> list[str]:
    if not path.is_file():
        raise FileNotFoundError(f"ACDC split list not found: {path}")
    return [line.strip() for line in path.read_text().splitlines() if line.strip()]


def load_acdc(root: str | os.PathLike, split: str = "train") -> list[AcdcCase]:
    """The ACDC cases of ``split``: 'train' (2-D slices of train_slices.list) or 'val' (volumes of val.list).

    Files are checked to exist; arrays are read lazily by ``AcdcCase.read()``.
    """
    if split not in _SPLIT_LISTS:
        raise ValueError(f"ACDC split must be one of {sorted(_SPLIT_LISTS)}, got {split!r}")
    root = Path(root)
    list_path = root / _SPLIT_LISTS[split]
    cases = []
    for name in _read_list(list_path):
        case = _case(root / "data" / f"{name}.h5", name, list_path)
        if (split == "train") != (case.slice_index is not None):
            raise DataFormatError(list_path, f"{name!r}: expected {'slice' if split == 'train' else 'volume'} names")
        if not case.path.is_file():
            raise DataFormatError(list_path, f"lists {name!r} but {case.path} does not exist")
        cases.append(case)
    return cases


AUTO_LISTS = ("test", "val")  # list_acdc(root) reads the first of these that exists, else every file


def list_acdc(root: str | os.PathLike, split: str | None = None) -> list[AcdcCase]:
    """The cases of any ACDC folder, whatever its lists are called.

    ``split``: read ``<root>/<split>.list`` (DataFormatError naming it when missing). None: the first of
    ``test.list`` / ``val.list`` that exists, else every ``data/*.h5``. A listed volume name without its
    own file (e.g. ``train.list`` beside 2-D slice files) stands for its ``<name>_slice_N.h5`` slices,
    in slice order.
    """
    root = Path(root)
    folder = root / "data"
    if not folder.is_dir():
        raise DataFormatError(folder, "missing: expected the ACDC layout <root>/data/*.h5")
    if split is None:
        split = next((name for name in AUTO_LISTS if (root / f"{name}.list").is_file()), None)
    if split is None:
        return [_case(path, path.stem, path) for path in sorted(folder.glob("*.h5"))]
    list_path = root / f"{split}.list"
    if not list_path.is_file():
        lists = sorted(p.name for p in root.glob("*.list"))
        raise DataFormatError(list_path, f"no such split list; this folder has {lists or 'none'} "
                                         "(omit the split to read test.list / val.list or every file)")
    cases = []
    for name in _read_list(list_path):
        path = folder / f"{name}.h5"
        slices = sorted(folder.glob(f"{name}_slice_*.h5"), key=lambda p: parse_acdc_name(p.stem)[3] or 0)
        if not path.is_file() and not slices:
            raise DataFormatError(list_path, f"lists {name!r} but neither {path.name} nor {name}_slice_*.h5 exists")
        cases += [_case(item, item.stem, list_path) for item in ([path] if path.is_file() else slices)]
    return cases


def _case(path: Path, name: str, source: Path) -> AcdcCase:
    try:
        patient_id, number, frame, slice_index = parse_acdc_name(name)
    except ValueError as error:
        raise DataFormatError(source, str(error)) from error
    return AcdcCase(path, patient_id, number, frame, slice_index, acdc_diagnosis(number))
