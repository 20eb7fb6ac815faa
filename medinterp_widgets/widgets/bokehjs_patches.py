"""Two small BokehJS patches sent with BokehJS itself (``bokeh_setup.load_bokehjs``); both keep
BokehJS's results exactly and only remove work.

``NO_ECHO_JS``: jupyter_bokeh 4.1's front end forwards *every* document change to the kernel,
including the ones it has just applied from a kernel patch (BokehJS marks those ``sync = false``;
bokeh's own server session drops them, jupyter_bokeh does not). A 512x512 slice step was thus
gzipped, base64'd and sent back (~0.5 MB, ~75 ms of browser main thread before the repaint, then
decoded again in the kernel). The patch drops non-sync model changes at
``Document._trigger_on_change`` (no BokehJS listener needs them there; root/title/message events pass).

``LOOKUP_COLORMAP_JS``: a ``LinearColorMapper`` with fixed ``low``/``high`` maps each pixel through
``cmap(value)`` (float maths per pixel). For 8/16-bit integer images every possible value is mapped
once with the mapper's own rule into a table (256 or 65,536 entries) and pixels are looked up in it:
identical colours, 3-10x less work for a 512x512 slice (int16 image, uint8 mask and heatmap levels).

Both replace private BokehJS prototype methods, so they are applied only when ``Bokeh.version`` is one
of ``TESTED_BOKEHJS`` (the versions the browser tests in tests/widgets/test_bokehjs_patches.py ran
on); on any other version the page keeps BokehJS as it is and the console says so once per patch.
"""

from __future__ import annotations

import json

TESTED_BOKEHJS = ("3.9",)  # BokehJS major.minor versions the patches were tested on


def when_bokeh_loaded(body: str, name: str, tested: tuple[str, ...] = TESTED_BOKEHJS) -> str:
    """JS that runs ``body`` (with ``bokeh`` = window.Bokeh) once BokehJS is loaded, at most once per page,
    when BokehJS's version is one of ``tested`` (else a console notice and no patch)."""
    return f"""
(function install(tries) {{
  const bokeh = window.Bokeh;
  if (!(bokeh && bokeh.require)) {{ if (tries > 0) setTimeout(() => install(tries - 1), 10); return; }}
  window.__medinterp_patches = window.__medinterp_patches || {{}};
  if (window.__medinterp_patches["{name}"]) return;
  const tested = {json.dumps(list(tested))};
  const version = String(bokeh.version || "unknown");
  if (!tested.some((v) => version === v || version.startsWith(v + "."))) {{
    window.__medinterp_patches["{name}"] = "skipped";
    console.info(`medinterp_widgets: BokehJS ${{version}} is not a tested version (${{tested.join(", ")}}); ` +
                 `the {name} patch is not applied`);
    return;
  }}
  window.__medinterp_patches["{name}"] = true;
{body}
}})(1000);
"""


NO_ECHO_JS = when_bokeh_loaded("""
  const proto = bokeh.require("document").Document.prototype;
  const ev = bokeh.require("document/events");
  const dataEvents = [ev.ModelChangedEvent, ev.ColumnDataChangedEvent, ev.ColumnsStreamedEvent, ev.ColumnsPatchedEvent];
  const echo = (e) => e.sync === false && dataEvents.some((kind) => e instanceof kind);
  const trigger = proto._trigger_on_change;
  proto._trigger_on_change = function (event) {
    if (event instanceof ev.DocumentEventBatch) {
      const kept = event.events.filter((e) => !echo(e));
      if (kept.length === 0) return;
      if (kept.length < event.events.length) event = new ev.DocumentEventBatch(event.document, kept);
    } else if (echo(event)) {
      return;
    }
    return trigger.call(this, event);
  };
""", "no_echo")

LOOKUP_COLORMAP_JS = when_bokeh_loaded("""
  const { LinearColorMapper } = bokeh.require("models/mappers/linear_color_mapper");
  const proto = bokeh.require("models/mappers/continuous_color_mapper").ContinuousColorMapper.prototype;
  const integerKinds = [[Uint8Array, 0, 256], [Int8Array, 128, 256],
                        [Uint16Array, 0, 65536], [Int16Array, 32768, 65536]];  // [type, offset, possible values]
  const compute = proto._v_compute;
  proto._v_compute = function (data, values, palette, colors) {
    const kind = integerKinds.find(([type]) => data instanceof type);
    const fixed = this instanceof LinearColorMapper && this.low != null && this.high != null
                  && this.domain.length === 0;  // the rule does not depend on the data
    if (kind == null || !fixed || data.length < 2 * kind[2]) return compute.call(this, data, values, palette, colors);
    const [type, offset, size] = kind;
    const keys = new type(size);  // every value the dtype can hold
    for (let k = 0; k < size; k++) keys[k] = k - offset;
    const table = new Uint32Array(size);
    compute.call(this, keys, table, palette, colors);  // the mapper's own rule, once per possible value
    for (let i = 0, n = data.length; i < n; i++) values[i] = table[data[i] + offset];
  };
""", "lookup_colormap")

FRONTEND_PATCHES = (NO_ECHO_JS, LOOKUP_COLORMAP_JS)
