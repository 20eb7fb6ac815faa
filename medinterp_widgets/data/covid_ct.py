"""UCSD COVID-CT (Zhao et al., arXiv:2003.13865): chest CT slices cropped from papers.

    <root>/CT_COVID/*.png          label 1 (COVID)
    <root>/CT_NonCOVID/*.png|jpg   label 0

Images are read lazily as one grey float32 channel in 0..1 (see ``images.read_grey_image``).

Group keys (no patient ids are given) keep near-duplicate slices of one source in one split:

- CT_COVID: the source paper. The name is ``<paper>-p<page>-<figure>[_k][%n|-n].png``; the key is
  the text before ``-p<page>-`` (or before ``%`` when there is no page marker), with a trailing
  ``_k`` / ``-k`` number removed: ``2020.02.10.20021584-p6-52%0.png`` -> ``2020.02.10.20021584``,
  ``PIIS0140673620301549_0%1.png`` -> ``PIIS0140673620301549``. A whole paper is one group, since
  several pages of one paper often show the same patient.
- CT_NonCOVID JPEGs: ``N%k.jpg`` are panels cut from one figure N -> key ``jpg-N``.
- CT_NonCOVID PNGs: numbered slices where neighbouring numbers are adjacent slices of one scan; a run
  of numbers with gaps of at most ``PNG_RUN_GAP`` forms one group -> key ``png-<first number>``.

The same figure is sometimes reprinted by two papers (one CT_COVID image under two paper keys), so
``load_covid_ct`` then merges groups that hold near-duplicates: two images of one class whose 32x32
thumbnails (z-scored) correlate above ``NEAR_DUPLICATE_CORRELATION`` end in one group (union-find;
the merged group keeps its alphabetically first key). Reading every image for this takes about a
second for the ~500 images of the shared copy; ``merge_near_duplicates=False`` skips it.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from medinterp_widgets.data.images import read_grey_image

COVID_FOLDERS = {"CT_COVID": 1, "CT_NonCOVID": 0}
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
PNG_RUN_GAP = 3  # NonCOVID PNG numbers this close belong to one scan
NEAR_DUPLICATE_CORRELATION = 0.9  # thumbnail correlation above which two images share a source
THUMBNAIL_SIZE = 32


@dataclass(frozen=True)
class CovidCtImage:
    """One COVID-CT slice: path, label (1 COVID, 0 non-COVID) and its source group key."""

    path: Path
    label: int
    group: str

    def read(self) -> np.ndarray:
        """(H, W) float32 in 0..1."""
        return read_grey_image(self.path)


def covid_paper_key(stem: str) -> str:
    """Source-paper key of a CT_COVID file stem (see the module docstring)."""
    head = re.split(r"-p\d+-|%", stem, maxsplit=1)[0]
    return re.sub(r"[_-]\d+$", "", head) or stem


def _noncovid_keys(paths: list[Path]) -> dict[Path, str]:
    """Group keys of CT_NonCOVID files: JPEG figure number, or the run of nearby PNG numbers."""
    keys: dict[Path, str] = {}
    numbered_pngs = []
    for path in paths:
        head = path.stem.split("%", 1)[0]
        if path.suffix.lower() == ".png" and head.isdigit():
            numbered_pngs.append((int(head), path))
        else:
            keys[path] = f"{path.suffix.lower().lstrip('.')}-{head}"
    run_start, previous = None, None
    for number, path in sorted(numbered_pngs, key=lambda pair: (pair[0], pair[1].name)):
        if previous is None or number - previous > PNG_RUN_GAP:
            run_start = number
        keys[path] = f"png-{run_start}"
        previous = number
    return keys


def _image_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def _thumbnail(image: np.ndarray) -> np.ndarray:
    """Flattened 32x32 area-resampled thumbnail, z-scored (so a dot product / size is a correlation)."""
    thumb = cv2.resize(image, (THUMBNAIL_SIZE, THUMBNAIL_SIZE), interpolation=cv2.INTER_AREA).ravel()
    return (thumb - thumb.mean()) / (thumb.std() + 1e-6)


def merge_near_duplicate_groups(items: list[CovidCtImage]) -> list[CovidCtImage]:
    """Items with the group keys of near-duplicate images (same class) merged (module docstring)."""
    keys = sorted({item.group for item in items})
    parent = {key: key for key in keys}

    def find(key: str) -> str:
        while parent[key] != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    for label in sorted({item.label for item in items}):
        members = [item for item in items if item.label == label]
        if len(members) < 2:
            continue
        thumbs = np.stack([_thumbnail(item.read()) for item in members])  # (N, 1024)
        correlation = thumbs @ thumbs.T / thumbs.shape[1]  # (N, N)
        for i, j in np.argwhere(np.triu(correlation, 1) > NEAR_DUPLICATE_CORRELATION):
            a, b = find(members[i].group), find(members[j].group)
            if a != b:
                parent[max(a, b)] = min(a, b)
    return [CovidCtImage(item.path, item.label, find(item.group)) for item in items]


def load_covid_ct(root: str | os.PathLike, merge_near_duplicates: bool = True) -> list[CovidCtImage]:
    """All COVID-CT images under ``root`` (sorted by class folder, then name), read lazily.

    With ``merge_near_duplicates`` every image is read once to merge the groups of reprinted
    figures (module docstring); the returned items still read their pixels lazily.
    """
    root = Path(root)
    missing = [name for name in COVID_FOLDERS if not (root / name).is_dir()]
    if missing:
        raise FileNotFoundError(f"COVID-CT folder(s) {missing} not found under {root}")
    items = []
    for folder_name, label in COVID_FOLDERS.items():
        paths = _image_files(root / folder_name)
        if label == 1:
            keys = {path: covid_paper_key(path.stem) for path in paths}
        else:
            keys = _noncovid_keys(paths)
        items += [CovidCtImage(path, label, f"{folder_name}/{keys[path]}") for path in paths]
    return merge_near_duplicate_groups(items) if merge_near_duplicates else items
