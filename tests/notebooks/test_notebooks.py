"""Every notebook runs top to bottom (curated ones with their quick parameters) and keeps no outputs."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[2]
CURATED = sorted((ROOT / "notebooks").glob("*.ipynb"))
APPS = sorted((ROOT / "notebooks" / "apps").glob("*.ipynb"))


def _execute(path: Path, monkeypatch, tmp_path) -> nbformat.NotebookNode:
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    monkeypatch.setenv("MEDINTERP_OUT", str(tmp_path))  # notebooks write reports here when set
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(notebook, timeout=900, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    return notebook


@pytest.mark.parametrize("path", CURATED + APPS, ids=lambda p: str(p.relative_to(ROOT)))
def test_notebook_has_no_stored_outputs(path):
    notebook = nbformat.read(path, as_version=4)
    stored = [i for i, cell in enumerate(notebook.cells) if cell.cell_type == "code" and cell.get("outputs")]
    assert not stored, f"{path.name}: cells {stored} keep outputs; clear them before committing"


@pytest.mark.slow
@pytest.mark.parametrize("path", CURATED + APPS, ids=lambda p: str(p.relative_to(ROOT)))
def test_notebook_executes(path, monkeypatch, tmp_path):
    notebook = _execute(path, monkeypatch, tmp_path)
    errors = [o for c in notebook.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert not errors
