"""LV cases at native resolution: one 2-D image, its data-set labels and its pixel spacing.

Training, the pipeline's validation and ``medinterp evaluate`` all start from these, so everything the
model sees comes from one ``Preprocessing`` applied to the same arrays.

- Sunnybrook (any studies named in ``link.csv``): one case per inner-contoured slice; label 1 = LV
  cavity; spacing from PixelSpacing; each slice is its own scoring unit (2-D Dice, as the paper).
- ACDC (``data.list_acdc``: any split list, or every file): one case per slice of a volume or per
  2-D slice file; labels 0-3 (3 = LV cavity); the scoring unit is the volume (patientXXX_frameYY), whose
  slices are stacked for a 3-D Dice as in the ACDC challenge. The preprocessed HDF5 files carry no
  spacing (a ``spacing`` attribute (dy, dx) or (dz, dy, dx) is used when present).
- synthetic ``synthetic_cine_lv`` phantoms (tests and demos without data): label 1 = LV.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import h5py
import numpy as np

from medinterp_widgets import data

KINDS = ("sunnybrook", "acdc", "synthetic")
LABEL_MAPS = {"sunnybrook": {1: 1}, "acdc": {3: 1}, "synthetic": {1: 1}}  # data-set label -> model class 1 (LV)
SYNTHETIC_SIZE = 128  # phantom field of view 128 x 1.4 mm


@dataclass(frozen=True)
class LvCase:
    """One native 2-D slice: image (H, W) float32, labels (H, W) uint8 in the data set's own codes."""

    image: np.ndarray
    label: np.ndarray
    spacing: tuple[float, float] | None  # (dy, dx) mm; None when the files do not say
    kind: str  # "sunnybrook" | "acdc" | "synthetic" (selects the label map)
    case_id: str  # e.g. "SCD0000101/48", "patient002_frame01/3"
    unit: str  # scoring unit: the slice (Sunnybrook) or the volume (ACDC)
    group: str  # the split unit: study / patient / phantom


def sunnybrook_cases(root: str | Path, studies: Sequence[str] | None = None, skipped: list | None = None
                     ) -> list[LvCase]:
    """Every inner-contoured slice of ``root`` (a Sunnybrook folder with ``link.csv``), or of ``studies``.

    With a ``skipped`` list, unreadable contour / DICOM pairs are left out (with a warning) and listed
    there as (path, reason); without it they raise their named error.
    """
    cases = []
    slices = data.load_sunnybrook(root, studies=list(studies) if studies is not None else None,
                                  skip_bad=skipped is not None)
    if skipped is not None:
        skipped.extend(slices.skipped)
    for s in slices:
        case_id = f"{s.study_id}/{s.file_number}"
        cases.append(LvCase(s.image, s.lv_mask.astype(np.uint8), tuple(map(float, s.spacing)), "sunnybrook",
                            case_id, case_id, s.study_id))
    return cases


def acdc_cases(root: str | Path, split: str | None = None, patients: Sequence[str] | None = None) -> list[LvCase]:
    """Every slice of ``data.list_acdc(root, split)`` (optionally only ``patients``), volumes sliced along z."""
    cases = []
    for case in data.list_acdc(root, split):
        if patients is not None and case.patient_id not in patients:
            continue
        image, label = case.read()
        spacing = _acdc_spacing(case.path)
        unit = f"{case.patient_id}_frame{case.frame:02d}"
        if case.is_volume:
            slices = [(index, image[index], label[index]) for index in range(image.shape[0])]
        else:
            slices = [(case.slice_index, image, label)]
        cases += [LvCase(img, lab, spacing, "acdc", f"{unit}/{index}", unit, case.patient_id)
                  for index, img, lab in slices]
    return cases


def _acdc_spacing(path: Path) -> tuple[float, float] | None:
    """In-plane (dy, dx) from an HDF5 ``spacing`` attribute when the file has one (the shared copy has none)."""
    with h5py.File(path, "r") as handle:
        value = handle.attrs.get("spacing")
    if value is None:
        return None
    values = np.asarray(value, dtype=float).ravel()
    if values.size not in (2, 3) or not np.all(values > 0):
        raise data.DataFormatError(path, f"attribute 'spacing' = {value!r}; expected (dy, dx) or (dz, dy, dx) in mm")
    return float(values[-2]), float(values[-1])


def synthetic_cases(n_cases: int, n_phases: int, n_slices: int, seed: int) -> list[LvCase]:
    """LV-containing slices of ``n_cases`` synthetic cine phantoms (case = phantom)."""
    cases = []
    for case in range(n_cases):
        volume, masks = data.synthetic_cine_lv(seed + case, n_phases=n_phases, n_slices=n_slices, size=SYNTHETIC_SIZE)
        spacing = tuple(float(s) for s in volume.spacing[-2:])
        for t in range(masks.shape[0]):
            for z in range(masks.shape[1]):
                if (masks[t, z] == 1).any():
                    case_id = f"phantom{case}/{t}-{z}"
                    cases.append(LvCase(np.asarray(volume.array[t, z], np.float32), (masks[t, z] == 1).astype(np.uint8),
                                        spacing, "synthetic", case_id, case_id, f"phantom{case}"))
    return cases


def load_cases(kind: str, root: str | Path, split: str | None = None, skipped: list | None = None) -> list[LvCase]:
    """The cases of a folder in data set ``kind``'s layout (``medinterp evaluate``); ``skipped``: see
    ``sunnybrook_cases`` (ACDC files are always checked strictly)."""
    if kind == "sunnybrook":
        if split not in (None, "all"):
            raise ValueError(f"--split {split!r}: Sunnybrook folders have no split lists; every study of link.csv "
                             "is scored (make a folder whose link.csv names the studies you want)")
        return sunnybrook_cases(root, skipped=skipped)
    if kind == "acdc":
        return acdc_cases(root, split)
    raise ValueError(f"LV cases: expected a data set kind in ('sunnybrook', 'acdc'), got {kind!r}")
