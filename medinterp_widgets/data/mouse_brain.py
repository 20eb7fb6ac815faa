"""In-vivo mouse brain MRI (FVB/NCrl, dama-lab mouse-brain-atlas): template, 40-structure labels, mask.

    <root>/{template,label,mask}/FVB_NCrl_in_vivo_<i>.nii.gz   (112 x 128 x 80, 0.15 mm)
    <root>/structure_labels.csv                                 label,structure_name

Arrays keep nibabel's voxel order (i, j, k), which ``Volume`` calls (z, y, x); ``spacing`` is the
header's zooms in that order, and origin/direction come from the affine converted from NIfTI RAS to
the Volume's LPS convention, so ``Volume.index_to_mm`` reproduces the affine (with x, y negated).
Files are read by ``data.nifti.read_nifti`` (header checks first; label and mask files must hold
whole numbers 0..255).

Tissue map (class ids): 0 background, 1 white matter, 2 grey matter, 3 CSF, two ways:

- ``tissue="mixture"`` (default): SPM-style unified segmentation, ``data.tissue_mixture``: a Gaussian
  mixture of the intensities inside the brain mask with the atlas structures below as spatial priors;
  every mask voxel gets a tissue.
- ``tissue="labels"``: straight from the structure labels: WM = labels 2, 4, 6, 20 (external capsule,
  anterior commissure, internal capsule, fimbria) and the same + 20 on the other side; CSF = 10 and 30
  (ventricles); GM = every other label > 0. Mask voxels without a structure label (13-14 %) stay
  background; WM is then 3 % of the brain and CSF 0.8 %.
"""

from __future__ import annotations

import csv
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from medinterp_widgets.data.errors import DataFormatError
from medinterp_widgets.data.nifti import read_nifti, volume_from_nifti
from medinterp_widgets.data.tissue_mixture import MixtureSettings, fit_tissue_mixture
from medinterp_widgets.data.volume import Volume

TISSUE_CLASSES = {0: "background", 1: "white matter", 2: "grey matter", 3: "CSF"}
WHITE_MATTER_LABELS = (2, 4, 6, 20, 22, 24, 26, 40)
CSF_LABELS = (10, 30)
GREY_MATTER_LABELS = tuple(label for label in range(1, 41) if label not in WHITE_MATTER_LABELS + CSF_LABELS)
TISSUE_METHODS = ("mixture", "labels")
_SUBJECT = re.compile(r"^FVB_NCrl_in_vivo_(\d+)\.nii(\.gz)?$")


@dataclass(frozen=True)
class MouseBrain:
    """One animal: T2 template image, structure labels, brain mask and the derived tissue map."""

    subject_id: str  # "FVB_NCrl_in_vivo_1"
    image: Volume  # float32
    labels: Volume  # uint8 structure ids 0..40
    mask: Volume  # bool brain mask
    tissue: Volume  # uint8 0 bg, 1 WM, 2 GM, 3 CSF


def tissue_map(labels: np.ndarray) -> np.ndarray:
    """Structure labels -> uint8 tissue classes (0 bg, 1 WM, 2 GM, 3 CSF; see module docstring)."""
    tissue = np.where(labels > 0, 2, 0).astype(np.uint8)
    tissue[np.isin(labels, WHITE_MATTER_LABELS)] = 1
    tissue[np.isin(labels, CSF_LABELS)] = 3
    return tissue


def mixture_tissue_map(image: np.ndarray, mask: np.ndarray, labels: np.ndarray,
                       settings: MixtureSettings | None = None) -> np.ndarray:
    """uint8 tissue classes of the atlas-prior Gaussian mixture (0 outside ``mask``; see module docstring)."""
    groups = {"wm": WHITE_MATTER_LABELS, "gm": GREY_MATTER_LABELS, "csf": CSF_LABELS}
    return fit_tissue_mixture(image, mask, labels, groups, settings).tissue


