"""What the workbench offers under a data root: one entry per volume, series or study, not per file.

- a folder holding .dcm files is one DICOM series;
- ACDC slice files ``patientXXX_frameYY_slice_N.h5`` of one patient and frame are one volume (entry
  ``<folder>/patientXXX_frameYY_slice_*.h5``); any other .h5 file is one volume;
- a NIfTI file is one volume, except the annotations of another: a file in ``label/``, ``labels/``,
  ``mask/`` or ``masks/`` whose sibling image folder holds the same name is opened with that image.

Every entry must pass confinement (``cases.openable``): symlinks leading out of the root are not listed.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from medinterp_widgets.data.paths import is_inside

MAX_ENTRIES = 5000
ANNOTATION_FOLDERS = ("label", "labels", "mask", "masks")
NIFTI_SUFFIXES = (".nii", ".nii.gz")
ACDC_SLICE = re.compile(r"^(patient\d{3}_frame\d{2})_slice_(\d+)\.h5$")
SLICE_GROUP = "_slice_*.h5"


@dataclass(frozen=True)
class Entry:
    """One case under the root: ``path`` for ``open_in_root``, ``label`` for the picker, ``group`` its data set."""

    path: str
    label: str
    group: str


def is_annotation(path: Path) -> bool:
    """A NIfTI in an annotation folder (label/, mask/, ...) with the same name in a sibling image folder."""
    if path.parent.name not in ANNOTATION_FOLDERS:
        return False
    study = path.parent.parent
    return any(sibling.is_dir() and sibling.name not in ANNOTATION_FOLDERS and (sibling / path.name).is_file()
               for sibling in study.iterdir())


def _describe(relative: Path, kind: str, detail: str = "") -> Entry:
    group = relative.parts[0] if len(relative.parts) > 1 else "."
    label = f"{relative.as_posix()}  ({kind}{', ' + detail if detail else ''})"
    return Entry(relative.as_posix(), label, group)


def _folder_entries(base: Path, here: Path, files: list[str], openable) -> list[Entry]:
    """The entries of one folder: its DICOM series, ACDC slice groups and single-file volumes."""
    found: list[Entry] = []
    relative = here.relative_to(base)
    dicoms = [f for f in files if f.lower().endswith(".dcm")]
    if dicoms and here != base and openable(base, here):
        found.append(_describe(relative, "DICOM series", f"{len(dicoms)} files"))
    groups: Counter = Counter()
    for name in files:
        path = here / name
        match = ACDC_SLICE.match(name)
        if match:
            if is_inside(base, path):
                groups[match.group(1)] += 1
        elif name.lower().endswith(NIFTI_SUFFIXES) and not is_annotation(path) and openable(base, path):
            found.append(_describe(path.relative_to(base), "NIfTI volume"))
        elif name.lower().endswith(".h5") and openable(base, path):
            found.append(_describe(path.relative_to(base), "HDF5 volume"))
    for stem, count in sorted(groups.items()):
        found.append(_describe(relative / f"{stem}{SLICE_GROUP}", "slices stacked", f"{count} files"))
    return found


def index_data_root(root: str | os.PathLike, openable, limit: int = MAX_ENTRIES) -> list[Entry]:
    """The entries under ``root`` sorted by path (at most ``limit``); symlinked folders are not followed.

    ``openable(root, path)``: the confinement check of a file or series folder.
    """
    base = Path(root).resolve()
    found: list[Entry] = []
    for folder, subfolders, files in os.walk(base):
        subfolders.sort()
        found += _folder_entries(base, Path(folder), sorted(files), openable)
        if len(found) >= limit:
            break
    return sorted(found, key=lambda entry: entry.path)[:limit]


def summary(entries: list[Entry]) -> str:
    """'170 cases: acdc 160, mouse_brain 6, sunnybrook 3'."""
    counts = Counter(entry.group for entry in entries)
    parts = ", ".join(f"{group} {count}" for group, count in sorted(counts.items()))
    return f"{len(entries)} case{'s' if len(entries) != 1 else ''}" + (f": {parts}" if parts else "")
