"""Browser-test fixtures: Voila on a free localhost port serving notebooks/apps, and a Chromium page."""

from __future__ import annotations

import contextlib
import time

import pytest

from medinterp_widgets.apps import voila_server


@pytest.fixture
def app_url(tmp_path, monkeypatch):
    """Factory: ``app_url("workbench")`` starts Voila (no real data, runs in tmp) and returns the app's URL."""
    monkeypatch.delenv("MEDINTERP_DATA", raising=False)
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # apps that train write their run folders here
    processes = []

    def start(name: str) -> str:
        port = voila_server.free_port()
        process = voila_server.start_voila(voila_server.apps_dir(), port, log_path=tmp_path / f"voila-{name}.log")
        processes.append(process)
        voila_server.wait_until_serving(port, process, timeout_s=40)
        return voila_server.app_url(port, name)

    yield start
    for process in processes:
        voila_server.stop_voila(process)


@pytest.fixture
def browser_page():
    """Factory: ``with browser_page(url, width, height) as (page, errors):`` a headless Chromium page
    at ``url``; ``errors`` collects console errors and page exceptions."""

    @contextlib.contextmanager
    def open_page(url: str, width: int = 1200, height: int = 1000, timeout_ms: int = 60_000):
        from playwright.sync_api import sync_playwright

        errors: list[str] = []
        with sync_playwright() as playwright:
            browser = voila_server.launch_chromium(playwright)
            try:
                page = browser.new_page(viewport={"width": width, "height": height})
                page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
                page.on("pageerror", lambda exc: errors.append(str(exc)))
                page.goto(url, timeout=timeout_ms)
                yield page, errors
            finally:
                browser.close()

    return open_page


def real_errors(errors: list[str]) -> list[str]:
    return [e for e in errors if not voila_server.is_known_offline_error(e)]


@pytest.fixture
def no_console_errors():
    """``no_console_errors(errors)`` asserts nothing but the known offline CDN misses was logged."""

    def check(errors: list[str]) -> None:
        found = real_errors(errors)
        assert not found, found

    return check


@pytest.fixture
def poll_until():
    """``poll_until(page, condition, timeout_s)``: True as soon as ``condition()`` holds, False at the deadline."""

    def poll(page, condition, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if condition():
                return True
            page.wait_for_timeout(200)
        return False

    return poll
