"""Confinement to a data root: a path counts as inside only once every symlink in it is resolved."""

from __future__ import annotations

import os
from pathlib import Path

from medinterp_widgets.data.errors import OutsideDataRootError


def is_inside(root: str | os.PathLike, path: str | os.PathLike) -> bool:
    """True when ``path`` (symlinks resolved) is ``root`` (resolved) or lies under it."""
    base, target = Path(root).resolve(), Path(path).resolve()
    return target == base or base in target.parents


def resolve_inside(root: str | os.PathLike, requested: str | os.PathLike, what: str = "path") -> Path:
    """``root / requested`` with symlinks resolved; `OutsideDataRootError` when it leaves ``root``.

    An absolute ``requested`` is taken as is (and must still resolve under ``root``).
    """
    base = Path(root).resolve()
    target = (base / Path(requested).expanduser()).resolve()
    if target != base and base not in target.parents:
        raise OutsideDataRootError(f"{requested}: {what} outside the data root {base} (resolves to {target}); "
                                   "only paths inside it can be opened")
    return target
