"""The four paper apps in Voila, driven by headless Chromium, each on its pipeline's smoke report: the page
shows our numbers beside the paper's and the report tables, a figure or canvas that is not one flat colour,
one control changes what is shown (covid-interp: hovering a point shows its image), and there are no console
errors (beyond the known offline CDN misses)."""

import cv2
import numpy as np
import pytest

from medinterp_widgets.apps import voila_server

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not voila_server.chromium_available(), reason="needs /usr/bin/chromium and playwright"),
]

LOAD_MS = 90_000  # a fresh kernel imports torch, bokeh and scikit-learn on a busy 2-core machine


def _grey(png: bytes) -> np.ndarray:
    return cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_GRAYSCALE)


def _not_flat(png: bytes) -> bool:
    return float(_grey(png).std()) > 10.0


def _open_tab(page, title: str) -> None:
    page.locator(".lm-TabBar-tab", has_text=title).first.click()


def _visible_figure(page):
    """The first report figure (an ipywidgets Image) that is on screen."""
    figure = page.locator(".widget-image:visible").first
    figure.wait_for(timeout=10_000)
    return figure


# Page position of the first point of the first visible scatter with hover thumbnails (BokehJS 3 views:
# GlyphRendererView -> its PlotView's frame scales and canvas).
FIRST_THUMBNAIL_POINT_JS = """() => {
  const found = [];
  const walk = (view) => {
    const data = view.model && view.model.data_source && view.model.data_source.data;
    if (data && data.thumb && view.parent.model.visible) {
      const plot = view.parent, box = plot.canvas_view.el.getBoundingClientRect();
      found.push([box.left + plot.frame.x_scale.compute(data.a[0]), box.top + plot.frame.y_scale.compute(data.b[0])]);
    }
    for (const child of (view.children ? view.children() : [])) walk(child);
  };
  for (const root of Bokeh.index.roots) walk(root);
  return found[0];
}"""


def test_lv_gap_cam_app(paper_pages, no_console_errors, poll_until):
    page, errors = paper_pages["lv-gap-cam"]
    canvas = page.locator(".mi-slice-browser canvas").first
    canvas.wait_for(timeout=LOAD_MS)
    text = page.inner_text("body")
    assert "Ours beside the paper" in text and "94.48" in text and "1.93" in text  # Dice %, APD mm
    assert "layer table (DIGITS style)" in text  # the tables tab, shown first
    page.wait_for_timeout(1000)  # let BokehJS paint
    before = canvas.screenshot()
    page.locator(".mi-slice-slider .noUi-handle").first.focus()
    page.keyboard.press("ArrowLeft")
    changed = poll_until(page, lambda: canvas.screenshot() != before, 10)
    _open_tab(page, "cam overlays")
    cam_figure = _visible_figure(page).screenshot()
    assert _not_flat(before) and changed, "the validation slice did not change after a slice step"
    assert _not_flat(cam_figure)
    no_console_errors(errors)


def test_rodent_gbp_app(paper_pages, no_console_errors):
    page, errors = paper_pages["rodent-gbp"]
    page.wait_for_selector(".lm-TabBar-tab", timeout=LOAD_MS)
    text = page.inner_text("body")
    assert "Ours beside the paper" in text and "GBP background removal" in text and "whole-volume measures" in text
    _open_tab(page, "gbp panels")
    panels = _visible_figure(page).screenshot()
    text_after = page.inner_text("body")
    assert _not_flat(panels) and "whole-volume measures" not in text_after, "the figure tab did not replace the tables"
    no_console_errors(errors)


def test_heatmap_loss_app(paper_pages, no_console_errors):
    page, errors = paper_pages["heatmap-loss"]
    page.wait_for_selector(".lm-TabBar-tab", timeout=LOAD_MS)
    text = page.inner_text("body")
    assert "thesis" in text and "mann_whitney_u" in text and "cohens_d" in text
    assert page.locator(".widget-image:visible").count() == 0
    _open_tab(page, "figures")
    figure = _visible_figure(page).screenshot()
    assert _not_flat(figure)
    no_console_errors(errors)


def test_covid_interp_app_embeddings(paper_pages, no_console_errors, poll_until):
    page, errors = paper_pages["covid-interp"]
    page.wait_for_selector(".lm-TabBar-tab", timeout=LOAD_MS)
    text = page.inner_text("body")
    assert "Ours beside the paper" in text and "94.75" in text and "Table 1" in text
    _open_tab(page, "embeddings")
    viewers = page.locator(".mi-embedding-viewer")
    canvases = [viewers.nth(k).locator("canvas").first for k in range(2)]  # LBP, AlexNet features
    for canvas in canvases:
        canvas.wait_for(timeout=20_000)
    page.wait_for_timeout(1000)
    before = [canvas.screenshot() for canvas in canvases]
    viewers.first.locator("select").select_option(label="t-SNE")
    changed = poll_until(page, lambda: all(c.screenshot() != b for c, b in zip(canvases, before)), 15)
    titles = page.inner_text(".mi-embedding-viewer >> nth=1")
    page.mouse.move(*page.evaluate(FIRST_THUMBNAIL_POINT_JS))
    thumbnail = page.locator(".bk-Tooltip img")
    thumbnail.first.wait_for(timeout=5_000)  # the hovered image, as a PNG data URI
    assert all(_not_flat(png) for png in before)
    assert changed, "the embedding method dropdown did not redraw both feature sets"
    assert "AlexNet" in titles and thumbnail.first.get_attribute("src").startswith("data:image/png")
    no_console_errors(errors)
