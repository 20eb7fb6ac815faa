"""The workbench in Voila, driven by headless Chromium, for what a class sees: cine plays at the chosen
frame rate (measured on the canvas) and Stop keeps the frame; the label legend is on the page; the demo
model trains with a progress bar, its classes are named in the target picker and its attribution view
shows the slice under the map (not one flat colour, which is what a view built from a stale bokeh
document looked like)."""

from __future__ import annotations

import re

import pytest

from medinterp_widgets.apps import voila_server

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not voila_server.chromium_available(), reason="needs /usr/bin/chromium and playwright"),
]

# Count how often the image canvas of the first slice browser changes its pixels during ``ms`` (bokeh draws
# into canvases inside shadow roots; a sparse sample of pixels is hashed at every animation frame).
COUNT_CHANGES_JS = """
async (ms) => {
  const canvases = [];
  const walk = (node) => {
    if (node.shadowRoot) walk(node.shadowRoot);
    for (const child of node.children || []) { if (child.tagName === 'CANVAS') canvases.push(child); walk(child); }
  };
  walk(document.querySelector('.mi-slice-browser'));
  const canvas = canvases.sort((a, b) => b.width * b.height - a.width * a.height)[0];
  const context = canvas.getContext('2d');
  const hash = () => {
    const data = context.getImageData(0, 0, canvas.width, canvas.height).data;
    let h = 0;
    for (let i = 0; i < data.length; i += 97) h = (h * 31 + data[i]) | 0;
    return h;
  };
  let last = hash(), changes = 0;
  const started = performance.now();
  while (performance.now() - started < ms) {
    await new Promise((resolve) => requestAnimationFrame(resolve));
    const now = hash();
    if (now !== last) { changes += 1; last = now; }
  }
  return changes;
}
"""


def _frame_readout(page) -> int:
    return int(page.locator(".mi-frame-slider .widget-readout").first.inner_text())


def test_cine_plays_at_the_chosen_rate_and_stop_keeps_the_frame(app_url, browser_page, no_console_errors, poll_until):
    with browser_page(app_url("workbench"), 1200, 1200) as (page, errors):  # opens on the synthetic cine LV
        page.wait_for_selector(".mi-slice-browser canvas", timeout=45_000)
        page.wait_for_timeout(1000)
        fps = page.locator(".mi-fps input").first
        fps.fill("8")
        fps.press("Enter")
        page.get_by_role("button", name="▶ play").first.click()
        page.wait_for_timeout(1500)  # the frames arrive, the timer starts
        changes = page.evaluate(COUNT_CHANGES_JS, 4000)
        page.get_by_role("button", name="■ stop").first.click()
        assert poll_until(page, lambda: _frame_readout(page) != 0, 10) or _frame_readout(page) == 0
        page.wait_for_timeout(1500)  # the kernel has followed the browser's frame
        shown = page.locator(".mi-slice-browser canvas").first.screenshot()
        frame = _frame_readout(page)
        page.wait_for_timeout(1500)
        still = page.locator(".mi-slice-browser canvas").first.screenshot()
        label = page.evaluate("Object.values(window.__medinterp_cine)[0].k")
    rate = changes / 4.0
    print(f"cine: {rate:.1f} frames/s drawn at 8 frames/s chosen")
    assert 8 * 0.7 <= rate <= 8 * 1.15, f"played {rate:.1f} frames/s at 8 frames/s chosen"
    assert frame == label, f"the slider says frame {frame}, the browser stopped on {label}"
    assert shown == still, "the picture changed after Stop"
    no_console_errors(errors)


def test_legend_and_demo_model_progress(app_url, browser_page, no_console_errors, poll_until):
    import cv2
    import numpy as np

    with browser_page(app_url("workbench"), 1300, 2000) as (page, errors):
        page.wait_for_selector(".mi-slice-browser canvas", timeout=45_000)
        legend = page.locator(".mi-legend").first.inner_text()
        assert "LV cavity" in legend and "myocardium" in legend
        page.get_by_role("button", name="train a demo model").click()
        progress = page.locator(".mi-demo-progress")
        assert poll_until(page, lambda: progress.is_visible() and
                          re.search(r"step \d+/150", progress.inner_text() or "") is not None, 60)
        canvas = page.locator(".mi-attribution-viewer .mi-slice-browser canvas").first
        canvas.wait_for(timeout=480_000)  # a hang guard: ~30 s on 2 quiet cores, minutes on a loaded machine
        page.wait_for_timeout(1500)
        status = page.locator(".mi-attribution-status").inner_text()
        png = np.frombuffer(canvas.screenshot(), np.uint8)
        target = page.locator(".mi-attribution-viewer select").nth(2).inner_text().replace("\xa0", " ")
    assert "demo GapFCN (150 steps" in status
    assert "LV cavity" in target  # class names in the target picker
    pixels = cv2.imdecode(png, cv2.IMREAD_GRAYSCALE)
    rows, cols = pixels.shape
    middle = pixels[rows * 3 // 10: rows * 7 // 10, cols * 3 // 10: cols * 7 // 10]  # inside the image frame
    assert middle.std() > 20, "the attribution view is one flat colour"
    no_console_errors(errors)
