"""Cine playback inside the browser: every frame of the shown slice is sent once, then a BokehJS timer
swaps them into the image's data source at the chosen frame rate, with no kernel round trip per frame.

The kernel calls ``play(frames, fps, start)``: ``frames`` ({layer: [2-D array per frame]}) go into the
``cine`` source, then ``cine.tags = [fps, 1, start, run]`` starts the timer (``PLAYER_JS``). Each tick
writes frame k into the figure's source *in place* and emits ``change``: BokehJS repaints, nothing is
synced back. ``stop()`` sets the tags to "not playing"; the timer stops on the frame it showed and
reports it once through ``report.tags = [k, run]``, which calls ``on_stop(k)`` in the kernel (the
browser keeps that frame; the kernel's frame follows it). The frame number is drawn by a text glyph
updated the same way.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
from bokeh.models import ColumnDataSource, CustomJS

PLAYER_JS = """
const [fps, playing, start, run] = cine.tags.length ? cine.tags : [10, 0, 0, 0];
window.__medinterp_cine = window.__medinterp_cine || {};
const state = window.__medinterp_cine[cine.id] || (window.__medinterp_cine[cine.id] = {timer: null, k: 0, run: -1});
const was_playing = state.timer !== null;
if (state.timer !== null) { clearInterval(state.timer); state.timer = null; }
const frames = cine.data.image || [];
if (playing && frames.length > 0) {
  state.k = start % frames.length;
  state.run = run;
  state.times = [];
  state.timer = setInterval(() => {
    state.k = (state.k + 1) % frames.length;
    for (const name of Object.keys(cine.data)) {
      if (name in source.data && cine.data[name].length === frames.length)
        source.data[name][0] = cine.data[name][state.k];
    }
    label.data.text[0] = `frame ${state.k}`;
    state.times.push(performance.now());
    source.change.emit();
    label.change.emit();
  }, 1000 / Math.max(fps, 0.1));
} else if (!playing && was_playing) {
  report.tags = [state.k, state.run];
}
"""


class CinePlayer:
    """The cine frames of one ImageFigure and the BokehJS timer that plays them (see the module docstring)."""

    def __init__(self, source: ColumnDataSource, label_source: ColumnDataSource):
        self.cine = ColumnDataSource({"image": []}, name="cine")
        self.report = ColumnDataSource({"frame": []}, name="cine_report")
        self.label_source = label_source
        self.playing = False
        self.run = 0
        self._on_stop: list[Callable[[int], None]] = []
        callback = CustomJS(args={"cine": self.cine, "source": source, "label": label_source, "report": self.report},
                            code=PLAYER_JS)
        self.cine.js_on_change("tags", callback)
        self.report.on_change("tags", self._reported)

    def play(self, frames: dict[str, list[np.ndarray]], fps: float, start: int = 0) -> None:
        """Send ``frames`` (one list per layer, same length) and start the browser's timer at ``start``."""
        self.cine.data = {name: list(arrays) for name, arrays in frames.items()}
        self.run += 1
        self.playing = True
        self.cine.tags = [float(fps), 1, int(start), self.run]

    def stop(self) -> None:
        """Stop the timer; the browser keeps the frame it shows and reports it (``on_stop``)."""
        if self.playing:
            self.playing = False
            fps = self.cine.tags[0] if self.cine.tags else 10.0
            self.cine.tags = [fps, 0, 0, self.run]

    def on_stop(self, callback: Callable[[int], None]) -> None:
        """``callback(frame)`` when the browser reports the frame it stopped on."""
        self._on_stop.append(callback)

    def _reported(self, attr, old, new) -> None:
        if len(new) == 2 and int(new[1]) == self.run:
            for callback in self._on_stop:
                callback(int(new[0]))
