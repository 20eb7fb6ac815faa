"""Browser-test fixtures: Voila on a free localhost port serving notebooks/apps, and a Chromium page."""

from __future__ import annotations

import contextlib
import time

import pytest

from medinterp_widgets.apps import voila_server


@pytest.fixture
def app_url(tmp_path, monkeypatch):
    """Factory: ``app_url("workbench")`` starts Voila (no real data, runs in tmp) and returns the app's URL;
    ``model=FILE``: the workbench opens onto that model file (as ``medinterp app workbench --model FILE``)."""
    monkeypatch.delenv("MEDINTERP_DATA", raising=False)
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # apps that train write their run folders here
    processes = []

    def start(name: str, model=None) -> str:
        port = voila_server.free_port()
        process = voila_server.start_voila(voila_server.apps_dir(), port, log_path=tmp_path / f"voila-{name}.log",
                                           model=model)
        processes.append(process)
        voila_server.wait_until_serving(port, process, timeout_s=40)
        return voila_server.app_url(port, name)

    yield start
    for process in processes:
        voila_server.stop_voila(process)


def watch_console(page, errors: list[str]) -> None:
    """Collect the page's console errors and uncaught exceptions into ``errors``."""
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))


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
                watch_console(page, errors)
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


@pytest.fixture(scope="session")
def paper_reports(tmp_path_factory):
    """A reports root holding each paper pipeline's smoke report (synthetic data), written once per session."""
    import importlib

    from medinterp_widgets.pipelines import PIPELINES

    root = _paper_reports_root(tmp_path_factory)
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("MEDINTERP_DATA", raising=False)
        for name, module_name in PIPELINES.items():
            pipeline = importlib.import_module(module_name)
            pipeline.run(pipeline.Config.from_preset("smoke")).write(root / name)
    return root


def _paper_reports_root(tmp_path_factory):
    return tmp_path_factory.getbasetemp() / "paper-reports"


@pytest.fixture(scope="module")
def paper_app_url(request, tmp_path_factory):
    """``paper_app_url("lv-gap-cam")``: the app's URL on one Voila server (per test module) whose paper apps
    open the smoke reports of ``paper_reports`` (Voila starts while the pipelines run)."""
    logs = tmp_path_factory.mktemp("voila")
    port = voila_server.free_port()
    process = voila_server.start_voila(voila_server.apps_dir(), port, log_path=logs / "voila.log",
                                       reports=_paper_reports_root(tmp_path_factory))
    try:
        request.getfixturevalue("paper_reports")
        voila_server.wait_until_serving(port, process, timeout_s=40)
        yield lambda name: voila_server.app_url(port, name)
    finally:
        voila_server.stop_voila(process)


@pytest.fixture(scope="module")
def paper_pages(paper_app_url):
    """The four paper apps opened at once in one headless Chromium, so their kernels start together:
    ``paper_pages[name] -> (page, errors)``; each test waits for its own page to render."""
    from playwright.sync_api import sync_playwright

    from medinterp_widgets.pipelines import PIPELINES

    with sync_playwright() as playwright:
        browser = voila_server.launch_chromium(playwright)
        try:
            pages = {}
            for name in PIPELINES:
                page = browser.new_page(viewport={"width": 1300, "height": 1300})
                errors: list[str] = []
                watch_console(page, errors)
                page.goto(paper_app_url(name), wait_until="commit", timeout=60_000)  # do not wait for the kernel
                pages[name] = (page, errors)
            yield pages
        finally:
            browser.close()
