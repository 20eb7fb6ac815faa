"""The training app in Voila, driven by headless Chromium: Start trains a tiny model in the kernel's
background thread, the curves gain points while it runs (canvas pixels change before the run ends),
the monitor's Stop button ends the run, and there are no console errors (beyond the known offline
CDN misses)."""

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


def _wait(page, condition, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        page.wait_for_timeout(200)
    return False


def test_training_app_streams_curves_while_training_and_stops(training_url, tmp_path):
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
            page.locator(".mi-training-epochs input").fill("100")
            page.locator(".mi-training-epochs input").press("Enter")
            page.locator(".mi-training-start").click()
            page.wait_for_selector(CURVES, timeout=60_000)
            page.wait_for_timeout(300)
            first = page.locator(CURVES).first.screenshot()
            changed = _wait(page, lambda: page.locator(CURVES).first.screenshot() != first, 60)
            live_status = page.locator(".mi-monitor-status").inner_text()
            still_running = not ENDED.search(_message(page))
            page.screenshot(path=str(tmp_path / "running.png"), full_page=True)
            page.locator(".mi-monitor-stop").click()
            ended = _wait(page, lambda: bool(ENDED.search(_message(page))), 60)
            message = _message(page)
            page.wait_for_timeout(500)
            page.screenshot(path=str(tmp_path / "stopped.png"), full_page=True)
        finally:
            browser.close()
    assert changed and still_running, "the curves did not change while the run was going"
    assert re.search(r"epoch \d+/100 · step \d+/600", live_status), live_status
    assert ended and "run stopped" in message, message
    real_errors = [e for e in errors if not voila_server.is_known_offline_error(e)]
    assert not real_errors, real_errors
