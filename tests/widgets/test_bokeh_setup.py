"""embed(): every new front-end view shows the bokeh document as it is now, not as it was built."""

from bokeh.models import ColumnDataSource
from bokeh.plotting import figure

from medinterp_widgets.widgets.bokeh_setup import embed


def test_new_views_receive_the_current_document_and_patches_still_flow():
    source = ColumnDataSource({"x": [0, 1], "y": [0, 1]})
    plot = figure(title="built")
    plot.line("x", "y", source=source)
    widget = embed(plot)
    assert widget._view_count == 0  # the front end is asked to count views
    plot.title.text = "changed before display"
    assert "changed before display" not in str(widget.render_bundle)

    widget._view_count = 1  # a view appears (nested anywhere)
    assert "changed before display" in str(widget.render_bundle)

    sent = []
    widget.send = lambda content, buffers=None: sent.append(content)
    source.stream({"x": [2], "y": [2]})  # later changes still travel as patches, not re-renders
    assert sent and all(message["msg"] == "patch" for message in sent)
    bundle = str(widget.render_bundle)
    widget._view_count = 0  # a view closing re-sends nothing
    assert str(widget.render_bundle) == bundle


def test_load_bokehjs_sends_the_frontend_patches_after_bokehjs(monkeypatch):
    import types

    import bokeh.io
    import bokeh.io.notebook

    from medinterp_widgets.widgets import bokeh_setup
    from medinterp_widgets.widgets.bokehjs_patches import FRONTEND_PATCHES, LOOKUP_COLORMAP_JS, NO_ECHO_JS

    published = []
    monkeypatch.setattr(bokeh_setup, "_PAGES_LOADED", set())
    monkeypatch.setattr("IPython.get_ipython", lambda: types.SimpleNamespace(execution_count=1, kernel=object()))
    monkeypatch.setattr(bokeh.io, "output_notebook", lambda *args, **kwargs: published.append("bokehjs"))
    monkeypatch.setattr(bokeh.io.notebook, "publish_display_data", lambda data, **kwargs: published.append(data))
    assert bokeh_setup.load_bokehjs()
    assert published[0] == "bokehjs"  # BokehJS first, then the patches (which wait for window.Bokeh anyway)
    assert FRONTEND_PATCHES == (NO_ECHO_JS, LOOKUP_COLORMAP_JS)
    for data, script in zip(published[1:], FRONTEND_PATCHES, strict=True):
        assert data == {bokeh.io.notebook.JS_MIME_TYPE: script, bokeh.io.notebook.LOAD_MIME_TYPE: script}


def test_load_bokehjs_outside_a_kernel_sends_nothing(monkeypatch):
    from medinterp_widgets.widgets import bokeh_setup

    monkeypatch.setattr(bokeh_setup, "in_kernel", lambda: False)
    assert bokeh_setup.load_bokehjs() is False


def test_bokehjs_is_sent_once_per_page(monkeypatch):
    """Inline BokehJS is ~8 MB as sent: once per page (kernel client session), not per widget or cell; a new
    page (another tab, a reload) gets it again; a widget callback sends nothing once a page has it."""
    import types

    from medinterp_widgets.widgets import bokeh_setup

    header = {"session": "tab-1", "msg_type": "execute_request"}
    shell = types.SimpleNamespace(kernel=types.SimpleNamespace(get_parent=lambda channel: {"header": dict(header)}))
    sent = []
    monkeypatch.setattr(bokeh_setup, "_PAGES_LOADED", set())
    monkeypatch.setattr("IPython.get_ipython", lambda: shell)
    monkeypatch.setattr("bokeh.io.output_notebook", lambda *args, **kwargs: sent.append(header["session"]))
    monkeypatch.setattr("bokeh.io.notebook.publish_display_data", lambda *args, **kwargs: None)
    assert bokeh_setup.load_bokehjs() and bokeh_setup.load_bokehjs()  # two widgets built in one cell
    header["msg_type"] = "comm_msg"  # a widget callback from that page
    assert bokeh_setup.load_bokehjs()
    header.update(session="tab-2", msg_type="execute_request")
    assert bokeh_setup.load_bokehjs()
    assert sent == ["tab-1", "tab-2"]
    monkeypatch.setattr("IPython.get_ipython", lambda: None)
    assert not bokeh_setup.load_bokehjs()


def test_displaying_a_widget_makes_sure_bokehjs_is_on_the_page(monkeypatch):
    """A notebook cell that only displays a SliceBrowser (no setup cell) asks for BokehJS itself."""
    import numpy as np

    from medinterp_widgets.widgets import bokeh_setup
    from medinterp_widgets.widgets.slice_browser import SliceBrowser

    browser = SliceBrowser(np.zeros((2, 4, 4), np.float32))
    calls = []
    monkeypatch.setattr(bokeh_setup, "load_bokehjs", lambda: calls.append(1) or True)
    browser._repr_mimebundle_()
    assert calls == [1]
