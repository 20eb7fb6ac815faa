"""Bokeh inside ipywidgets: load BokehJS inline (offline-safe) and wrap a bokeh layout as a widget.

Under Voila without network access BokehJS cannot come from its CDN and the embedded view fails
with "Could not create a view for model id ..."; loading it inline in the kernel first fixes that
(hospital networks and firewalls hit the same problem), so inline is the default.

No echo: jupyter_bokeh 4.1's front end forwards *every* document change to the kernel, including
the ones it has just applied from a kernel patch (BokehJS marks those ``sync = false``; bokeh's own
server session drops them, jupyter_bokeh does not). A 512x512 slice step was thus gzipped, base64'd
and sent back (~0.5 MB, ~75 ms of browser main thread before the repaint, then decoded again in the
kernel). ``load_bokehjs`` also installs ``NO_ECHO_JS``, which drops such non-sync model changes at
``Document._trigger_on_change`` (nothing in BokehJS listens for them there; roots/title/messages pass).
"""

from __future__ import annotations

from bokeh.models import LayoutDOM
from jupyter_bokeh.widgets import BokehModel


def in_kernel() -> bool:
    """True inside a running Jupyter/Voila kernel (an IPython shell with a kernel attached)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


NO_ECHO_JS = """
(function install(tries) {
  const bokeh = window.Bokeh;
  if (!(bokeh && bokeh.require)) { if (tries > 0) setTimeout(() => install(tries - 1), 10); return; }
  const proto = bokeh.require("document").Document.prototype;
  if (proto.__mi_no_echo) return;
  const ev = bokeh.require("document/events");
  const dataEvents = [ev.ModelChangedEvent, ev.ColumnDataChangedEvent, ev.ColumnsStreamedEvent, ev.ColumnsPatchedEvent];
  const echo = (e) => e.sync === false && dataEvents.some((kind) => e instanceof kind);
  const trigger = proto._trigger_on_change;
  proto._trigger_on_change = function (event) {
    if (event instanceof ev.DocumentEventBatch) {
      const kept = event.events.filter((e) => !echo(e));
      if (kept.length === 0) return;
      if (kept.length < event.events.length) event = new ev.DocumentEventBatch(event.document, kept);
    } else if (echo(event)) {
      return;
    }
    return trigger.call(this, event);
  };
  proto.__mi_no_echo = true;
})(1000);
"""


def load_bokehjs() -> bool:
    """Send BokehJS inline (and ``NO_ECHO_JS``) to the front end; a no-op (False) outside a kernel."""
    if not in_kernel():
        return False
    from bokeh.io import output_notebook
    from bokeh.io.notebook import JS_MIME_TYPE, LOAD_MIME_TYPE, publish_display_data
    from bokeh.resources import INLINE

    output_notebook(INLINE, hide_banner=True)
    publish_display_data({JS_MIME_TYPE: NO_ECHO_JS, LOAD_MIME_TYPE: NO_ECHO_JS})
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
