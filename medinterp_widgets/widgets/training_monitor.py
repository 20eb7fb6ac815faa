"""`TrainingMonitor`: a Trainer callback that draws the run live in bokeh figures inside ipywidgets.

    monitor = TrainingMonitor(trainer)     # attaches itself as a callback
    monitor                                # display: curves, gradient heat strip, status, Stop
    monitor.start()                        # trainer.fit() in a background thread; the UI stays live

Coalescing: the training thread only appends each event to an inbox (a deque: atomic appends, no
lock, no traitlets or bokeh), ~1 us per event; the inbox is drained into ``history`` (plot-ready rows)
by whoever needs it next: an update, a new view, or a read of ``history`` (nothing is ever dropped).
Views are updated at most once per ``min_interval`` seconds (default 0.25 s: <= 4 updates/s, each a
stream patch per source that grew plus the status line, so <= ~20 messages/s whatever the step rate).
An update streams every row a view has not drawn yet; ``RunEnded`` forces a final update.

Threads: bokeh documents are not thread-safe, and jupyter_bokeh's ``BokehModel`` turns every
document change into comm messages on the spot (no bokeh server, so ``add_next_tick_callback``
never runs). So the monitor only touches bokeh models and widgets from the thread that created it
(the kernel's main thread): events from the trainer thread go to the inbox, and the update is handed
to the kernel's asyncio loop with ``call_soon_threadsafe`` / ``call_later`` at most once per interval
(immediately once the interval has passed, else once at its end; later events find it scheduled).
The loop runs while the main thread is idle, which is the case when training runs in the background
thread of ``start()``. Training in the foreground (``trainer.fit()`` in a cell) delivers events on the
main thread, which updates directly.
Outside a kernel (scripts, tests, benchmarks) there is no loop: the event that finds the interval
passed updates in its own thread, and ``RunEnded`` / ``flush()`` push the rest.

Replay: a new display (``view()``, ``_ipython_display_``) builds its sources from the whole history,
then streams like the others. A browser reload re-creates the front-end view of an existing display:
``bokeh_setup.embed`` re-sends the current document to every new view, so it shows the run so far,
during the run or after it.
"""

from __future__ import annotations

import asyncio
import collections
import html
import threading
import time
from typing import Any, Callable

import ipywidgets as widgets

from medinterp_widgets.training.events import RunEnded, RunStarted
from medinterp_widgets.widgets.bokeh_setup import embed
from medinterp_widgets.widgets.monitor_history import Cursor, MonitorHistory, status_text
from medinterp_widgets.widgets.monitor_view import MonitorView

DEFAULT_INTERVAL_S = 0.25  # <= 4 updates/s; each sends 1-4 messages (steps, layers, epochs, status)


class _Display:
    """One live display: its bokeh figures, the widget tree holding them and what it has drawn."""

    def __init__(self, view: MonitorView, widget: widgets.Widget, cursor: Cursor):
        self.view, self.widget, self.cursor = view, widget, cursor
        self.closed = False


