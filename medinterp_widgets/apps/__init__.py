"""Apps: `build_app(name, ...)` composes widgets into pages (testable without Voila).

Each app is a module in this package with ``build(**kwargs) -> ipywidgets.Widget``; the notebook
under ``notebooks/apps/NAME.ipynb`` is a few lines calling ``build_app("NAME")``.
"""

from __future__ import annotations

import importlib

from medinterp_widgets.widgets.bokeh_setup import load_bokehjs

APPS = {
    # name: (module, one-line description)
    "workbench": ("medinterp_widgets.apps.workbench", "browse synthetic and real volumes with masks and heatmaps"),
}


def available_apps() -> list[str]:
    return sorted(APPS)


def build_app(name: str = "workbench", **kwargs):
    """Build the app ``name``; inside a kernel BokehJS is loaded inline first (works offline)."""
    if name not in APPS:
        raise ValueError(f"unknown app {name!r}; expected one of {available_apps()}")
    load_bokehjs()
    module = importlib.import_module(APPS[name][0])
    return module.build(**kwargs)


__all__ = ["APPS", "available_apps", "build_app"]
