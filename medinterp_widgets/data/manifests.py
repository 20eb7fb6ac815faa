"""Data-set manifests (data_manifests/<set>.json) and checking a local copy against them.

A manifest holds: ``name``, ``folder`` (under the data root), ``title``, ``source``, ``license``,
``citation``, ``layout`` (expected folders / patterns), ``loader`` (dotted function name), ``note``
(e.g. that the list is the subset of the set present in the shared copy) and ``files``: a list of
``{"path", "bytes", "sha256"}`` with paths relative to the set's folder.
"""

from __future__ import annotations

import hashlib
import json
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from medinterp_widgets.data.errors import DataFormatError
from medinterp_widgets.resources import project_dir

MANIFEST_DIR = "data_manifests"
_REQUIRED = ("name", "folder", "source", "license", "citation", "layout", "loader", "files")
_CHUNK = 1 << 20


def manifest_names() -> list[str]:
    """Names of the shipped manifests (file stems in data_manifests/)."""
    return sorted(path.stem for path in project_dir(MANIFEST_DIR).glob("*.json"))


def load_manifest(name_or_path: str | os.PathLike) -> dict:
    """A shipped manifest by set name, or a manifest file by path; checks the required fields."""
    path = Path(name_or_path)
    if path.suffix != ".json":
        path = project_dir(MANIFEST_DIR) / f"{name_or_path}.json"
        if not path.is_file():
            raise ValueError(f"unknown data set {name_or_path!r}; known: {', '.join(manifest_names())}")
    try:
        manifest = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise DataFormatError(path, f"not valid JSON ({error})") from error
    missing = [key for key in _REQUIRED if key not in manifest]
    if missing:
        raise DataFormatError(path, f"manifest fields missing: {missing}")
    for entry in manifest["files"]:
        if not {"path", "sha256"} <= set(entry):
            raise DataFormatError(path, f"files entry {entry!r} needs 'path' and 'sha256'")
    return manifest


def sha256_file(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def hash_folder(folder: str | os.PathLike, workers: int = 4) -> list[dict]:
    """``{"path", "bytes", "sha256"}`` for every file under ``folder`` (sorted, POSIX relative paths)."""
    folder = Path(folder)
    paths = sorted(p for p in folder.rglob("*") if p.is_file())
    with ThreadPoolExecutor(max_workers=workers) as pool:
        digests = list(pool.map(sha256_file, paths))
    return [
        {"path": p.relative_to(folder).as_posix(), "bytes": p.stat().st_size, "sha256": d}
        for p, d in zip(paths, digests)
    ]


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of ``verify_manifest``: counts and the problem files (relative paths)."""

    name: str
    folder: Path
    n_expected: int
    n_ok: int
    missing: list[str] = field(default_factory=list)
    mismatched: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.missing and not self.mismatched

    def to_dict(self) -> dict:
        return {"name": self.name, "folder": str(self.folder), "expected": self.n_expected, "ok": self.n_ok,
                "missing": self.missing, "mismatched": self.mismatched, "passed": self.passed}


def _check_entry(folder: Path, entry: dict) -> str:
    """'ok', 'missing' or 'mismatched' for one manifest entry (size compared before hashing)."""
    path = folder / entry["path"]
    if not path.is_file():
        return "missing"
    if "bytes" in entry and path.stat().st_size != entry["bytes"]:
        return "mismatched"
    return "ok" if sha256_file(path) == entry["sha256"] else "mismatched"


def verify_manifest(manifest: dict | str | os.PathLike, root: str | os.PathLike, workers: int = 4) -> VerifyResult:
    """Check that ``root/<folder>`` holds every manifest file with the listed size and SHA-256.

    ``manifest`` is a loaded dict, a set name or a manifest path; ``root`` is the data root (the
    folder that holds ``acdc/``, ``covid_ct/`` ...). Files present but not listed are ignored.
    """
    if not isinstance(manifest, dict):
        manifest = load_manifest(manifest)
    folder = Path(root) / manifest["folder"]
    entries = manifest["files"]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        states = list(pool.map(lambda entry: _check_entry(folder, entry), entries))
    missing = [e["path"] for e, s in zip(entries, states) if s == "missing"]
    mismatched = [e["path"] for e, s in zip(entries, states) if s == "mismatched"]
    return VerifyResult(manifest["name"], folder, len(entries), states.count("ok"), missing, mismatched)


def refresh_manifest_files(name: str, root: str | os.PathLike) -> dict:
    """Re-hash the set's folder under ``root`` and write the file list into the shipped manifest."""
    path = project_dir(MANIFEST_DIR) / f"{name}.json"
    manifest = json.loads(path.read_text())
    manifest["files"] = hash_folder(Path(root) / manifest["folder"])
    path.write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest
