"""The faithfulness scores in a real page: Voila renders an AttributionViewer (in a kernel, so the scores
run in the background), headless Chromium shows the score tables beside the map and under the grid
map, the failing method's ✗ in the method list, and the deletion / insertion curve after a click."""

from __future__ import annotations

import re

import nbformat
import pytest

from medinterp_widgets.apps import voila_server

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not voila_server.chromium_available(), reason="needs /usr/bin/chromium and playwright"),
]

NOTEBOOK = '''
import numpy as np
import torch
from torch import nn

from medinterp_widgets.widgets.attribution_viewer import AttributionViewer
from medinterp_widgets.widgets.bokeh_setup import load_bokehjs


class Energy(nn.Module):  # logits [0, 20 mean (conv x)^2 - 1]: gradient maps follow the input, whatever the weights
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv2d(1, 2, 3, padding=1)

    def forward(self, x):
        energy = (self.conv(x) ** 2).flatten(1).mean(1, keepdim=True)
        return torch.cat([torch.zeros_like(energy), 20 * energy - 1], 1)


load_bokehjs()
x = torch.randn(1, 1, 32, 32, generator=torch.Generator().manual_seed(0)) * 0.1
x[..., 8:20, 10:22] += 1.0
masks = np.zeros((32, 32), np.int64)
masks[8:20, 10:22] = 1
viewer = AttributionViewer(Energy().eval(), x, masks=masks, methods=("gradcam", "saliency"), target=1)
viewer.compare = ["saliency"]
viewer
'''


@pytest.fixture
def viewer_page(tmp_path):
    """The notebook above served by Voila from a temporary folder."""
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(NOTEBOOK)])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, tmp_path / "faithfulness.ipynb")
    port = voila_server.free_port()
    process = voila_server.start_voila(tmp_path, port, log_path=tmp_path / "voila.log")
    try:
        voila_server.wait_until_serving(port, process, timeout_s=60)
        yield f"http://127.0.0.1:{port}/voila/render/faithfulness.ipynb"
    finally:
        voila_server.stop_voila(process)


def test_scores_curve_and_flag_show_in_the_page(viewer_page, tmp_path):
    from playwright.sync_api import sync_playwright

    errors: list[str] = []
    with sync_playwright() as playwright:
        browser = voila_server.launch_chromium(playwright)
        try:
            page = browser.new_page(viewport={"width": 1300, "height": 1100})
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(viewer_page, timeout=120_000)
            tables = page.locator(".mi-faith-table")
            tables.nth(1).wait_for(timeout=180_000)  # the main map's and the grid map's
            texts = [tables.nth(i).inner_text() for i in range(tables.count())]
            page.wait_for_function("() => [...document.querySelectorAll('select option')]"
                                   ".some(o => o.textContent.includes('✗'))", timeout=60_000)
            options = page.locator("select option").all_text_contents()
            page.get_by_role("button", name="deletion / insertion curve").first.click()
            page.locator(".mi-faith-card canvas").first.wait_for(timeout=60_000)
            page.wait_for_timeout(1000)
            page.screenshot(path=str(tmp_path / "faithfulness.png"), full_page=True)
        finally:
            browser.close()
    assert len(texts) == 2
    for text in texts:
        assert "deletion AUC" in text and "insertion AUC" in text and "ROAD" in text and "pointing game" in text
        assert re.search(r"deletion AUC\D*\d\.\d{3}", text), text
    assert "FAIL" in texts[1]  # saliency of this model ranks pixels by the input, whatever its weights
    assert any(option.startswith("saliency") and "✗" in option for option in options), options
    assert not [e for e in errors if not voila_server.is_known_offline_error(e)], errors
