"""Cases the workbench can open: embedded synthetic phantoms and files under a data root.

Paths typed by a user are confined to the data root: ``..``, absolute paths elsewhere and symlinks
that resolve outside it are refused with `OutsideDataRootError`; so is every file read for an entry
(series members, a NIfTI's label sibling), and the picker lists only entries that pass these checks.
Readers are imported only when a case needs them; a missing one gives `ReaderUnavailableError`
("reader not available") instead of breaking the app. A case opens with the annotations its data set
keeps beside it (a NIfTI's label/ or mask/ sibling, Sunnybrook's expert contours, ACDC labels) and the
class names of those labels; ``case_index`` lists one entry per volume, series or study.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from medinterp_widgets.apps.case_index import (
    ACDC_SLICE,
    ANNOTATION_FOLDERS,
    NIFTI_SUFFIXES,
    SLICE_GROUP,
    index_data_root,
)
from medinterp_widgets.data.checks import same_shape
from medinterp_widgets.data.errors import DataError, DataFormatError, OutsideDataRootError
from medinterp_widgets.data.paths import is_inside, resolve_inside
from medinterp_widgets.data.volume import Volume


class ReaderUnavailableError(RuntimeError):
    """The reader for a file kind is not part of this installation."""


@dataclass(frozen=True)
class Case:
    """A volume to browse, with optional integer label masks (class names in ``label_names``), float
    heatmaps and the array axis of the view to open on."""

    name: str
    volume: Volume
    masks: np.ndarray | None = None
    heatmaps: np.ndarray | None = None
    label_names: dict[int, str] | None = None
    axis: str = "z"


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
    """'dicom' (a folder holding .dcm files), 'nifti', 'hdf5', 'slices' (an ACDC slice group,
    ``patientXXX_frameYY_slice_*.h5``), or None when the workbench cannot open it."""
    if path.name.endswith(SLICE_GROUP) and ACDC_SLICE.match(path.name.replace("*", "0")):
        return "slices"
    if path.is_dir():
        return "dicom" if any(p.suffix.lower() == ".dcm" for p in path.iterdir()) else None
    name = path.name.lower()
    if name.endswith(NIFTI_SUFFIXES):
        return "nifti"
    return "hdf5" if name.endswith(".h5") else None


def _annotation_sibling(root: Path, path: Path) -> Path | None:
    """The annotation file of a NIfTI image (``<parent>/../label/<name>``, else ``../mask/<name>``), resolved,
    when that folder is inside ``root`` and the file exists; `OutsideDataRootError` when it resolves outside."""
    study = path.parent.parent
    if path.parent.name in ANNOTATION_FOLDERS or not is_inside(root, study):
        return None
    for folder in ANNOTATION_FOLDERS:
        candidate = study / folder / path.name
        if candidate.is_file():
            return resolve_inside(root, candidate, f"{folder} file")
    return None


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
            _annotation_sibling(base, path.resolve())
        except OutsideDataRootError:
            return False
    return True


def scan_data_root(root: str | os.PathLike) -> list[str]:
    """The paths of the entries under ``root`` that will open, one per volume / series / study
    (``case_index.index_data_root``), sorted; symlinked folders are not followed."""
    return [entry.path for entry in index_data_root(root, openable)]


# -- loading a real entry -----------------------------------------------------------------------------
def _open_dicom(root: Path, path: Path) -> Case:
    volume = _reader("medinterp_widgets.data.dicom", "read_dicom_series")(path, skip_bad=True, root=root)
    masks, names = _sunnybrook_contours(root, path, volume)
    title = f"DICOM series {path.name}" + (" with its expert contours" if masks is not None else "")
    return Case(title, volume, masks, label_names=names)


def _sunnybrook_contours(root: Path, path: Path, volume: Volume):
    """(labels, names) from Sunnybrook's contours when the series sits in ``<study root>/dicoms/<id>`` and
    ``link.csv`` + ``contourfiles/`` are beside ``dicoms/`` inside the root; (None, None) otherwise."""
    study_root = path.parent.parent
    if path.parent.name != "dicoms" or not (study_root / "link.csv").is_file() or not is_inside(root, study_root):
        return None, None
    sunnybrook = importlib.import_module("medinterp_widgets.data.sunnybrook")
    labels = sunnybrook.contour_labels(resolve_inside(root, study_root, "link.csv folder"), path.name,
                                       volume.metadata["files"], volume.array.shape, confine=root)
    return (labels, dict(sunnybrook.SUNNYBROOK_CLASSES)) if labels is not None else (None, None)


def _open_nifti(root: Path, path: Path) -> Case:
    read = _reader("medinterp_widgets.data.nifti", "read_nifti")
    to_volume = _reader("medinterp_widgets.data.nifti", "volume_from_nifti")
    count = _reader("medinterp_widgets.data.nifti", "count_volumes")(path)
    note = f" (volume 1 of {count}: a 4-D series shows its first volume)" if count > 1 else ""
    volume = to_volume(*read(path, volume=0), source=str(path), **({"note": note.strip(" ()")} if note else {}))
    axial = next(axis for axis, view in _views(volume).items() if view.name in ("axial", "z"))
    annotation = _annotation_sibling(root, path)
    if annotation is None:
        return Case(f"NIfTI {path.name}{note}", volume, axis=axial)
    masks = same_shape(read(annotation, labels=True)[0], volume.array.shape, annotation, "label map")
    names = _structure_names(root, path.parent.parent) if annotation.parent.name.startswith("label") else {1: "mask"}
    return Case(f"NIfTI {path.name} with {annotation.parent.name}/{annotation.name}", volume, masks,
                label_names=names, axis=axial)


def _structure_names(root: Path, study: Path) -> dict[int, str] | None:
    """Label names from ``structure_labels.csv`` beside the image folders (the mouse-brain layout)."""
    table = study / "structure_labels.csv"
    if not table.is_file():
        return None
    return _reader("medinterp_widgets.data.mouse_brain", "read_structure_names")(resolve_inside(root, table))


def _views(volume: Volume):
    return _reader("medinterp_widgets.data.orientation", "views")(volume)


def _acdc_names(name: str) -> dict[int, str] | None:
    return dict(_reader("medinterp_widgets.data.acdc", "ACDC_CLASSES")) if name.startswith("patient") else None


def _open_hdf5(root: Path, path: Path) -> Case:
    image, label = _reader("medinterp_widgets.data.acdc", "read_acdc_h5")(path)
    volume = Volume(image, spacing=(1.0,) * image.ndim, metadata={"source": str(path), "spacing": "unknown"})
    return Case(f"HDF5 {path.name} (no geometry; 1 mm assumed)", volume, label, label_names=_acdc_names(path.name))


def _open_slices(root: Path, path: Path) -> Case:
    """An ACDC slice group ``<folder>/patientXXX_frameYY_slice_*.h5``: its 2-D slices stacked in slice order."""
    read = _reader("medinterp_widgets.data.acdc", "read_acdc_h5")
    stem = path.name[: -len(SLICE_GROUP)]
    members = sorted((int(ACDC_SLICE.match(p.name).group(2)), p) for p in path.parent.glob(f"{stem}_slice_*.h5")
                     if ACDC_SLICE.match(p.name))
    if not members:
        raise FileNotFoundError(f"{path.name}: no slice files in {path.parent}")
    pairs = [read(resolve_inside(root, member, "slice file"), ndim=2) for _, member in members]
    for (_, member), (image, _) in zip(members, pairs):
        same_shape(image, pairs[0][0].shape, member, "slice")
    images, labels = np.stack([i for i, _ in pairs]), np.stack([lab for _, lab in pairs])  # (slices, H, W)
    volume = Volume(images, spacing=(1.0, 1.0, 1.0), metadata={"source": str(path), "spacing": "unknown"})
    return Case(f"ACDC {stem}: {len(members)} slices stacked (no geometry; 1 mm assumed)", volume, labels,
                label_names=_acdc_names(stem))


_OPENERS = {"dicom": _open_dicom, "nifti": _open_nifti, "hdf5": _open_hdf5, "slices": _open_slices}


def open_in_root(root: str | os.PathLike, requested: str | os.PathLike) -> Case:
    """Open the entry ``requested`` (relative to ``root``) as a Case. The entry, and every file read for it
    (series members, annotation files), must resolve inside ``root``; a problem with the file's content
    is a `DataError` naming it."""
    base = Path(root).resolve()
    path = resolve_in_root(base, requested)
    kind = entry_kind(path) if path.exists() or path.name.endswith(SLICE_GROUP) else "missing"
    if kind == "missing":
        raise FileNotFoundError(f"{requested}: not found under the data root {base}")
    if kind is None:
        raise ValueError(f"{requested}: expected a DICOM series folder, a NIfTI file or an HDF5 file")
    try:
        return _OPENERS[kind](base, path)
    except (DataError, ReaderUnavailableError):
        raise
    except ValueError as error:  # e.g. Volume refusing the array's shape or geometry
        raise DataFormatError(path, str(error)) from error


def plain_error(error: BaseException, requested: str, root: str | os.PathLike | None = None) -> str:
    """``error`` in plain words, naming ``requested`` once: no exception class names, the root's prefix
    dropped from paths ('could not open ../../etc: it lies outside the data root ...')."""
    text = str(error) or type(error).__name__
    for prefix in (f"{requested}: ", f"{root}/{requested}: " if root else None):
        if prefix and text.startswith(prefix):
            text = text[len(prefix):]
    if root:
        text = text.replace(f"{Path(root).resolve()}/", "")
    text = text.replace("path outside the data root", "it lies outside the data root")
    return f"could not open {requested}: {text}"
