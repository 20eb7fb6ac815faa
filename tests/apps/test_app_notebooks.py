"""The Voila entry notebooks store no outputs (the browser test runs the workbench one in Voila)."""

from pathlib import Path

import nbformat
import pytest

from medinterp_widgets.apps.voila_server import apps_dir

NOTEBOOKS = sorted(apps_dir().glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_app_notebook_has_no_stored_outputs(path: Path):
    notebook = nbformat.read(path, as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code and all(not cell.outputs and cell.execution_count is None for cell in code)

