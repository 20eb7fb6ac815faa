"""Sunnybrook Cardiac Data: pair expert LV contours with their cine-MRI DICOM slices.

Folder layout (any number of studies)::

    root/link.csv                                   columns patient_id,original_id
    root/dicoms/<patient_id>/<N>.dcm                 (or IM-0001-NNNN.dcm)
    root/contourfiles/<original_id>/i-contours/IM-0001-NNNN-icontour-manual.txt   (inner = LV cavity)
    root/contourfiles/<original_id>/o-contours/IM-0001-NNNN-ocontour-manual.txt   (outer = epicardium)

NNNN is the DICOM file number N. Slices are the ones with an inner contour; their outer contour is
added when present (outer-only slices carry no LV mask and are left out).

Contour points count pixels from 1 (MATLAB style, ``SUNNYBROOK_CONTOUR_ORIGIN``): point (x, y) is the centre
of pixel (row y - 1, column x - 1). Measured, model-free: the image's gradient magnitude along every inner
contour peaks when the raw points are moved by -0.75 to -1.5 px in y and -1 to -1.9 px in x (each shared
study, summed over its slices), where ACDC masks traced the same way peak within 0.25 px of no shift.
``contour_origin=0`` reads the points as 0-based pixel centres (the raw numbers).
"""

from __future__ import annotations

import csv
import os
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import numpy as np
import torch
from torch.utils.data import Dataset

from medinterp_widgets.data.contours import contour_to_mask, read_contour_file
from medinterp_widgets.data.dicom import read_dicom
from medinterp_widgets.data.errors import DataFormatError, skip_or_raise
from medinterp_widgets.data.intensity import minmax_normalize
from medinterp_widgets.data.paths import resolve_inside
from medinterp_widgets.data.splits import patient_split

_CONTOUR_NAME = re.compile(r"^IM-\d+-(\d+)-([io])contour-manual\.txt$")
_DICOM_NUMBER = re.compile(r"^(?:IM-\d+-)?(\d+)\.dcm$", re.IGNORECASE)
_LINK_COLUMNS = ("patient_id", "original_id")
SUNNYBROOK_CLASSES = {0: "background", 1: "LV cavity", 2: "myocardium"}  # inner contour; outer minus inner
SUNNYBROOK_CONTOUR_ORIGIN = 1.0  # index of the first pixel in the contour files (see the module docstring)


def contour_file_mask(path: str | os.PathLike, shape: tuple[int, int],
                      origin: float = SUNNYBROOK_CONTOUR_ORIGIN) -> np.ndarray:
    """Bool mask of one contour file on a ``shape`` image: points minus ``origin``, then `contour_to_mask`."""
    return contour_to_mask(read_contour_file(path) - float(origin), shape)


@dataclass(frozen=True)
class SunnybrookSlice:
    """One contoured short-axis slice: image (H, W) float32, LV cavity mask, optional epicardial mask."""

    image: np.ndarray
    lv_mask: np.ndarray
    outer_mask: np.ndarray | None
    spacing: tuple[float, float]
    study_id: str
    contour_id: str
    file_number: int
    dicom_path: str
    phase: int | None = None
    slice_index: int | None = None
    trigger_time: float | None = None
    slice_location: float | None = None

    @property
    def lv_area_mm2(self) -> float:
        """LV cavity area = pixel count * dy * dx (mm^2)."""
        return float(self.lv_mask.sum()) * self.spacing[0] * self.spacing[1]


class SunnybrookSlices(list):
    """The loaded slices (a plain list) plus ``skipped``: (path, reason) for pairs left out."""

    def __init__(self, slices: Iterable[SunnybrookSlice] = (), skipped: Iterable[tuple[str, str]] = ()):
        super().__init__(slices)
        self.skipped: list[tuple[str, str]] = list(skipped)


