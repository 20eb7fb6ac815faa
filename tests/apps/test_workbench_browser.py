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

# The demo model trained from the page: tests/apps/test_teaching_browser.py
