"""Cases the workbench can open: embedded synthetic phantoms and files under a data root.

Paths typed by a user are confined to the data root: ``..``, absolute paths elsewhere and symlinks
that resolve outside it are refused with `OutsideDataRootError`; so is every file read for an entry
(series members, a NIfTI's label sibling), and the picker lists only entries that pass these checks.
Readers are imported only when a case needs them; a missing one gives `ReaderUnavailableError`
("reader not available") instead of breaking the app.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from medinterp_widgets.data.checks import same_shape
from medinterp_widgets.data.errors import DataError, DataFormatError, OutsideDataRootError
from medinterp_widgets.data.paths import is_inside, resolve_inside
from medinterp_widgets.data.volume import Volume

MAX_ENTRIES = 400
MAX_PER_FOLDER = 30  # so one folder of hundreds of slices does not hide the other data sets
NIFTI_SUFFIXES = (".nii", ".nii.gz")


class ReaderUnavailableError(RuntimeError):
    """The reader for a file kind is not part of this installation."""


@dataclass(frozen=True)
class Case:
    """A volume to browse, with optional integer label masks and float heatmaps."""

    name: str
    volume: Volume
    masks: np.ndarray | None = None
    heatmaps: np.ndarray | None = None


def _reader(module: str, name: str) -> Callable:
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as error:
        raise ReaderUnavailableError(f"reader not available: {module}.{name} ({error})") from error


# -- synthetic cases (always available) ---------------------------------------------------------------
def _cine_lv() -> Case:
    volume, masks = _reader("medinterp_widgets.data.synthetic", "synthetic_cine_lv")(0, n_phases=12, n_slices=6)
    return Case("synthetic cine LV (t, z, y, x)", volume, masks)


def _brain() -> Case:
    volume, labels, _ = _reader("medinterp_widgets.data.synthetic", "synthetic_brain")(0)
    return Case("synthetic rodent brain (WM/GM/CSF)", volume, labels)


def _lung_ct() -> Case:
    volume, _, lesions = _reader("medinterp_widgets.data.synthetic", "synthetic_lung_ct")(0)
    return Case("synthetic lung CT (lesions: 1 GGO, 2 consolidation)", volume, lesions)


def _cardiac_batch() -> Case:
    batch = _reader("medinterp_widgets.data.synthetic", "synthetic_cardiac_mri")(8, 0)
    names = ", ".join(batch.class_names[k] for k in batch.labels)
    volume = Volume(batch.images, spacing=(1.0, 1.0, 1.0), metadata={"classes": names})
    return Case(f"synthetic cardiac MRI, {len(batch)} subjects (slice = subject)", volume, batch.tissue)


SYNTHETIC_CASES: dict[str, Callable[[], Case]] = {
    "synthetic: cine LV": _cine_lv,
    "synthetic: rodent brain": _brain,
    "synthetic: lung CT": _lung_ct,
    "synthetic: cardiac MRI batch": _cardiac_batch,
}


# -- the data root ------------------------------------------------------------------------------------
def resolve_in_root(root: str | os.PathLike, requested: str | os.PathLike) -> Path:
    """``root / requested`` with symlinks resolved; raises OutsideDataRootError when it leaves ``root``."""
    return resolve_inside(root, requested)


def entry_kind(path: Path) -> str | None:
    """'dicom' (a folder holding .dcm files), 'nifti', 'hdf5', or None when the workbench cannot open it."""
    if path.is_dir():
        return "dicom" if any(p.suffix.lower() == ".dcm" for p in path.iterdir()) else None
    name = path.name.lower()
    if name.endswith(NIFTI_SUFFIXES):
        return "nifti"
    return "hdf5" if name.endswith(".h5") else None


def _label_sibling(root: Path, path: Path) -> Path | None:
    """The mouse-brain layout's label file of a NIfTI (``<parent>/../label/<name>``), resolved, when that
    folder is inside ``root`` and the file exists; `OutsideDataRootError` when it resolves outside."""
    study = path.parent.parent
    if path.parent.name == "label" or not is_inside(root, study):
        return None
    candidate = study / "label" / path.name
    return resolve_inside(root, candidate, "label file") if candidate.is_file() else None


def openable(root: str | os.PathLike, path: Path) -> bool:
    """True when ``open_in_root`` would get past confinement for ``path``: it resolves inside ``root``, a
    series folder holds a .dcm file that does, a NIfTI's label sibling (if any) does."""
    base = Path(root).resolve()
    kind = entry_kind(path)
    if kind is None or not is_inside(base, path):
        return False
    if kind == "dicom":
        return any(p.suffix.lower() == ".dcm" and p.is_file() and is_inside(base, p) for p in path.iterdir())
    if kind == "nifti":
        try:
            _label_sibling(base, path.resolve())
        except OutsideDataRootError:
            return False
    return True


