"""The training app in Voila, driven by headless Chromium: Start trains a tiny model in the kernel's
background thread, the curves gain points (canvas pixels change), the run ends with its best
checkpoint shown, and there are no console errors (beyond the known offline CDN misses)."""

import re
import time

import pytest

from medinterp_widgets.apps import voila_server

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not voila_server.chromium_available(), reason="needs /usr/bin/chromium and playwright"),
]

CURVES = ".mi-training-monitor canvas"
ENDED = re.compile(r"run (completed|stopped|error)")


@pytest.fixture
def training_url(tmp_path, monkeypatch):
    monkeypatch.delenv("MEDINTERP_DATA", raising=False)
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # the app's run folders land in the test's tmp folder
    port = voila_server.free_port()
    process = voila_server.start_voila(voila_server.apps_dir(), port, log_path=tmp_path / "voila.log")
    try:
        voila_server.wait_until_serving(port, process, timeout_s=40)
        yield voila_server.app_url(port, "training")
    finally:
        voila_server.stop_voila(process)


def _message(page) -> str:
    return page.locator(".mi-training-message").inner_text()


def test_training_app_streams_curves_while_training(training_url, tmp_path):
    from playwright.sync_api import sync_playwright

    errors = []
    with sync_playwright() as playwright:
        browser = voila_server.launch_chromium(playwright)
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 1300})
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(training_url, timeout=60_000)
            page.wait_for_selector(".mi-training-start", timeout=60_000)
            page.locator(".mi-training-start").click()
            page.wait_for_selector(CURVES, timeout=60_000)
            page.wait_for_timeout(300)
            first = page.locator(CURVES).first.screenshot()
            deadline = time.monotonic() + 90
            while not ENDED.search(_message(page)) and time.monotonic() < deadline:
                page.wait_for_timeout(250)
            page.wait_for_timeout(1000)  # let BokehJS paint the last points
            last = page.locator(CURVES).first.screenshot()
            status = page.locator(".mi-monitor-status").inner_text()
            message = _message(page)
            page.screenshot(path=str(tmp_path / "training.png"), full_page=True)
        finally:
            browser.close()
    assert "run completed" in message and "best.pt" in message, message
    assert "step 18/18" in status, status
    assert first != last, "the loss curve did not change while training"
    real_errors = [e for e in errors if not voila_server.is_known_offline_error(e)]
    assert not real_errors, real_errors