class TrainingMonitor:
    """Trainer callback + live figures. ``history`` keeps every point; ``flushes`` counts view updates."""

    def __init__(self, trainer=None, *, min_interval: float = DEFAULT_INTERVAL_S, title: str = "training",
                 clock: Callable[[], float] = time.monotonic):
        self._history = MonitorHistory()
        self._inbox: collections.deque = collections.deque()  # events not yet in history (training thread appends)
        self.min_interval, self.title, self.clock = float(min_interval), title, clock
        self.trainer = None
        self.flushes = 0
        self.thread: threading.Thread | None = None
        self.error: BaseException | None = None
        self._displays: list[_Display] = []
        self._record_lock = threading.RLock()  # guards history and draining the inbox
        self._flush_lock = threading.RLock()  # guards displays and their cursors
        self._owner = threading.get_ident()
        self._loop = _running_loop()
        self._last_flush = -float("inf")
        self._scheduled = False
        self._listeners: list[Callable[[Any], None]] = []
        self._markers: list = []  # RunStarted/RunEnded seen since the last update, for listeners
        if trainer is not None:
            self.attach(trainer)

    # ----------------------------------------------------------------- trainer side
    def attach(self, trainer) -> "TrainingMonitor":
        """Register as ``trainer``'s callback (once) and make Stop act on it."""
        if self not in trainer.callbacks:
            trainer.callbacks.append(self)
        self.trainer = trainer
        return self

    def detach(self) -> None:
        if self.trainer is not None and self in self.trainer.callbacks:
            self.trainer.callbacks.remove(self)

    def stop(self) -> None:
        """Ask the trainer to end after its current step (thread-safe)."""
        if self.trainer is not None:
            self.trainer.stop()

    def start(self) -> threading.Thread:
        """Run ``trainer.fit()`` in a background thread (errors land in ``self.error`` and the status)."""
        if self.trainer is None:
            raise ValueError("TrainingMonitor.start: no trainer attached (pass one or call attach(trainer))")
        if self.running:
            raise RuntimeError("TrainingMonitor.start: a run is already in progress")
        self.error = None
        self.thread = threading.Thread(target=self._fit, name="medinterp-training", daemon=True)
        self.thread.start()
        return self.thread

    @property
    def running(self) -> bool:
        return self.thread is not None and self.thread.is_alive()

    def _fit(self) -> None:
        try:
            self.trainer.fit()
        except BaseException as error:  # shown in the status line; fit() already emitted RunEnded
            self.error = error

    def on_event(self, listener: Callable[[Any], None]) -> None:
        """Call ``listener(event)`` on the owner thread after each update that saw ``RunStarted``/``RunEnded``."""
        self._listeners.append(listener)

    def __call__(self, event: Any) -> None:
        """Queue ``event``; update the views now, later, or not yet (see the module docstring)."""
        self._inbox.append(event)
        final = isinstance(event, RunEnded)
        wait = 0.0 if final else self.min_interval - (self.clock() - self._last_flush)
        direct = threading.get_ident() == self._owner or self._loop is None or self._loop.is_closed()
        if direct:
            if wait <= 0:
                self.flush()
        elif not self._scheduled or final:
            self._scheduled = True
            self._loop.call_soon_threadsafe(self._schedule_on_loop, max(wait, 0.0))

    def _schedule_on_loop(self, delay: float) -> None:
        if delay > 0:
            self._loop.call_later(delay, self.flush)
        else:
            self.flush()

    @property
    def history(self) -> MonitorHistory:
        """Every event received so far, as plot-ready rows (drains the inbox first)."""
        with self._record_lock:
            self._drain()
            return self._history

    def _drain(self) -> None:
        """Move queued events into history, oldest first (call with ``_record_lock`` held)."""
        while True:
            try:
                event = self._inbox.popleft()
            except IndexError:
                return
            self._history.add(event)
            if isinstance(event, (RunStarted, RunEnded)):
                self._markers.append(event)

    # ----------------------------------------------------------------- views
    def flush(self) -> int:
        """Stream every display's missing rows and refresh the status; returns the patches sent."""
        with self._flush_lock:
            self._scheduled = False
            self._last_flush = self.clock()
            with self._record_lock:
                history = self.history
                target = history.cursor()
                rows = {id(d): history.since(d.cursor) for d in self.displays}
                layer_names, status = history.layer_names, self._status_html()
                markers, self._markers = self._markers, []
            sent = 0
            for shown in self.displays:
                sent += shown.view.append(rows[id(shown)], layer_names)
                shown.cursor = target
                self._show_status(shown, status)
            self.flushes += 1
        for event in markers:
            for listener in self._listeners:
                listener(event)
        return sent

    def view(self) -> widgets.VBox:
        """A new display of this monitor, built from the full history (replay), then kept live."""
        with self._flush_lock:
            with self._record_lock:
                history = self.history
                rows, cursor = history.since(Cursor()), history.cursor()
                layer_names, status = history.layer_names, self._status_html()
            figures = MonitorView(rows, layer_names, title=self.title)
            stop = widgets.Button(description="Stop", icon="stop", button_style="danger",
                                  tooltip="end the run after the current step", disabled=self._finished)
            stop.add_class("mi-monitor-stop")
            stop.on_click(lambda _: self.stop())
            status_line = widgets.HTML(status)
            status_line.add_class("mi-monitor-status")
            box = widgets.VBox([widgets.HBox([stop, status_line]), embed(figures.layout)])
            box.add_class("mi-training-monitor")
            shown = _Display(figures, box, cursor)
            self._displays.append(shown)
            _on_close(box, lambda: setattr(shown, "closed", True))
        return box

    @property
    def displays(self) -> list[_Display]:
        """The live displays (closed ones excluded)."""
        return [d for d in self._displays if not d.closed]

    @property
    def _finished(self) -> bool:
        return self.history.ended is not None

    def _status_html(self) -> str:
        text = status_text(self.history.progress())
        if self.error is not None:
            text += f" · error: {type(self.error).__name__}: {self.error}"
        elif self.history.ended is not None and self.history.ended.error:
            text += f" · error: {self.history.ended.error}"
        return f"<span class='mi-status'>{html.escape(text)}</span>"

    def _show_status(self, shown: _Display, status: str) -> None:
        controls = shown.widget.children[0]
        stop, line = controls.children
        if line.value != status:
            line.value = status
        if stop.disabled != self._finished:
            stop.disabled = self._finished

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.view())


def _on_close(widget: widgets.Widget, callback: Callable[[], None]) -> None:
    """Run ``callback`` when ``widget`` is closed (ipywidgets has no close event of its own)."""
    original = widget.close

    def close() -> None:
        callback()
        original()

    widget.close = close


def _running_loop() -> asyncio.AbstractEventLoop | None:
    """The asyncio loop of this thread when one is running (inside a Jupyter/Voila kernel), else None."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None
