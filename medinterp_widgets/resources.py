"""Locate the project's shipped folders (data manifests, notebooks) and the user's data root.

A source checkout or an editable install finds them beside the package; a wheel install finds the
copies under ``<prefix>/share/medinterp_widgets``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

DATA_ENV = "MEDINTERP_DATA"
MODEL_ENV = "MEDINTERP_MODEL"  # a model file the workbench opens at start (``medinterp app workbench --model FILE``)
REPORTS_ENV = "MEDINTERP_REPORTS"  # folder of written reports (``reports/NAME-PRESET``) the paper apps show
_PACKAGE_DIR = Path(__file__).resolve().parent


def project_dir(name: str) -> Path:
    """Return the shipped folder ``name`` (``data_manifests``, ``notebooks``)."""
    candidates = [_PACKAGE_DIR.parent / name, Path(sys.prefix) / "share" / "medinterp_widgets" / name]
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"shipped folder {name!r} not found; looked in: " + ", ".join(map(str, candidates)))


def data_root(explicit: str | os.PathLike | None = None) -> Path | None:
    """The real-data root: ``explicit`` if given, else ``$MEDINTERP_DATA``, else None.

    Raises FileNotFoundError when a root is named but is not a folder.
    """
    value = explicit if explicit is not None else os.environ.get(DATA_ENV)
    if not value:
        return None
    root = Path(value).expanduser().resolve()
    if not root.is_dir():
        source = "argument" if explicit is not None else f"${DATA_ENV}"
        raise FileNotFoundError(f"data root from {source} is not a folder: {root}")
    return root


def reports_root(explicit: str | os.PathLike | None = None) -> Path:
    """Where ``medinterp reproduce`` writes reports: ``explicit``, else ``$MEDINTERP_REPORTS``, else ./reports."""
    value = explicit if explicit is not None else os.environ.get(REPORTS_ENV) or "reports"
    return Path(value).expanduser().resolve()