def read_link_table(root: str | os.PathLike) -> list[tuple[str, str]]:
    """(patient_id, original_id) rows of ``root/link.csv``."""
    path = Path(root) / "link.csv"
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise DataFormatError(path, f"cannot read the study link table: {type(error).__name__}: {error}") from error
    if not rows or any(column not in rows[0] for column in _LINK_COLUMNS):
        raise DataFormatError(path, f"expected a CSV with columns {','.join(_LINK_COLUMNS)} and at least one row")
    links = [((row["patient_id"] or "").strip(), (row["original_id"] or "").strip()) for row in rows]
    for number, (patient, original) in enumerate(links, start=2):
        if not patient or not original:
            raise DataFormatError(path, f"line {number}: empty patient_id or original_id")
    return links


def _contour_files(folder: Path, kind: str) -> dict[int, Path]:
    """{file number N: path} of the ``kind`` ('i' or 'o') contour files in ``folder``."""
    found = {}
    for path in sorted(folder.glob(f"*-{kind}contour-manual.txt")) if folder.is_dir() else []:
        match = _CONTOUR_NAME.match(path.name)
        if match and match.group(2) == kind:
            found[int(match.group(1))] = path
    return found


def contour_labels(root: str | os.PathLike, study_id: str, files, shape: tuple[int, ...],
                   confine: str | os.PathLike | None = None,
                   contour_origin: float = SUNNYBROOK_CONTOUR_ORIGIN) -> np.ndarray | None:
    """Expert contours of ``study_id`` as labels shaped ``shape`` (``SUNNYBROOK_CLASSES``: 1 LV cavity,
    2 myocardium = outer minus inner contour), or None when ``root/link.csv`` does not list the study.

    ``files``: the DICOM path of every frame, nested [phase][slice] as ``read_dicom_series`` stores
    them in ``metadata["files"]``; a frame's contour is the one whose number NNNN is its file number.
    ``confine``: contour files must resolve inside this folder (`OutsideDataRootError` otherwise).
    """
    root = Path(root)
    contour_id = dict(read_link_table(root)).get(study_id)
    if contour_id is None:
        return None
    folder = root / "contourfiles" / contour_id
    if confine is not None:
        folder = resolve_inside(confine, folder, "contour folder")
    inner, outer = _contour_files(folder / "i-contours", "i"), _contour_files(folder / "o-contours", "o")
    grid = np.asarray(files, dtype=object)  # (phases, slices) of paths
    plane = (int(shape[-2]), int(shape[-1]))
    labels = np.zeros(grid.shape + plane, np.uint8)
    for (t, z), path in np.ndenumerate(grid):
        match = _DICOM_NUMBER.match(Path(str(path)).name)
        number = int(match.group(1)) if match else None
        if number not in inner:
            continue
        cavity = contour_file_mask(_confined(inner[number], confine), plane, contour_origin)
        if number in outer:
            wall = contour_file_mask(_confined(outer[number], confine), plane, contour_origin)
            labels[t, z][wall & ~cavity] = 2
        labels[t, z][cavity] = 1
    return labels.reshape(shape)


def _confined(path: Path, confine: str | os.PathLike | None) -> Path:
    return path if confine is None else resolve_inside(confine, path, "contour file")


def _dicom_path(study_folder: Path, number: int) -> Path:
    for name in (f"{number}.dcm", f"IM-0001-{number:04d}.dcm"):
        if (study_folder / name).is_file():
            return study_folder / name
    missing = study_folder / f"{number}.dcm"
    raise DataFormatError(missing, f"no DICOM for contour file number {number} in {study_folder}")


def _cine_index(metadata: dict) -> tuple[int | None, int | None]:
    """(phase, slice) from InstanceNumber = slice * CardiacNumberOfImages + phase + 1, when both exist."""
    instance, phases = metadata.get("InstanceNumber"), metadata.get("CardiacNumberOfImages")
    if not isinstance(instance, int) or not isinstance(phases, int) or phases < 1 or instance < 1:
        return None, None
    return (instance - 1) % phases, (instance - 1) // phases


def _load_slice(
    root: Path, study_id: str, contour_id: str, number: int, inner: Path, outer: Path | None,
    contour_origin: float = SUNNYBROOK_CONTOUR_ORIGIN,
) -> SunnybrookSlice:
    dicom = _dicom_path(root / "dicoms" / study_id, number)
    volume = read_dicom(dicom)
    if volume.axes != ("y", "x"):
        raise DataFormatError(dicom, f"expected a single 2-D slice, got axes {volume.axes}")
    image = np.asarray(volume.array, dtype=np.float32)
    outer_mask = None if outer is None else contour_file_mask(outer, image.shape, contour_origin)
    phase, slice_index = _cine_index(volume.metadata)
    return SunnybrookSlice(
        image=image,
        lv_mask=contour_file_mask(inner, image.shape, contour_origin),
        outer_mask=outer_mask,
        spacing=(volume.spacing[0], volume.spacing[1]),
        study_id=study_id,
        contour_id=contour_id,
        file_number=number,
        dicom_path=str(dicom),
        phase=phase,
        slice_index=slice_index,
        trigger_time=volume.metadata.get("TriggerTime"),
        slice_location=volume.metadata.get("SliceLocation"),
    )


def load_sunnybrook(
    root: str | os.PathLike, *, skip_bad: bool = False, studies: list[str] | None = None,
    contour_origin: float = SUNNYBROOK_CONTOUR_ORIGIN,
) -> SunnybrookSlices:
    """Every inner-contoured slice of every study in ``root/link.csv`` (or of ``studies``).

    A missing contour folder, DICOM or malformed file raises its named error (`DataFormatError`,
    `DicomReadError`); with ``skip_bad=True`` the pair is left out, listed in ``.skipped`` and warned.
    """
    root = Path(root)
    slices, skipped = [], []
    for study_id, contour_id in read_link_table(root):
        if studies is not None and study_id not in studies:
            continue
        contour_folder = root / "contourfiles" / contour_id
        inner_files = _contour_files(contour_folder / "i-contours", "i")
        outer_files = _contour_files(contour_folder / "o-contours", "o")
        if not inner_files:
            folder = contour_folder / "i-contours"
            problem = DataFormatError(folder, f"no IM-*-NNNN-icontour-manual.txt for study {study_id}")
            if not skip_bad:
                raise problem
            skipped.append((problem.path, problem.problem))
        for number, inner in sorted(inner_files.items()):
            with skip_or_raise(skip_bad, skipped):
                slices.append(_load_slice(root, study_id, contour_id, number, inner, outer_files.get(number),
                                          contour_origin))
    if skipped:
        first_path, first_reason = skipped[0]
        message = f"{root}: skipped {len(skipped)} Sunnybrook pairs, e.g. {first_path}: {first_reason}"
        warnings.warn(message, stacklevel=2)
    return SunnybrookSlices(slices, skipped)


class SunnybrookDataset(Dataset):
    """Torch view of Sunnybrook slices: item = (image (1, H, W) float32, LV mask (H, W) int64).

    ``split`` is 'train', 'val' or 'all'; the split is by study (`patient_split`), so no study has
    slices on both sides.
    """

    def __init__(
        self, slices, *, split: str = "all", val_fraction: float = 0.2, seed: int = 0, normalize=minmax_normalize
    ):
        if split not in ("train", "val", "all"):
            raise ValueError(f"split must be 'train', 'val' or 'all', got {split!r}")
        train_ids, val_ids = patient_split([s.study_id for s in slices], val_fraction=val_fraction, seed=seed)
        keep = {"train": set(train_ids), "val": set(val_ids), "all": set(train_ids) | set(val_ids)}[split]
        self.slices = [s for s in slices if s.study_id in keep]
        self.study_ids = sorted(keep)
        self.normalize = normalize

    @classmethod
    def from_root(cls, root: str | os.PathLike, **kwargs) -> SunnybrookDataset:
        return cls(load_sunnybrook(root), **kwargs)

    def __len__(self) -> int:
        return len(self.slices)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        item = self.slices[index]
        image = torch.from_numpy(self.normalize(item.image))[None]  # (H, W) -> (1, H, W)
        return image, torch.from_numpy(item.lv_mask.astype(np.int64))
