"""The training app in Voila, driven by headless Chromium: Start trains a tiny model in the kernel's
background thread, the curves gain points while it runs (canvas pixels change before the run ends),
the monitor's Stop button ends the run, and there are no console errors (beyond the known offline
CDN misses)."""

import re

import pytest

from medinterp_widgets.apps import voila_server

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not voila_server.chromium_available(), reason="needs /usr/bin/chromium and playwright"),
]

CURVES = ".mi-training-monitor canvas"
ENDED = re.compile(r"run (completed|stopped|error)")


def _message(page) -> str:
    return page.locator(".mi-training-message").inner_text()


def test_training_app_streams_curves_while_training_and_stops(app_url, browser_page, no_console_errors, poll_until,
                                                              tmp_path):
    with browser_page(app_url("training"), 1100, 1300) as (page, errors):
        page.wait_for_selector(".mi-training-start", timeout=60_000)
        page.locator(".mi-training-epochs input").fill("100")
        page.locator(".mi-training-epochs input").press("Enter")
        page.locator(".mi-training-start").click()
        page.wait_for_selector(CURVES, timeout=60_000)
        page.wait_for_timeout(300)
        first = page.locator(CURVES).first.screenshot()
        changed = poll_until(page, lambda: page.locator(CURVES).first.screenshot() != first, 60)
        live_status = page.locator(".mi-monitor-status").inner_text()
        still_running = not ENDED.search(_message(page))
        page.screenshot(path=str(tmp_path / "running.png"), full_page=True)
        page.locator(".mi-monitor-stop").click()
        ended = poll_until(page, lambda: bool(ENDED.search(_message(page))), 60)
        message = _message(page)
        page.wait_for_timeout(500)
        page.screenshot(path=str(tmp_path / "stopped.png"), full_page=True)
    assert changed and still_running, "the curves did not change while the run was going"
    assert re.search(r"epoch \d+/100 · step \d+/600", live_status), live_status
    assert ended and "run stopped" in message, message
    no_console_errors(errors)
