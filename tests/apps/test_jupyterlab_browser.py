"""The README's notebook examples in a real JupyterLab, driven by headless Chromium (issue #17, finding 0):
a notebook with no setup cell displays a SliceBrowser, an AttributionViewer and a TrainingMonitor; each
renders (a canvas that is not one flat colour), the slice browser's picture changes on a slice step,
the monitor's curves change while it trains (then Stop ends the run), and the page logs no error (beyond
the known offline CDN
misses). Before every widget loaded BokehJS itself, the image panels were "Click to show javascript
error" boxes ("Could not create a view for model id ...")."""

from __future__ import annotations

import subprocess
import sys

import nbformat
import pytest

from medinterp_widgets.apps import voila_server

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not voila_server.chromium_available(), reason="needs /usr/bin/chromium and playwright"),
]

CELLS = [
    # the data, as a user would have it
    "from medinterp_widgets.data.synthetic import synthetic_cine_lv\n"
    "volume, labels = synthetic_cine_lv(n_phases=4, n_slices=4, size=64)",
    # README: slice browser
    "from medinterp_widgets.widgets.slice_browser import SliceBrowser, link_browsers\n"
    "SliceBrowser(volume, masks=labels)",
    # README: attribution viewer (a small untrained GapFCN on one slice)
    "import torch\n"
    "from medinterp_widgets.models import GapFCN\n"
    "from medinterp_widgets.widgets.attribution_viewer import AttributionViewer\n"
    "torch.manual_seed(0)\n"
    "model = GapFCN(n_classes=4, base_channels=4, depth=2, convs_per_stage=1, max_channels=8).eval()\n"
    "x = torch.from_numpy(volume.array[0, 2:3].astype('float32') / 1000)[None]\n"
    "AttributionViewer(model, x, masks=labels[0, 2], methods=('gradcam', 'saliency'))",
    # README: training monitor with your own Trainer
    "from torch.utils.data import TensorDataset\n"
    "from medinterp_widgets.training import TrainConfig, Trainer\n"
    "from medinterp_widgets.widgets.training_monitor import TrainingMonitor\n"
    "data = TensorDataset(torch.rand(8, 1, 32, 32), torch.randint(0, 2, (8, 32, 32)))\n"
    "net = GapFCN(n_classes=2, base_channels=2, depth=1, convs_per_stage=1, max_channels=4)\n"
    "trainer = Trainer(net, data, None, TrainConfig(epochs=100000, batch_size=4, progress=False,\n"
    "                                               save_checkpoints=False, device='cpu'))\n"
    "monitor = TrainingMonitor(trainer)\n"
    "monitor",
    "monitor.start()",
]

# (standard deviation of the largest canvas, hash of all canvases) of the pixels under ``selector`` (bokeh
# draws into canvases inside shadow roots; every 7th pixel is read); [-1, 0] while there is none.
CANVAS_STATS_JS = """
(selector) => {
  const canvases = [];
  const walk = (node) => {
    if (node.shadowRoot) walk(node.shadowRoot);
    for (const child of node.children || []) { if (child.tagName === 'CANVAS') canvases.push(child); walk(child); }
  };
  const root = document.querySelector(selector);
  if (!root) return [-1, 0];
  walk(root);
  const drawn = canvases.filter((c) => c.width > 0 && c.height > 0);
  if (!drawn.length) return [-1, 0];
  const largest = drawn.reduce((a, b) => (b.width * b.height > a.width * a.height ? b : a));
  let h = 0, std = 0;
  for (const canvas of drawn) {
    const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    let sum = 0, sq = 0, n = 0;
    for (let i = 0; i < data.length; i += 4 * 7) {
      const v = data[i] + data[i + 1] + data[i + 2];
      sum += v; sq += v * v; n += 1; h = (h * 31 + v) | 0;
    }
    if (canvas === largest) std = Math.sqrt(Math.max(sq / n - (sum / n) ** 2, 0));
  }
  return [std, h];
}
"""
BROWSER, VIEWER, MONITOR = (".jp-OutputArea .mi-slice-browser", ".jp-OutputArea .mi-attribution-viewer",
                            ".jp-OutputArea .mi-training-monitor")


