"""Show the current bokeh state when a widget is displayed, not the state it was built with.

``jupyter_bokeh.BokehModel`` serialises its document once, at construction, and afterwards sends
each change as a patch. Patches sent before any view exists are dropped by the front end, so
``viewer = EmbeddingViewer(...); viewer.method = "tsne"; viewer`` would draw the PCA it was built
with. Widgets that mix this in re-serialise their bokeh layout when they are displayed.
"""

from __future__ import annotations


class FreshBokehDisplay:
    """Mixin for an ipywidget holding ``self.plot`` (a BokehModel) of ``self.bokeh_layout``."""

    def _repr_mimebundle_(self, **kwargs):
        self.refresh_plot()
        return super()._repr_mimebundle_(**kwargs)

    def refresh_plot(self) -> None:
        """Re-send the whole bokeh document (call it before showing this widget inside a container
        if its state changed since it was built)."""
        self.plot.update_from_model(self.bokeh_layout)
