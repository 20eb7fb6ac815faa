"""Bokeh inside ipywidgets: load BokehJS inline (offline-safe, once per page, by every widget itself)
and wrap a bokeh layout as a widget.

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


_PAGES_LOADED: set[str] = set()  # kernel client sessions (one per page) that were sent BokehJS


def load_bokehjs() -> bool:
    """Make sure BokehJS (inline, offline-safe) and its patches are on the page: sent once per page;
    a no-op (False) outside a kernel. Every bokeh widget of this package calls it when it is built
    and when it is displayed, so a notebook needs no setup cell.

    A page is the kernel client session of the request being handled (a JupyterLab tab; reloading it
    opens a new session). A cell run from a page that has not had BokehJS sends it (about 8 MB as
    sent: two mime types) with the cell's output. A widget callback (not a cell run) comes from a
    page that already shows this package's views, so it sends nothing once any page was served.
    """
    if not in_kernel():
        return False
    header = _request_header()
    page, is_cell = header.get("session", ""), header.get("msg_type") == "execute_request"
    if page in _PAGES_LOADED or (not is_cell and _PAGES_LOADED):
        return True
    _PAGES_LOADED.add(page)
    from bokeh.io import output_notebook
    from bokeh.io.notebook import JS_MIME_TYPE, LOAD_MIME_TYPE, publish_display_data
    from bokeh.resources import INLINE

    output_notebook(INLINE, hide_banner=True)
    for script in FRONTEND_PATCHES:  # each waits for window.Bokeh, then patches it once per page
        publish_display_data({JS_MIME_TYPE: script, LOAD_MIME_TYPE: script})
    return True


def _request_header() -> dict:
    """The header of the kernel request being handled ({} when unknown)."""
    from IPython import get_ipython

    kernel = getattr(get_ipython(), "kernel", None)
    try:
        parent = kernel.get_parent("shell")
    except Exception:  # noqa: BLE001 - an older or stand-in kernel: treat as one unnamed page
        parent = {}
    return dict((parent or {}).get("header", {}))


class BokehWidget:
    """Mixin for ipywidgets holding bokeh views: displaying one makes sure BokehJS is on the page."""

    def _repr_mimebundle_(self, **kwargs):
        load_bokehjs()
        return super()._repr_mimebundle_(**kwargs)


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
    """The bokeh ``layout`` as an ipywidget, synced both ways, current in every new view (BokehJS is
    loaded on the page first, see ``load_bokehjs``)."""
    load_bokehjs()
    return CurrentStateBokehModel(layout)