def make_tissue(image: np.ndarray, mask: np.ndarray, labels: np.ndarray, method: str = "mixture") -> np.ndarray:
    """The tissue map of one animal by ``method`` ("mixture" or "labels")."""
    if method == "mixture":
        return mixture_tissue_map(image, mask, labels)
    if method == "labels":
        return tissue_map(labels)
    raise ValueError(f"tissue method: expected one of {TISSUE_METHODS}, got {method!r}")


def _checked_mask(array: np.ndarray, path: Path) -> np.ndarray:
    values = set(np.unique(array).tolist())
    if not values <= {0, 1}:
        raise DataFormatError(path, f"mask values {sorted(values)[:5]}, expected 0/1")
    return array.astype(bool)


def read_structure_names(path: str | os.PathLike) -> dict[int, str]:
    """structure_labels.csv (columns label, structure_name) -> {label id: name}."""
    path = Path(path)
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None or not {"label", "structure_name"} <= set(reader.fieldnames):
            raise DataFormatError(path, f"columns {reader.fieldnames}, expected 'label,structure_name'")
        try:
            return {int(row["label"]): row["structure_name"].strip() for row in reader}
        except (TypeError, ValueError) as error:
            raise DataFormatError(path, f"column 'label': {error}") from error


def load_subject(root: str | os.PathLike, subject_id: str, names: dict[int, str] | None = None,
                 tissue: str = "mixture") -> MouseBrain:
    """Load template, labels and mask of one animal (shapes and spacing must agree across the three) and
    derive its tissue map by ``tissue`` ("mixture" or "labels", see the module docstring)."""
    root = Path(root)
    parts = {kind: read_nifti(root / kind / f"{subject_id}.nii.gz", labels=kind != "template")
             for kind in ("template", "label", "mask")}
    shape, zooms = parts["template"][0].shape, parts["template"][1]
    for kind in ("label", "mask"):
        array, other_zooms, _ = parts[kind]
        if array.shape != shape or not np.allclose(other_zooms, zooms, atol=1e-4):
            raise DataFormatError(root / kind / f"{subject_id}.nii.gz",
                                  f"shape {array.shape} / spacing {other_zooms} differ from template {shape} / {zooms}")
    image_array, _, affine = parts["template"]
    labels = parts["label"][0]
    mask = _checked_mask(parts["mask"][0], root / "mask" / f"{subject_id}.nii.gz")

    def wrap(array: np.ndarray, **metadata) -> Volume:
        return volume_from_nifti(array, zooms, affine, subject_id=subject_id, **metadata)

    return MouseBrain(
        subject_id=subject_id,
        image=wrap(np.asarray(image_array, dtype=np.float32), modality="MR"),
        labels=wrap(labels, label_names=dict(names or {})),
        mask=wrap(mask),
        tissue=wrap(make_tissue(image_array, mask, labels, tissue), label_names=dict(TISSUE_CLASSES),
                    tissue_method=tissue),
    )


def mouse_subject_ids(root: str | os.PathLike) -> list[str]:
    """Subject ids present in ``root/template`` (sorted by animal number)."""
    folder = Path(root) / "template"
    if not folder.is_dir():
        raise FileNotFoundError(f"mouse brain template folder not found: {folder}")
    numbered = []
    for path in folder.iterdir():
        match = _SUBJECT.match(path.name)
        if match:
            numbered.append((int(match.group(1)), path.name.split(".nii")[0]))
    return [subject_id for _, subject_id in sorted(numbered)]


def load_mouse_brain(root: str | os.PathLike, tissue: str = "mixture") -> list[MouseBrain]:
    """Every animal under ``root`` as a MouseBrain (template, labels, mask, tissue map; 0.15 mm);
    ``tissue``: "mixture" (atlas-prior Gaussian mixture, default) or "labels" (structure labels only)."""
    if tissue not in TISSUE_METHODS:
        raise ValueError(f"tissue method: expected one of {TISSUE_METHODS}, got {tissue!r}")
    root = Path(root)
    names_path = root / "structure_labels.csv"
    names = read_structure_names(names_path) if names_path.is_file() else {}
    return [load_subject(root, subject_id, names, tissue) for subject_id in mouse_subject_ids(root)]
