"""Bokeh inside ipywidgets: load BokehJS inline (offline-safe) and wrap a bokeh layout as a widget.

Under Voila without network access BokehJS cannot come from its CDN and the embedded view fails
with "Could not create a view for model id ..."; loading it inline in the kernel first fixes that
(hospital networks and firewalls hit the same problem), so inline is the default.
``load_bokehjs`` also sends ``bokehjs_patches.FRONTEND_PATCHES`` (no patch echo, table colour mapping).
"""

from __future__ import annotations

from bokeh.models import LayoutDOM
from jupyter_bokeh.widgets import BokehModel

from medinterp_widgets.widgets.bokehjs_patches import FRONTEND_PATCHES


def in_kernel() -> bool:
    """True inside a running Jupyter/Voila kernel (an IPython shell with a kernel attached)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def load_bokehjs() -> bool:
    """Send BokehJS inline, then its patches, to the front end once per executed cell; a no-op (False)
    outside a kernel."""
    if not in_kernel():
        return False
    if not _first_call_in_cell():
        return True
    from bokeh.io import output_notebook
    from bokeh.io.notebook import JS_MIME_TYPE, LOAD_MIME_TYPE, publish_display_data
    from bokeh.resources import INLINE

    output_notebook(INLINE, hide_banner=True)
    for script in FRONTEND_PATCHES:  # each waits for window.Bokeh, then patches it once per page
        publish_display_data({JS_MIME_TYPE: script, LOAD_MIME_TYPE: script})
    return True


def _first_call_in_cell() -> bool:
    """True once per executed cell (the shell keeps the execution count of the last call).

    Inline BokehJS is about 4 MB (8 MB as sent: two mime types), so a cell that builds several bokeh
    views (an app page) sends it once; a widget callback between cells finds the page already loaded.
    """
    from IPython import get_ipython

    shell = get_ipython()
    if getattr(shell, "_medinterp_bokehjs_cell", None) == shell.execution_count:
        return False
    shell._medinterp_bokehjs_cell = shell.execution_count
    return True


class CurrentStateBokehModel(BokehModel):
    """A ``jupyter_bokeh.BokehModel`` that shows its *current* state in every new view.

    ``BokehModel`` serialises the document once, when it is built, and sends later changes as
    patches that the front end drops while no view exists; so a figure changed before it is
    displayed (or shown again after a page reload) would come up stale. This one asks the front end
    to count its views (ipywidgets' ``_view_count``) and re-sends the whole document whenever a new
    view appears, wherever the widget is nested.
    """

    def __init__(self, model: LayoutDOM):
        super().__init__(model, _view_count=0)  # combine_events stays off: Voila has no idle signal
        self.observe(self._on_view_count, names="_view_count")

    def _on_view_count(self, change) -> None:
        if (change["new"] or 0) > (change["old"] or 0):
            self.update_from_model(self._model)


def embed(layout: LayoutDOM) -> CurrentStateBokehModel:
    """The bokeh ``layout`` as an ipywidget, synced both ways, current in every new view."""
    return CurrentStateBokehModel(layout)
