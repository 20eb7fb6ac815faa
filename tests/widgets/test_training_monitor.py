"""TrainingMonitor: streams (never redraws), coalesces to a bounded update rate without losing points,
replays history into new views, stops the trainer, and draws a (layers x samples) heat strip."""

import asyncio
import math
import threading

import numpy as np
import pytest
import torch
from bokeh.document.events import ColumnsStreamedEvent
from bokeh.models import ColumnDataSource
from torch import nn
from torch.utils.data import TensorDataset

from medinterp_widgets.training import TrainConfig, Trainer
from medinterp_widgets.training.events import EpochEnd, LayerStat, LayerStats, RunEnded, RunStarted, StepEnd
from medinterp_widgets.widgets.monitor_history import status_text
from medinterp_widgets.widgets.training_monitor import TrainingMonitor
from medinterp_widgets.widgets.transport import record_patches


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def run_started(epochs=2, steps_per_epoch=5):
    return RunStarted(run_dir=None, config={"best_metric": "val/loss", "best_mode": "min"}, start_epoch=0,
                      total_epochs=epochs, steps_per_epoch=steps_per_epoch)


def step(i, epoch=0):
    return StepEnd(step=i, epoch=epoch, loss=1.0 / i, lr=1e-3, metrics={"accuracy": 0.5})


def layer_stats(i, n_layers=3):
    layers = tuple(LayerStat(f"layer{k}", grad_norm=10.0 ** -(k + 1) * i, weight_mean=0.0, weight_std=1.0,
                             activation_mean=0.0, activation_std=1.0) for k in range(n_layers))
    return LayerStats(step=i, epoch=0, layers=layers)


def epoch_end(epoch, val_loss):
    return EpochEnd(epoch=epoch, seconds=1.0, metrics={
        "train": {"loss": 0.9, "accuracy": 0.6, "sensitivity": 0.5},
        "val": {"loss": val_loss, "accuracy": 0.7, "sensitivity": 0.6, "specificity": 0.8, "ppv": 0.7, "npv": 0.9}})


def tiny_trainer(steps=8, monitor_every=1):
    torch.manual_seed(0)
    x = torch.rand(steps, 1, 8, 8)
    y = (x.mean(dim=(1, 2, 3)) > 0.5).long()
    model = nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                          nn.Linear(3, 2))
    config = TrainConfig(epochs=1, batch_size=1, progress=False, monitor_every=monitor_every, task="classification",
                         save_checkpoints=False, device="cpu")
    return Trainer(model, TensorDataset(x, y), None, config)


def test_updates_stream_into_sources_and_never_replace_them():
    monitor = TrainingMonitor(min_interval=0.0)
    monitor.view()
    shown = monitor.displays[0].view
    monitor(run_started())
    lengths = []
    with record_patches(shown.layout) as log:
        for i in range(1, 6):
            monitor(step(i))
            monitor(layer_stats(i))
            lengths.append(len(shown.steps.data["step"]))
        monitor(epoch_end(0, 0.5))
    source_events = [e for e in log.events if isinstance(getattr(e, "model", None), ColumnDataSource)]
    assert source_events and all(isinstance(e, ColumnsStreamedEvent) for e in source_events)
    assert lengths == sorted(lengths) and lengths[-1] == 5
    assert shown.epochs.data["val_loss"] == [0.5]


def test_coalescing_bounds_updates_and_keeps_every_point():
    clock = FakeClock()
    monitor = TrainingMonitor(clock=clock)  # default interval 0.25 s
    monitor.view()
    monitor(run_started(epochs=1, steps_per_epoch=1000))
    for i in range(1, 1001):  # 1000 events in one simulated second
        clock.now = i / 1000
        monitor(step(i))
    assert monitor.flushes <= 20
    monitor(RunEnded(reason="completed", epochs_completed=1, steps=1000))
    assert monitor.flushes <= 21
    plot = monitor.displays[0].widget.children[1]
    plot._view_count = (plot._view_count or 0) + 1  # a page reload: the front end creates a new view
    assert "1000" in str(plot.render_bundle)  # the reloaded page shows the whole run
    drawn = monitor.displays[0].view.steps.data
    assert drawn["step"] == list(range(1, 1001))
    assert drawn["loss"][-1] == pytest.approx(1e-3)


def test_new_view_replays_the_whole_history():
    monitor = TrainingMonitor(min_interval=0.0)
    first = monitor.view()
    monitor(run_started())
    for i in range(1, 4):
        monitor(step(i))
        monitor(layer_stats(i))
    monitor(epoch_end(0, 0.4))
    monitor.view()
    old, new = (d.view for d in monitor.displays)
    for name in ("steps", "epochs"):
        assert getattr(new, name).data == getattr(old, name).data
    np.testing.assert_allclose(np.hstack(new.layers.data["image"]), monitor.history.heat_matrix())
    monitor(step(4))  # both displays keep streaming
    assert old.steps.data["step"][-1] == new.steps.data["step"][-1] == 4
    first.close()
    monitor(step(5))
    assert len(monitor.displays) == 1 and old.steps.data["step"][-1] == 4


