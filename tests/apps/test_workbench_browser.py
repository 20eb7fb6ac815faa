"""The workbench in Voila, driven by headless Chromium: it renders, and moving the slice slider
changes the canvas pixels, with no console errors (beyond the known offline CDN misses)."""


import pytest

from medinterp_widgets.apps import voila_server

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not voila_server.chromium_available(), reason="needs /usr/bin/chromium and playwright"),
]


def _canvas_png(page) -> bytes:
    return page.locator(".mi-slice-browser canvas").first.screenshot()


def test_workbench_renders_and_slice_slider_changes_pixels(app_url, browser_page, no_console_errors, poll_until,
                                                           tmp_path):
    with browser_page(app_url("workbench"), 1200, 1000) as (page, errors):
        page.wait_for_selector(".mi-slice-browser canvas", timeout=45_000)
        page.wait_for_timeout(1000)  # let BokehJS paint
        before = _canvas_png(page)
        page.screenshot(path=str(tmp_path / "before.png"))
        page.locator(".mi-slice-slider .noUi-handle").first.focus()
        page.keyboard.press("ArrowRight")
        poll_until(page, lambda: _canvas_png(page) != before, 10)
        after = _canvas_png(page)
        page.screenshot(path=str(tmp_path / "after.png"))
    assert after != before, "the canvas did not change after a slice step"
    no_console_errors(errors)


def test_demo_model_attribution_panel_renders(app_url, browser_page, no_console_errors):
    """Train the demo model from the page: the attribution view shows the slice under the map (not one flat
    colour, which is what a view built from a stale bokeh document looked like) and no console errors."""
    import cv2
    import numpy as np

    with browser_page(app_url("workbench"), 1300, 1800) as (page, errors):
        page.wait_for_selector(".mi-slice-browser canvas", timeout=45_000)
        page.get_by_role("button", name="train a demo model").click()
        canvas = page.locator(".mi-attribution-viewer .mi-slice-browser canvas").first
        canvas.wait_for(timeout=180_000)
        page.wait_for_timeout(1500)
        png = np.frombuffer(canvas.screenshot(), np.uint8)
    pixels = cv2.imdecode(png, cv2.IMREAD_GRAYSCALE)
    rows, cols = pixels.shape
    middle = pixels[rows * 3 // 10: rows * 7 // 10, cols * 3 // 10: cols * 7 // 10]  # inside the image frame
    assert middle.std() > 20, "the attribution view is one flat colour"
    no_console_errors(errors)
