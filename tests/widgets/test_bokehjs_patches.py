"""The BokehJS patches in headless Chromium, on a blank page with bokeh.min.js (no Voila): non-sync
model changes no longer reach document listeners (sync ones still do), and table colour mapping gives
exactly BokehJS's own colours for int16 and uint8 images."""

from pathlib import Path

import bokeh
import pytest

from medinterp_widgets import render
from medinterp_widgets.apps import voila_server
from medinterp_widgets.widgets.bokehjs_patches import LOOKUP_COLORMAP_JS, NO_ECHO_JS

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not voila_server.chromium_available(), reason="needs /usr/bin/chromium and playwright"),
]
BOKEH_JS = Path(bokeh.__file__).parent / "server" / "static" / "js" / "bokeh.min.js"

DOCUMENT_EVENTS_JS = """() => {
  const { Document } = Bokeh.require("document");
  const { ColumnDataSource } = Bokeh.require("models/sources/column_data_source");
  const doc = new Document();
  const source = new ColumnDataSource({ data: { x: [1] } });
  doc.add_root(source);
  const seen = [];
  doc.on_change((event) => seen.push(event.sync));
  source.setv({ data: { x: [2] } }, { sync: false });  // what applying a kernel patch does
  source.setv({ data: { x: [3] } });  // a change made in the browser
  source.stream_to(source.properties.data, { x: [4] }, null, { sync: false });
  return seen; }"""

COLOURS_JS = """([palette, low, high, kind]) => {
  const { LinearColorMapper } = Bokeh.require("models/mappers/linear_color_mapper");
  const mapper = new LinearColorMapper({ palette, low, high });
  const data = kind === "int16" ? new Int16Array(200000) : new Uint8Array(200000);
  let seed = 7;
  for (let i = 0; i < data.length; i++) { seed = (seed * 1103515245 + 12345) % 2147483648; data[i] = seed >> 8; }
  data[0] = kind === "int16" ? -32768 : 0; data[1] = kind === "int16" ? 32767 : 255;
  const colours = mapper.rgba_mapper.v_compute(data);  // RGBA bytes
  let hash = 0;
  for (let i = 0; i < colours.length; i++) hash = (hash * 31 + colours[i]) | 0;
  return [hash, Array.from(colours.slice(0, 64))]; }"""


@pytest.fixture(scope="module")
def chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = voila_server.launch_chromium(playwright)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="module")
def bokeh_page(chromium):
    page = chromium.new_page()
    page.set_content("<html><body></body></html>")
    page.add_script_tag(path=str(BOKEH_JS))
    return page



def test_patches_drop_echoes_and_keep_colours_exact(bokeh_page):
    page = bokeh_page
    grey, labels = render.colormap_palette("gray"), render.label_palette()
    cases = [(grey, -500.0, 1200.0, "int16"), (labels, 0.0, float(render.N_LEVELS), "uint8"),
             (render.colormap_palette("jet", 0.2), 0.0, float(render.N_LEVELS), "uint8")]
    assert page.evaluate(DOCUMENT_EVENTS_JS) == [False, True, False]  # stock BokehJS: echoes included
    stock = [page.evaluate(COLOURS_JS, list(case)) for case in cases]

    for script, name in ((NO_ECHO_JS, "no_echo"), (LOOKUP_COLORMAP_JS, "lookup_colormap")):
        page.add_script_tag(content=script)
        page.wait_for_function(f"(window.__medinterp_patches || {{}})['{name}'] === true", timeout=5_000)
    page.add_script_tag(content=NO_ECHO_JS)  # a second load_bokehjs() in the same page patches nothing twice

    assert page.evaluate(DOCUMENT_EVENTS_JS) == [True]  # only the browser's own change reaches listeners
    for case, expected in zip(cases, stock):
        assert page.evaluate(COLOURS_JS, list(case)) == expected, case[3]


def test_untested_bokehjs_version_gets_no_patch_and_a_console_notice(chromium):
    """On a BokehJS version outside TESTED_BOKEHJS the prototypes stay stock and the console says why."""
    from medinterp_widgets.widgets.bokehjs_patches import when_bokeh_loaded

    page = chromium.new_page()
    notices: list[str] = []
    page.on("console", lambda message: notices.append(message.text))
    page.set_content("<html><body></body></html>")
    page.add_script_tag(path=str(BOKEH_JS))
    page.add_script_tag(content=when_bokeh_loaded("window.__patched = true;", "probe", tested=("0.1",)))
    page.wait_for_function("(window.__medinterp_patches || {})['probe'] === 'skipped'", timeout=5_000)
    assert page.evaluate("window.__patched === undefined")
    assert any(f"BokehJS {bokeh.__version__} is not a tested version (0.1)" in n for n in notices)
    minor = bokeh.__version__.rsplit(".", 1)[0]
    page.add_script_tag(content=when_bokeh_loaded("window.__patched = true;", "probe2", tested=(minor,)))
    page.wait_for_function("window.__patched === true", timeout=5_000)
    page.close()
