"""Bokeh inside ipywidgets: load BokehJS inline (offline-safe) and wrap a bokeh layout as a widget.

Under Voila without network access BokehJS cannot come from its CDN and the embedded view fails
with "Could not create a view for model id ..."; loading it inline in the kernel first fixes that
(hospital networks and firewalls hit the same problem), so inline is the default.
"""

from __future__ import annotations

from bokeh.models import LayoutDOM


def in_kernel() -> bool:
    """True inside a running Jupyter/Voila kernel (an IPython shell with a kernel attached)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def load_bokehjs() -> bool:
    """Send BokehJS inline to the front end once per kernel call; a no-op (False) outside a kernel."""
    if not in_kernel():
        return False
    from bokeh.io import output_notebook
    from bokeh.resources import INLINE

    output_notebook(INLINE, hide_banner=True)
    return True


def embed(layout: LayoutDOM):
    """The bokeh ``layout`` as an ipywidget (``jupyter_bokeh.BokehModel``), synced both ways."""
    from jupyter_bokeh.widgets import BokehModel

    return BokehModel(layout)  # combine_events warns under Voila (kernel idle state unknown)