@pytest.fixture
def lab_url(tmp_path):
    """JupyterLab on a free localhost port (no token, app exposed to the page), serving a notebook made of
    CELLS; yields the notebook's URL."""
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in CELLS])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, tmp_path / "readme.ipynb")
    port = voila_server.free_port()
    env = voila_server.voila_env()
    for name in ("JUPYTER_CONFIG_DIR", "JUPYTER_RUNTIME_DIR", "JUPYTERLAB_WORKSPACES_DIR", "JUPYTERLAB_SETTINGS_DIR"):
        env[name] = str(tmp_path / name.lower())
    command = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1",
               f"--ServerApp.port={port}",
               "--IdentityProvider.token=", "--ServerApp.password=", f"--ServerApp.root_dir={tmp_path}",
               "--LabApp.expose_app_in_browser=True", "--LabApp.news_url=None", "--allow-root",
               "--LabApp.extension_manager=readonly", "--LabApp.check_for_updates_class="
               "jupyterlab.NeverCheckForUpdate"]
    with open(tmp_path / "lab.log", "wb") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        voila_server.wait_until_serving(port, process, timeout_s=90, path="/api/status")
        yield f"http://127.0.0.1:{port}/lab/tree/readme.ipynb"
    finally:
        voila_server.stop_voila(process)


def test_readme_notebook_renders_and_updates_in_jupyterlab(lab_url, browser_page, no_console_errors, poll_until,
                                                           tmp_path):
    with browser_page(lab_url, 1400, 3000, timeout_ms=120_000) as (page, errors):
        page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell.currentWidget"
                               " && window.jupyterapp.shell.currentWidget.sessionContext"
                               " && window.jupyterapp.shell.currentWidget.sessionContext.session"
                               " && window.jupyterapp.shell.currentWidget.sessionContext.session.kernel",
                               timeout=120_000)
        page.wait_for_function("() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel"
                               ".connectionStatus === 'connected'", timeout=120_000)
        page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
        stats = lambda selector: page.evaluate(CANVAS_STATS_JS, selector)  # noqa: E731
        for selector in (BROWSER, VIEWER, MONITOR):
            page.locator(f"{selector} canvas").first.wait_for(state="attached", timeout=240_000)
        rendered = {s: poll_until(page, lambda s=s: stats(s)[0] > 5, 60) for s in (BROWSER, VIEWER, MONITOR)}
        first = stats(MONITOR)[1]
        curves_moved = poll_until(page, lambda: stats(MONITOR)[1] != first, 120)
        page.locator(f"{MONITOR} .mi-monitor-stop").first.dispatch_event("click")  # README: Stop ends the run
        status = page.locator(f"{MONITOR} .mi-monitor-status").first
        stopped = poll_until(page, lambda: "run stopped" in status.inner_text(), 60)
        before = stats(BROWSER)[1]
        page.locator(f"{BROWSER} .mi-slice-slider .noUi-handle").first.focus()
        page.keyboard.press("ArrowRight")
        stepped = poll_until(page, lambda: stats(BROWSER)[1] != before, 30)
        page.screenshot(path=str(tmp_path / "jupyterlab.png"), full_page=True)
        javascript_errors = page.locator("text=Click to show javascript error").count()
    assert javascript_errors == 0, "a widget shows 'Click to show javascript error'"
    assert all(rendered.values()), f"a canvas is one flat colour: {rendered}"
    assert curves_moved, "the training monitor's curves did not change while it trained"
    assert stopped, "Stop did not end the run"
    assert stepped, "the slice browser's picture did not change after a slice step"
    no_console_errors(errors)
