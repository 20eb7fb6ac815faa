"""`medinterp bench viewer [--json] [--no-browser]`: what a slice step and a window change cost.

Kernel side, on a 512x512 int16 volume with a label mask and a heatmap: milliseconds per slice
step (the whole path: read slice, uint8 overlays, bokeh patch, jupyter_bokeh's serialisation) and
the bytes that step sends (JSON + binary buffers, counted with bokeh's own protocol), against a
same-run baseline: one bare PATCH-DOC message carrying only the raw slice. Browser side (when
Chromium is present): Voila serves the same browser, and the time from a key press on the slice
slider to changed canvas pixels is measured in headless Chromium (median over steps), inside the
page: from the keydown event's timestamp to the first animation frame whose canvas pixels differ
(automation round trips are not counted); a 32x32 browser in the same page gives the floor (key ->
kernel -> patch -> repaint). The bytes the page sends back per step are counted too (the slider
change only: a front end that echoed the patch would send the pixels back).
Targets: <= 30 ms kernel work per step; bytes per step <= raw slice + 1 byte/pixel per overlay
(+ a small JSON envelope); a window change sends no pixels; <= 150 ms median browser latency.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from medinterp_widgets.bench import viewer_stages
from medinterp_widgets.bench.timing import print_results

SIZE, N_SLICES = 512, 16
BASELINE_SIZE = 32  # browser baseline: the same round trip with a 32x32 slice (kernel + comm overhead)
TARGETS = {"kernel_ms_per_step": 30.0, "browser_ms_per_step": 150.0}
JSON_ENVELOPE_BYTES = 4096  # headers, ids and array descriptors of one patch message


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--steps", type=int, default=20, help="slice steps to time (default 20)")
    parser.add_argument("--no-browser", action="store_true", help="skip the headless-Chromium latency")
    parser.add_argument("--stages", action="store_true",
                        help="also time the browser stages of a step (instrumented page; a diagnostic)")


def bench_case(size: int = SIZE, n_slices: int = N_SLICES, seed: int = 0):
    """(Volume int16 (z, y, x), uint8 labels, float32 heatmap): smooth blobs so every slice differs."""
    from medinterp_widgets.data.volume import Volume

    rng = np.random.default_rng(seed)
    z, y, x = np.ogrid[:n_slices, :size, :size]
    radius = np.hypot(y - size / 2, x - size / 2)  # (size, size)
    image = (1000 * np.cos(radius / 40 + z) + rng.normal(0, 30, (n_slices, size, size))).astype(np.int16)
    labels = ((radius < 60 + 4 * z).astype(np.uint8) + (radius < 30 + 2 * z)).astype(np.uint8)
    heat = np.exp(-((y - size / 3 - 5 * z) ** 2 + (x - size / 2) ** 2) / (2 * 60.0 ** 2)).astype(np.float32)
    return Volume(image, spacing=(2.0, 0.7, 0.7)), labels, heat


def bench_browser(**kwargs):
    """The SliceBrowser the benchmark measures (also what the benchmark notebook displays)."""
    from medinterp_widgets.widgets.bokeh_setup import load_bokehjs
    from medinterp_widgets.widgets.slice_browser import SliceBrowser

    load_bokehjs()
    volume, labels, heat = bench_case(**kwargs)
    return SliceBrowser(volume, labels, heat, title="viewer benchmark")


def _median_ms(samples: list[float]) -> float:
    return round(1000 * statistics.median(samples), 2)


def _baseline_ms(raw: np.ndarray, repeats: int) -> float:
    """Cost of the smallest possible update: one PATCH-DOC message carrying the raw slice."""
    from bokeh.models import ColumnDataSource
    from bokeh.protocol import Protocol

    from medinterp_widgets.widgets.transport import record_patches

    source = ColumnDataSource({"image": [raw]})
    samples = []
    for i in range(repeats):
        start = time.perf_counter()
        with record_patches(source) as log:
            source.data.update(image=[raw + (i % 2)])
        for message in [Protocol().create("PATCH-DOC", log.events)]:
            [buffer.to_bytes() for buffer in message.buffers]
        samples.append(time.perf_counter() - start)
    return _median_ms(samples)


def measure_kernel(steps: int) -> dict:
    """Kernel ms and bytes per slice step and per window change, with the same-run baseline."""
    from medinterp_widgets.widgets.transport import record_patches

    browser = bench_browser()
    fig = browser.image.figure
    samples, step_bytes, pixel_bytes = [], [], []
    for _ in range(steps):
        with record_patches(fig) as log:
            start = time.perf_counter()
            browser.slice_index = (browser.slice_index + 1) % browser.slice_count
            samples.append(time.perf_counter() - start)
        step_bytes.append(log.total_bytes())
        pixel_bytes.append(log.buffer_bytes())
    with record_patches(fig) as log:
        start = time.perf_counter()
        browser.window_center, browser.window_width = 100.0, 500.0
        window_ms = (time.perf_counter() - start) * 1000
    raw = browser.image.source.data["image"][0]
    budget = raw.nbytes + 2 * raw.size  # raw slice + 1 byte/pixel for the mask and the heatmap
    kernel_ms = _median_ms(samples)
    baseline_ms = _baseline_ms(raw, steps)
    return {
        "slice_shape": list(raw.shape), "slice_dtype": str(raw.dtype),
        "kernel_ms_per_step": kernel_ms, "baseline_ms_raw_patch": baseline_ms,
        "ratio_step_to_baseline": round(kernel_ms / max(baseline_ms, 1e-6), 2),
        "bytes_per_step": int(statistics.median(step_bytes)),
        "pixel_bytes_per_step": int(statistics.median(pixel_bytes)),
        "pixel_byte_budget": budget, "window_change_ms": round(window_ms, 2),
        "window_change_bytes": log.total_bytes(), "window_change_pixel_bytes": log.buffer_bytes(),
    }


# In-page detector: arm on browser ``which``, then the next keydown on its slider starts the clock
# (the event's own timeStamp) and every animation frame after it hashes the canvas pixels (every 61st
# byte, canvas found once); the first frame whose pixels differ stops it. The result is a promise of
# the milliseconds (null after 5 s), awaited after the key press, so automation round trips are not counted.
_ARM_STEP_JS = """(which) => {
  const find = (root) => { for (const el of root.querySelectorAll('*')) {
      if (el.tagName === 'CANVAS') return el;
      if (el.shadowRoot) { const c = find(el.shadowRoot); if (c) return c; } } return null; };
  const browser = document.querySelectorAll('.mi-slice-browser')[which];
  const canvas = find(browser);
  const context = canvas.getContext('2d', {willReadFrequently: true});
  const hash = () => { const data = context.getImageData(0, 0, canvas.width, canvas.height).data;
      let h = 0; for (let i = 0; i < data.length; i += 61) h = (h * 31 + data[i]) | 0; return h; };
  const before = hash();
  const slider = browser.querySelector('.mi-slice-slider');
  window.__miStep = new Promise((resolve) => {
    const timer = setTimeout(() => resolve(null), 5000);
    slider.addEventListener('keydown', (event) => {
      const start = window.__miKey = event.timeStamp;
      const poll = () => { if (hash() !== before) { clearTimeout(timer); resolve(performance.now() - start); }
                           else requestAnimationFrame(poll); };
      requestAnimationFrame(poll);
    }, {once: true, capture: true});
  });
  return before; }"""


def _bench_notebook(folder: Path) -> None:
    import nbformat

    code = ("import ipywidgets\nfrom medinterp_widgets.bench.viewer import bench_browser\n\n"
            f"ipywidgets.VBox([bench_browser(), bench_browser(size={BASELINE_SIZE})])")
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, folder / "viewer_bench.ipynb")


def measure_browser(steps: int, stages: bool = False) -> dict:
    """Median ms from a slice-slider key press to changed canvas pixels, in Voila + headless Chromium;
    ``stages``: also the median browser stages of a step (``viewer_stages``)."""
    from playwright.sync_api import sync_playwright

    from medinterp_widgets.apps import voila_server

    with tempfile.TemporaryDirectory() as tmp:
        _bench_notebook(Path(tmp))
        port = voila_server.free_port()
        process = voila_server.start_voila(tmp, port, log_path=Path(tmp) / "voila.log")
        try:
            voila_server.wait_until_serving(port, process)
            with sync_playwright() as playwright:
                browser = voila_server.launch_chromium(playwright)
                try:
                    page = _open_page(browser, voila_server.app_url(port, "viewer_bench"), stages)
                    full, small = _latencies(page, 0, steps, stages), _latencies(page, 1, steps, stages)
                finally:
                    browser.close()
        finally:
            voila_server.stop_voila(process)
    return {"browser_ms_per_step": full[0], "browser_ms_max": full[1], "browser_missed_steps": full[2],
            "browser_bytes_to_kernel_per_step": full[3],
            f"browser_baseline_ms_{BASELINE_SIZE}px": small[0],
            "browser_ratio_to_baseline": round(full[0] / small[0], 2) if full[0] and small[0] else None,
            **({"browser_stages_ms": full[4], f"browser_stages_ms_{BASELINE_SIZE}px": small[4]} if stages else {})}


def _open_page(browser, url: str, stages: bool = False):
    page = browser.new_page(viewport={"width": 1200, "height": 1800})
    if stages:
        page.add_init_script(viewer_stages.INIT_JS)
    page.sent_bytes = []  # every WebSocket frame the page sends to the server (slider changes, bokeh events)
    page.on("websocket", lambda socket: socket.on("framesent", lambda payload: page.sent_bytes.append(len(payload))))
    page.goto(url, timeout=90_000)
    page.wait_for_function("document.querySelectorAll('.mi-slice-browser').length == 2", timeout=90_000)
    page.wait_for_selector(".mi-slice-browser canvas", timeout=90_000)
    page.wait_for_timeout(1500)
    if stages:
        page.evaluate(viewer_stages.HOOK_JS)
    return page


def _latencies(page, which: int, steps: int, stages: bool = False) -> tuple:
    """(median ms, max ms, missed steps, median bytes sent to the kernel, median stages or None) from a
    key press on browser ``which``'s slider to new pixels on its canvas (``_ARM_STEP_JS``)."""
    handle = page.locator(".mi-slice-slider .noUi-handle").nth(which)
    samples, missed, sent, per_step = [], 0, [], []
    for i in range(steps):
        key = "ArrowRight" if (i // 6) % 2 == 0 else "ArrowLeft"  # stay inside the 16 slices
        handle.focus()
        page.evaluate(_ARM_STEP_JS, which)
        if stages:
            page.evaluate("window.__miMarks = []")
        already_sent = len(page.sent_bytes)
        handle.press(key)
        elapsed_ms = page.evaluate("window.__miStep")
        sent.append(sum(page.sent_bytes[already_sent:]))
        if elapsed_ms is None:  # a step that never repaints counts as missed
            missed += 1
            continue
        samples.append(elapsed_ms / 1000)
        if stages:
            marks, key_ms = page.evaluate("[window.__miMarks, window.__miKey]")
            per_step.append(viewer_stages.step_stages(marks, key_ms, elapsed_ms))
    median_stages = viewer_stages.median_stages(per_step) if stages else None
    if not samples:
        return None, None, missed, int(statistics.median(sent)), median_stages
    return _median_ms(samples), round(1000 * max(samples), 1), missed, int(statistics.median(sent)), median_stages


def _verdicts(result: dict) -> dict:
    browser_ms = result.get("browser_ms_per_step")
    return {
        "kernel_ms_ok": result["kernel_ms_per_step"] <= TARGETS["kernel_ms_per_step"],
        "bytes_ok": result["pixel_bytes_per_step"] <= result["pixel_byte_budget"]
        and result["bytes_per_step"] <= result["pixel_byte_budget"] + JSON_ENVELOPE_BYTES,
        "window_sends_no_pixels": result["window_change_pixel_bytes"] == 0,
        "browser_ms_ok": None if browser_ms is None else browser_ms <= TARGETS["browser_ms_per_step"],
        "browser_sends_no_echo": None if browser_ms is None
        else result["browser_bytes_to_kernel_per_step"] <= JSON_ENVELOPE_BYTES,
    }


def run(args: argparse.Namespace) -> int:
    from medinterp_widgets.apps import voila_server

    result = measure_kernel(args.steps)
    if not args.no_browser and voila_server.chromium_available():
        result.update(measure_browser(min(args.steps, 12), args.stages))
    else:
        result["browser_ms_per_step"] = None
    result["targets"] = TARGETS
    result["verdicts"] = _verdicts(result)
    print_results(result, args.json)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="medinterp bench viewer", description=__doc__.split("\n\n")[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