def test_heat_strip_has_one_row_per_layer_and_one_column_per_sample():
    monitor = TrainingMonitor(min_interval=0.0)
    monitor.view()
    for i in range(2, 16, 2):  # LayerStats every 2 steps, 7 samples
        monitor(layer_stats(i, n_layers=5))
    assert monitor.history.heat_matrix().shape == (5, 7)
    strip = monitor.displays[0].view
    blocks = strip.layers.data["image"]
    assert np.hstack(blocks).shape == (5, 7)
    assert strip.layers.data["dh"][0] == 5 and strip.layers.data["dw"][-1] == 2  # one sample = 2 steps wide
    assert monitor.history.heat_matrix()[1, 0] == pytest.approx(math.log10(2e-2), rel=1e-5)
    assert strip.heat_mapper.low <= -3 and strip.heat_mapper.high >= -1


def test_status_line_reports_progress_and_best_metric():
    monitor = TrainingMonitor(min_interval=0.0)
    box = monitor.view()
    monitor(run_started(epochs=2, steps_per_epoch=5))
    for i in range(1, 6):
        monitor(step(i))
    monitor(epoch_end(0, 0.25))
    status = box.children[0].children[1].value
    assert "epoch 1/2" in status and "step 5/10" in status and "ETA" in status
    assert "best val/loss 0.25 (epoch 1)" in status
    assert "run stopped" in status_text({**monitor.history.progress(), "ended": "stopped"})


def test_stop_button_ends_the_run_after_the_current_step():
    trainer = tiny_trainer(steps=8)
    monitor = TrainingMonitor(trainer, min_interval=0.0)
    box = monitor.view()
    stop_button = box.children[0].children[0]

    def press_stop_at_step_3(event):
        if isinstance(event, StepEnd) and event.step == 3:
            stop_button.click()

    trainer.callbacks.append(press_stop_at_step_3)
    trainer.fit()
    ended = monitor.history.ended
    assert ended.reason == "stopped" and ended.steps == 3
    assert monitor.history.steps["step"] == [1, 2, 3]
    assert stop_button.disabled  # the run is over


def test_start_trains_in_a_background_thread():
    trainer = tiny_trainer(steps=6, monitor_every=2)
    monitor = TrainingMonitor(trainer, min_interval=0.0)
    monitor.view()
    monitor.start().join(timeout=60)
    assert not monitor.running and monitor.error is None
    assert monitor.history.ended.reason == "completed"
    assert monitor.displays[0].view.steps.data["step"] == list(range(1, 7))
    assert monitor.history.heat_matrix().shape[1] == 3


def test_events_from_another_thread_update_views_on_the_loop_thread():
    async def scenario():
        monitor = TrainingMonitor(min_interval=0.05)  # created on the loop's thread, like in a kernel
        monitor.view()
        flush_threads = []
        original = monitor.flush

        def recording_flush():
            flush_threads.append(threading.get_ident())
            return original()

        monitor.flush = recording_flush

        def train():
            monitor(run_started(epochs=1, steps_per_epoch=200))
            for i in range(1, 201):
                monitor(step(i))
            monitor(RunEnded(reason="completed", epochs_completed=1, steps=200))

        worker = threading.Thread(target=train)
        worker.start()
        while worker.is_alive():
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.2)  # let the scheduled updates run
        return monitor, flush_threads

    monitor, flush_threads = asyncio.run(scenario())
    main = threading.get_ident()
    assert flush_threads and set(flush_threads) == {main}
    assert monitor.displays[0].view.steps.data["step"] == list(range(1, 201))


def test_an_event_between_updates_only_queues_it():
    clock = FakeClock()
    monitor = TrainingMonitor(clock=clock)
    box = monitor.view()
    monitor(run_started(epochs=1, steps_per_epoch=10))  # first event: the interval has passed, one update
    flushes, status = monitor.flushes, box.children[0].children[1].value
    with record_patches(monitor.displays[0].view.layout) as log:
        for i in range(1, 6):
            clock.now = i * 0.01  # well inside the 0.25 s interval
            monitor(step(i))
    assert log.events == [] and monitor.flushes == flushes  # no bokeh patch, no update on the training thread
    assert box.children[0].children[1].value == status  # no traitlet touched either
    assert len(monitor._inbox) == 5
    assert monitor.history.steps["step"] == [1, 2, 3, 4, 5]  # reading history drains the queue, in order
    assert len(monitor._inbox) == 0


def test_draining_while_another_thread_appends_keeps_every_event_in_order():
    monitor = TrainingMonitor(min_interval=1e9)  # no updates: only queueing and draining race here
    monitor.view()
    n = 5000

    def train():
        for i in range(1, n + 1):
            monitor(step(i))

    worker = threading.Thread(target=train)
    worker.start()
    seen = []
    while worker.is_alive():
        seen.append(len(monitor.history.steps["step"]))  # drains concurrently with the appends
    worker.join()
    assert monitor.history.steps["step"] == list(range(1, n + 1))
    assert seen == sorted(seen)
    monitor.flush()
    assert monitor.displays[0].view.steps.data["step"] == list(range(1, n + 1))
