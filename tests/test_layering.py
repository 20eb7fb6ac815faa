"""The compute core never imports a UI library (DESIGN.md: imports only point downward)."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "medinterp_widgets"
CORE = ["data", "models", "attribution", "metrics", "training"]
UI = {"ipywidgets", "bokeh", "matplotlib", "IPython", "jupyter_bokeh", "traitlets", "voila"}
UPPER = {"widgets", "apps", "pipelines", "render"}


def _imports(path: Path):
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module


@pytest.mark.parametrize("layer", CORE)
def test_core_layer_imports_no_ui_and_nothing_above(layer):
    offenders = []
    for path in sorted((PACKAGE / layer).rglob("*.py")):
        for name in _imports(path):
            top = name.split(".")[0]
            inner = name.split(".")[1] if name.startswith("medinterp_widgets.") else None
            if top in UI or inner in UPPER:
                offenders.append(f"{path.relative_to(PACKAGE)} imports {name}")
    assert not offenders, "\n".join(offenders)