def scan_data_root(root: str | os.PathLike, limit: int = MAX_ENTRIES, per_folder: int = MAX_PER_FOLDER) -> list[str]:
    """Entries under ``root`` that will open (``openable``), as sorted relative paths: at most ``per_folder``
    from one folder and ``limit`` in all; symlinked folders are not followed."""
    base = Path(root).resolve()
    found: list[str] = []
    for folder, subfolders, files in os.walk(base):
        subfolders.sort()
        here = Path(folder)
        candidates = [here] + [here / f for f in sorted(files)]
        found += [str(p.relative_to(base)) for p in candidates if p != base and openable(base, p)][:per_folder]
        if len(found) >= limit:
            break
    return sorted(found)[:limit]


# -- loading a real entry -----------------------------------------------------------------------------
def _open_dicom(root: Path, path: Path) -> Case:
    read = _reader("medinterp_widgets.data.dicom", "read_dicom_series")
    return Case(f"DICOM series {path.name}", read(path, skip_bad=True, root=root))


def _open_nifti(root: Path, path: Path) -> Case:
    read = _reader("medinterp_widgets.data.nifti", "read_nifti")
    to_volume = _reader("medinterp_widgets.data.nifti", "volume_from_nifti")
    volume = to_volume(*read(path), source=str(path))
    labels_path = _label_sibling(root, path)
    masks = None
    if labels_path is not None:
        masks = same_shape(read(labels_path, labels=True)[0], volume.array.shape, labels_path, "label map")
    return Case(f"NIfTI {path.name}", volume, masks)


def _open_hdf5(root: Path, path: Path) -> Case:
    image, label = _reader("medinterp_widgets.data.acdc", "read_acdc_h5")(path)
    volume = Volume(image, spacing=(1.0,) * image.ndim, metadata={"source": str(path), "spacing": "unknown"})
    return Case(f"HDF5 {path.name} (spacing unknown: 1 mm)", volume, label)


_OPENERS = {"dicom": _open_dicom, "nifti": _open_nifti, "hdf5": _open_hdf5}


def open_in_root(root: str | os.PathLike, requested: str | os.PathLike) -> Case:
    """Open the entry ``requested`` (relative to ``root``) as a Case. The entry, and every file read for it
    (series members, a label sibling), must resolve inside ``root``; a problem with the file's content
    is a `DataError` naming it."""
    base = Path(root).resolve()
    path = resolve_in_root(base, requested)
    if not path.exists():
        raise FileNotFoundError(f"{requested}: not found under the data root {base}")
    kind = entry_kind(path)
    if kind is None:
        raise ValueError(f"{requested}: expected a DICOM series folder, a NIfTI file or an HDF5 file")
    try:
        return _OPENERS[kind](base, path)
    except (DataError, ReaderUnavailableError):
        raise
    except ValueError as error:  # e.g. Volume refusing the array's shape or geometry
        raise DataFormatError(path, str(error)) from error
