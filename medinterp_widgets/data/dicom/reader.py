"""Public DICOM readers: one file (`read_dicom`) or a folder holding one series (`read_dicom_series`)."""

from __future__ import annotations

import os
import warnings
from collections import defaultdict
from pathlib import Path

from pydicom.dataset import Dataset

from medinterp_widgets.data.dicom._assemble import assemble
from medinterp_widgets.data.dicom._frames import Frame, frames_of, header_metadata
from medinterp_widgets.data.dicom._io import open_dataset, wrap_errors
from medinterp_widgets.data.errors import (
    DicomReadError,
    DicomTooLargeError,
    OutsideDataRootError,
    quiet_library_warnings,
    skip_or_raise,
)
from medinterp_widgets.data.limits import check_array_size
from medinterp_widgets.data.paths import resolve_inside
from medinterp_widgets.data.volume import Volume

# header fields that differ from file to file; a series keeps them per frame instead
_PER_FILE_KEYS = ("InstanceNumber", "SOPInstanceUID", "TriggerTime", "SliceLocation", "source")


def read_dicom(path: str | os.PathLike, *, require_spacing: bool = True) -> Volume:
    """One DICOM file -> Volume: 2-D (y, x), or 3-D / cine for multi-frame files.

    Stored values are rescaled (value = stored * RescaleSlope + RescaleIntercept, per frame where the
    file says so) to float32; integer dtype is kept when slope = 1 and intercept = 0. Every problem
    raises `DicomReadError(path, problem)`. ``require_spacing=False`` assumes 1 mm (flagged in
    metadata["spacing_assumed"]) when PixelSpacing is missing.
    """
    path = os.fspath(path)
    with wrap_errors(path, "cannot read"):  # safety net: nothing but DicomReadError leaves
        dataset = open_dataset(path)
        frames = frames_of(path, dataset)
        return assemble(frames, header_metadata(path, dataset), where=path, require_spacing=require_spacing)


def _candidate_files(folder: Path, root: Path, skip_bad: bool, skipped: list[tuple[str, str]]) -> list[Path]:
    """Files under ``folder`` (not hidden, not DICOMDIR), each resolved; one that resolves outside ``root``
    (a symlink leading out) raises `OutsideDataRootError`, or with ``skip_bad`` is skipped and reported."""
    files = []
    for path in folder.rglob("*"):
        if not path.is_file() or path.name.startswith(".") or path.name.upper() == "DICOMDIR":
            continue
        try:
            files.append(resolve_inside(root, path, "series member"))
        except OutsideDataRootError:
            if not skip_bad:
                raise
            skipped.append((str(path), f"resolves outside the data root, to {path.resolve()}"))
    return sorted(set(files), key=lambda p: (len(p.parts), str(p.parent), len(p.name), p.name))


def _open_all(files: list[Path], skip_bad: bool, skipped: list[tuple[str, str]]) -> dict[str, Dataset]:
    datasets = {}
    for file in files:
        with skip_or_raise(skip_bad, skipped, DicomReadError):
            datasets[str(file)] = open_dataset(file)
    return datasets


def _series_uid(path: str, dataset: Dataset) -> str:
    with wrap_errors(path, "cannot read SeriesInstanceUID"), quiet_library_warnings():
        return str(dataset.get("SeriesInstanceUID", "") or "")


def _pick_series(folder: Path, datasets: dict[str, Dataset], series_uid: str | None) -> dict[str, Dataset]:
    """The files of one series: the only one present, or the one ``series_uid`` names."""
    by_series: dict[str, dict[str, Dataset]] = defaultdict(dict)
    for path, dataset in datasets.items():
        by_series[_series_uid(path, dataset)][path] = dataset
    listing = "; ".join(
        f"{uid or '<no SeriesInstanceUID>'}: {len(files)} files, e.g. {', '.join(sorted(files)[:3])}"
        for uid, files in by_series.items()
    )
    if series_uid is not None:
        if series_uid not in by_series:
            raise DicomReadError(folder, f"no file has SeriesInstanceUID {series_uid}; present: {listing}")
        return by_series[series_uid]
    if len(by_series) > 1:
        problem = f"mixed series ({len(by_series)} SeriesInstanceUIDs), pass series_uid= to pick one: {listing}"
        raise DicomReadError(folder, problem)
    return next(iter(by_series.values()))


def _frames_all(folder: Path, datasets: dict[str, Dataset], skip_bad: bool,
                skipped: list[tuple[str, str]]) -> list[Frame]:
    """Frames of every file; the series' pixels together must stay within the array limit."""
    frames: list[Frame] = []
    total = 0
    for path, dataset in datasets.items():
        found: list[Frame] = []
        with skip_or_raise(skip_bad, skipped, DicomReadError, never=(DicomTooLargeError,)):
            found = frames_of(path, dataset)
        frames.extend(found)
        total += sum(frame.pixels.nbytes for frame in found)
        check_array_size(folder, f"series pixels ({len(frames)} frames so far)", (total,), 1,
                         error=DicomTooLargeError)
    return frames


def read_dicom_series(
    folder: str | os.PathLike,
    *,
    skip_bad: bool = False,
    series_uid: str | None = None,
    require_spacing: bool = True,
    root: str | os.PathLike | None = None,
) -> Volume:
    """All DICOM files under ``folder`` (one series) -> Volume; cine studies give (t, z, y, x).

    Frames are sorted along the slice normal, and the frames sharing a position are the cine phases
    (ordered by trigger time, then InstanceNumber). Spacing is (slice gap, dy, dx) in mm. Several
    SeriesInstanceUIDs raise a `DicomReadError` listing them unless ``series_uid`` picks one. With
    ``skip_bad=True`` unreadable files, and frames that do not fit the series (odd size, orientation
    or spacing; slice positions missing phases), are left out, listed in metadata["skipped"] as
    (path, reason) and announced with a warning.

    Every file is opened by its resolved path, which must lie under ``root`` (default: ``folder``):
    a member symlinked out of it raises `OutsideDataRootError` (``skip_bad``: skipped and reported).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DicomReadError(folder, "not a folder: expected a folder of DICOM files")
    skipped: list[tuple[str, str]] = []
    files = _candidate_files(folder, Path(root if root is not None else folder), skip_bad, skipped)
    if not files:
        detail = f"; {skipped[0][1]}" if skipped else ""
        raise DicomReadError(folder, f"no files found: expected DICOM files of one series{detail}")
    datasets = _open_all(files, skip_bad, skipped)
    if not datasets:
        raise DicomReadError(folder, f"no readable DICOM file among {len(files)} files; first problem: {skipped[0][1]}")
    chosen = _pick_series(folder, datasets, series_uid)
    frames = _frames_all(folder, chosen, skip_bad, skipped)
    first = next(iter(chosen))
    metadata = {k: v for k, v in header_metadata(first, chosen[first]).items() if k not in _PER_FILE_KEYS}
    metadata["skipped"] = skipped
    with wrap_errors(folder, "cannot build the volume"):
        volume = assemble(frames, metadata, where=str(folder), require_spacing=require_spacing, drop_outliers=skip_bad)
    if volume.metadata["skipped"]:
        first_path, first_reason = volume.metadata["skipped"][0]
        count = len(volume.metadata["skipped"])
        warnings.warn(f"{folder}: skipped {count} files, e.g. {first_path}: {first_reason}", stacklevel=2)
    return volume
