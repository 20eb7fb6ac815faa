"""`medinterp bench viewer --stages`: where the browser time of a slice step goes (a diagnostic).

Only in this mode the page is instrumented: arrival of every WebSocket message from the server, the
BokehJS document patch (jupyter_bokeh's ``apply_json_patch``), colour mapping of each image layer
(``ImageView._flat_img_to_buf8``) and the plot paint (``PlotView._actual_paint``), each stamped with
``performance.now()``. Per step, times are relative to the keydown event (``window.__miKey``, set by
the benchmark's detector); the wrappers add a little time, so read the headline latency from a run
without ``--stages``.
"""

from __future__ import annotations

import statistics

BIG_MESSAGE_BYTES = 10_000  # a WebSocket message this large carries pixels

INIT_JS = """
window.__miMarks = [];
const __miMark = (name, value) => window.__miMarks.push([name, performance.now(), value]);
window.__miMark = __miMark;
const __MiSocket = window.WebSocket;
window.WebSocket = class extends __MiSocket {
  constructor(...args) {
    super(...args);
    this.addEventListener('message', (e) => __miMark('message', e.data.byteLength ?? e.data.size ?? e.data.length));
  }
};
"""

HOOK_JS = """() => {
  const timed = (proto, method, name) => { const original = proto[method];
    proto[method] = function (...args) { const start = performance.now(); const result = original.apply(this, args);
      window.__miMark(name, performance.now() - start); return result; }; };
  timed(Bokeh.require('document').Document.prototype, 'apply_json_patch', 'patch');
  timed(Bokeh.require('models/glyphs/image').ImageView.prototype, '_flat_img_to_buf8', 'colour_map');
  timed(Bokeh.require('models/plots/plot_canvas').PlotView.prototype, '_actual_paint', 'paint');
  return true; }"""


def step_stages(marks: list, key_ms: float, latency_ms: float) -> dict[str, float]:
    """One step's stages in ms after the keydown, from ``(name, time, value)`` marks."""
    def ends(name):
        return [t - key_ms for n, t, _ in marks if n == name and t >= key_ms]

    def total(name):
        return sum(v for n, t, v in marks if n == name and t >= key_ms)

    messages = [(t - key_ms, size) for n, t, size in marks if n == "message" and t >= key_ms]
    big = [t for t, size in messages if (size or 0) > BIG_MESSAGE_BYTES]
    return {"first_message": messages[0][0] if messages else None,
            "last_pixel_message": big[-1] if big else None,
            "patch_applied": max(ends("patch"), default=None), "patch_apply_ms": total("patch"),
            "colour_map_ms": total("colour_map"), "paint_done": max(ends("paint"), default=None),
            "paint_ms": total("paint"), "pixels_seen": latency_ms}


def median_stages(steps: list[dict[str, float]]) -> dict[str, float | None]:
    """Median of each stage over the steps (stages a step lacks are left out of its median)."""
    names = steps[0] if steps else {}
    medians = {}
    for name in names:
        values = [step[name] for step in steps if step[name] is not None]
        medians[name] = round(statistics.median(values), 1) if values else None
    return medians
