"""Cases the workbench can open: embedded synthetic phantoms and files under a data root.

Paths typed by a user are confined to the data root: ``..``, absolute paths elsewhere and symlinks
that resolve outside it are refused with `OutsideDataRootError`. Readers live on other branches of
the data layer and are imported only when a case needs them; a missing one gives
`ReaderUnavailableError` ("reader not available") instead of breaking the app.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from medinterp_widgets.data.volume import Volume

MAX_ENTRIES = 400
MAX_PER_FOLDER = 30  # so one folder of hundreds of slices does not hide the other data sets
NIFTI_SUFFIXES = (".nii", ".nii.gz")


class OutsideDataRootError(ValueError):
    """A requested path resolves outside the data root."""


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
    base = Path(root).resolve()
    target = (base / Path(requested).expanduser()).resolve()  # an absolute `requested` replaces base
    if target != base and base not in target.parents:
        raise OutsideDataRootError(f"{requested}: outside the data root {base}; only paths inside it can be opened")
    return target


def entry_kind(path: Path) -> str | None:
    """'dicom' (a folder holding .dcm files), 'nifti', 'hdf5', or None when the workbench cannot open it."""
    if path.is_dir():
        return "dicom" if any(p.suffix.lower() == ".dcm" for p in path.iterdir()) else None
    name = path.name.lower()
    if name.endswith(NIFTI_SUFFIXES):
        return "nifti"
    return "hdf5" if name.endswith(".h5") else None


def scan_data_root(root: str | os.PathLike, limit: int = MAX_ENTRIES, per_folder: int = MAX_PER_FOLDER) -> list[str]:
    """Openable entries under ``root`` as sorted relative paths: at most ``per_folder`` from one folder and
    ``limit`` in all; symlinks are not followed."""
    base = Path(root).resolve()
    found: list[str] = []
    for folder, subfolders, files in os.walk(base):
        subfolders.sort()
        here = Path(folder)
        candidates = [here] + [here / f for f in sorted(files)]
        found += [str(p.relative_to(base)) for p in candidates if p != base and entry_kind(p)][:per_folder]
        if len(found) >= limit:
            break
    return sorted(found)[:limit]


# -- loading a real entry -----------------------------------------------------------------------------
def _open_dicom(path: Path) -> Case:
    volume = _reader("medinterp_widgets.data.dicom", "read_dicom_series")(path, skip_bad=True)
    return Case(f"DICOM series {path.name}", volume)


def _open_nifti(path: Path) -> Case:
    read = _reader("medinterp_widgets.data.mouse_brain", "read_nifti")
    to_volume = _reader("medinterp_widgets.data.mouse_brain", "volume_from_nifti")
    volume = to_volume(*read(path), source=str(path))
    labels_path = path.parent.parent / "label" / path.name  # mouse-brain layout: template/ beside label/
    masks = None
    if path.parent.name != "label" and labels_path.is_file():
        masks = np.rint(read(labels_path)[0]).astype(np.int32)
    return Case(f"NIfTI {path.name}", volume, masks)


def _open_hdf5(path: Path) -> Case:
    image, label = _reader("medinterp_widgets.data.acdc", "read_acdc_h5")(path)
    volume = Volume(image, spacing=(1.0,) * image.ndim, metadata={"source": str(path), "spacing": "unknown"})
    return Case(f"HDF5 {path.name} (spacing unknown: 1 mm)", volume, label)


_OPENERS = {"dicom": _open_dicom, "nifti": _open_nifti, "hdf5": _open_hdf5}


def open_in_root(root: str | os.PathLike, requested: str | os.PathLike) -> Case:
    """Open the entry ``requested`` (relative to ``root``) as a Case; confinement is checked first."""
    path = resolve_in_root(root, requested)
    if not path.exists():
        raise FileNotFoundError(f"{requested}: not found under the data root {Path(root).resolve()}")
    kind = entry_kind(path)
    if kind is None:
        raise ValueError(f"{requested}: expected a DICOM series folder, a NIfTI file or an HDF5 file")
    return _OPENERS[kind](path)
