"""Start Voila on localhost serving the folder of app notebooks (several apps, one server).

Voila started on a single notebook answers 403 for every other path, so it is started on the
folder (``--Voila.root_dir``) and an app lives at ``/voila/render/NAME.ipynb``. The kernel finds
this package through PYTHONPATH (works from a source checkout) and the data root through
``$MEDINTERP_DATA``.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from medinterp_widgets.resources import DATA_ENV, MODEL_ENV, REPORTS_ENV, project_dir

_PACKAGE_PARENT = Path(__file__).resolve().parents[2]


def apps_dir() -> Path:
    """The shipped ``notebooks/apps`` folder."""
    return project_dir("notebooks") / "apps"


def free_port() -> int:
    """A TCP port that is free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def notebook_name(app: str) -> str:
    """The entry notebook of an app: ``lv-gap-cam`` -> ``lv_gap_cam.ipynb``."""
    return f"{app.replace('-', '_')}.ipynb"


def app_url(port: int, name: str = "workbench") -> str:
    return f"http://127.0.0.1:{port}/voila/render/{notebook_name(name)}"


def voila_command(root_dir: str | os.PathLike, port: int) -> list[str]:
    return [sys.executable, "-m", "voila", "--no-browser", "--Voila.ip=127.0.0.1", f"--port={port}",
            f"--Voila.root_dir={Path(root_dir).resolve()}", "--VoilaConfiguration.show_tracebacks=True"]


def voila_env(data_root: str | os.PathLike | None = None,
              reports: str | os.PathLike | None = None, model: str | os.PathLike | None = None) -> dict[str, str]:
    """The environment for Voila and its kernels: this package importable, the data and reports roots and the
    workbench's model file if given."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(_PACKAGE_PARENT), env.get("PYTHONPATH", "")]))
    if data_root is not None:
        env[DATA_ENV] = str(Path(data_root).resolve())
    if reports is not None:
        env[REPORTS_ENV] = str(Path(reports).resolve())
    if model is not None:
        env[MODEL_ENV] = str(Path(model).resolve())
    return env


def start_voila(root_dir: str | os.PathLike, port: int, data_root: str | os.PathLike | None = None,
                log_path: str | os.PathLike | None = None,
                reports: str | os.PathLike | None = None, model: str | os.PathLike | None = None) -> subprocess.Popen:
    """Start Voila as a child process (stop it with ``stop_voila``); its output goes to ``log_path``."""
    log = open(log_path, "wb") if log_path else subprocess.DEVNULL
    try:
        return subprocess.Popen(voila_command(root_dir, port), env=voila_env(data_root, reports, model), stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
    finally:
        if log_path:
            log.close()


def wait_until_serving(port: int, process: subprocess.Popen, timeout_s: float = 60.0,
                       path: str = "/voila/tree") -> None:
    """Block until the server (Voila; JupyterLab with ``path="/api/status"``) answers ``path`` on ``port``;
    raises RuntimeError if it exits or times out."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"voila exited with code {process.returncode} before serving")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2).close()
            return
        except (urllib.error.URLError, OSError):
            time.sleep(0.3)
    raise RuntimeError(f"voila did not answer on port {port} within {timeout_s:.0f} s")


def stop_voila(process: subprocess.Popen, timeout_s: float = 10.0) -> None:
    """Terminate Voila and its kernels (its own process group), killing them if they linger."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, 15)
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, 9)
        process.wait(timeout=timeout_s)
    except ProcessLookupError:
        pass


# -- headless Chromium (tests and the viewer benchmark) -------------------------------------------------
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
KNOWN_OFFLINE_ERRORS = ("ERR_NAME_NOT_RESOLVED", "ERR_INTERNET_DISCONNECTED", "font-awesome", "fontawesome")


def chromium_available() -> bool:
    """True when Debian's Chromium and the playwright package are both installed."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return False
    return Path(CHROMIUM).is_file()


def launch_chromium(playwright):
    """Headless Chromium from the system package (no `playwright install` needed)."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


def is_known_offline_error(text: str) -> bool:
    """Console errors expected offline (Font Awesome from a CDN) that do not matter."""
    return any(marker.lower() in text.lower() for marker in KNOWN_OFFLINE_ERRORS)
