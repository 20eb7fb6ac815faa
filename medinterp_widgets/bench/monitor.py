"""`medinterp bench monitor [--json]`: what the TrainingMonitor costs a training run, and what it sends.

Slowdown: the same tiny GapFCN, data and number of steps, trained with and without a
TrainingMonitor (with a live display) attached, in interleaved rounds (ABBA: the order flips every
round, so a drift in machine load hits both alike); per-step wall times come from StepEnd timestamps,
and per-step CPU time of the training thread (``time.thread_time``: the work done, which other jobs on a
shared machine cannot inflate; outside a kernel the monitor's updates run on that thread, so they count).
Each round gives paired ratios to the detached run of the same round; reported is the median over
rounds of the ratio of median step times (the headline) and of mean step times (which also carries
the periodic view updates), the same two for CPU time, and the share of the attached run's wall time
spent inside the monitor's callback while training; the one-off RunEnded update (last points + widget
bundle refresh) is reported apart. Outside a kernel the updates run in the training thread, so this is
the worst case; in a notebook they run on the kernel's main thread.
Messages: during the long run the display's bokeh PATCH-DOC messages and status-line updates are
timestamped (and jupyter_bokeh's comm sends counted) to give messages per second and the busiest
1-second window. Layer statistics (TrainConfig.monitor_every, sampled in the Trainer) are timed the
same way: every step and every 20 steps, against none.
Targets: <= 2 % slowdown, <= 20 messages/s in every 1-second window.
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import dataclass, field

from medinterp_widgets.bench.timing import print_results

TARGETS = {"slowdown": 0.02, "messages_per_s": 20.0}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--steps", type=int, default=60, help="optimizer steps per timed run (default 60)")
    parser.add_argument("--size", type=int, default=32, help="image side in pixels (default 32)")
    parser.add_argument("--rounds", type=int, default=6, help="interleaved ABBA rounds per setting (default 6)")
    parser.add_argument("--storm-steps", type=int, default=1500,
                        help="steps of the fast run used to count messages (default 1500, 8x8 images)")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch CPU threads (default 1: stable timings on a shared machine)")


@dataclass
class MessageCounter:
    """Timestamps of what one monitor display sends: bokeh patches, status updates, raw comm sends."""

    patches: list[float] = field(default_factory=list)
    widget_updates: list[float] = field(default_factory=list)
    comm_sends: int = 0
    callback_seconds: float = 0.0  # time inside the monitor's callback during training (recording + updates)
    final_update_seconds: float = 0.0  # the RunEnded update (last points + widget bundle refresh)

    def watch(self, display_box) -> None:
        controls, bokeh_widget = display_box.children
        forward_patch, forward_send = bokeh_widget._document_patched, bokeh_widget.send

        def patched(event) -> None:
            self.patches.append(time.monotonic())
            forward_patch(event)

        def send(*args, **kwargs) -> None:
            self.comm_sends += 1
            forward_send(*args, **kwargs)

        bokeh_widget._document_patched, bokeh_widget.send = patched, send
        for child in controls.children:  # Stop button state and the status line
            child.observe(lambda _: self.widget_updates.append(time.monotonic()), names=["value", "disabled"])

    @property
    def times(self) -> list[float]:
        return sorted(self.patches + self.widget_updates)

    def busiest_second(self) -> int:
        """Most messages inside any 1-second window."""
        times, best, start = self.times, 0, 0
        for end, now in enumerate(times):
            while now - times[start] >= 1.0:
                start += 1
            best = max(best, end - start + 1)
        return best


def _trainer(steps: int, size: int, monitor_every: int):
    import torch

    from medinterp_widgets.models import GapFCN
    from medinterp_widgets.training import TrainConfig, Trainer

    torch.manual_seed(0)
    images = torch.rand(steps * 2, 1, size, size)
    data = torch.utils.data.TensorDataset(images, (images[:, 0] > 0.5).long())
    model = GapFCN(in_channels=1, n_classes=2, base_channels=8, depth=3, convs_per_stage=2)
    config = TrainConfig(epochs=1, batch_size=2, lr=1e-3, progress=False, monitor_every=monitor_every,
                         save_checkpoints=False)
    return Trainer(model, data, None, config)


def timed_run(steps: int, size: int, *, monitor_every: int = 0, attach: bool = False):
    """(wall seconds per step and training-thread CPU seconds per step, both from StepEnd timestamps,
    MessageCounter or None, wall seconds of fit()).
    ``attach``: a TrainingMonitor with one display, its callback timed (``counter.callback_seconds``)."""
    from medinterp_widgets.training.events import RunEnded, StepEnd
    from medinterp_widgets.widgets.training_monitor import TrainingMonitor

    trainer = _trainer(steps, size, monitor_every)
    stamps: list[tuple[float, float]] = []  # (wall, thread CPU) at each StepEnd
    trainer.callbacks.append(
        lambda event: stamps.append((time.perf_counter(), time.thread_time())) if isinstance(event, StepEnd) else None)
    counter = None
    if attach:
        monitor = TrainingMonitor()
        counter = MessageCounter()
        counter.watch(monitor.view())

        def timed_monitor(event) -> None:
            start = time.perf_counter()
            monitor(event)
            spent = time.perf_counter() - start
            if isinstance(event, RunEnded):
                counter.final_update_seconds += spent
            else:
                counter.callback_seconds += spent

        trainer.callbacks.append(timed_monitor)
    started = time.monotonic()
    trainer.fit()
    wall = time.monotonic() - started
    wall_steps = [b[0] - a[0] for a, b in zip(stamps, stamps[1:])]
    cpu_steps = [b[1] - a[1] for a, b in zip(stamps, stamps[1:])]
    return wall_steps, cpu_steps, counter, wall


def _paired_ratios(per_step: dict[str, list[list[float]]], baseline: str) -> dict[str, dict[str, float]]:
    """Per setting: its median step time, and the median over rounds of its median (and mean) step time
    divided by the baseline's in the same round (paired, so slow rounds cancel out)."""
    def ratio(name: str, reduce) -> float:
        return statistics.median(reduce(times) / reduce(base)
                                 for times, base in zip(per_step[name], per_step[baseline]))

    return {name: {"median_ms": round(1000 * statistics.median(statistics.median(t) for t in per_step[name]), 3),
                   "median_ratio": round(ratio(name, statistics.median), 4),
                   "mean_ratio": round(ratio(name, statistics.fmean), 4)} for name in per_step}


def measure_slowdown(steps: int, size: int, rounds: int) -> dict:
    """Monitor attached vs detached, and layer statistics every step / every 20 steps vs none."""
    settings = {"detached": {}, "attached": {"attach": True},
                "layer_stats_every_1": {"monitor_every": 1}, "layer_stats_every_20": {"monitor_every": 20}}
    timed_run(8, size)  # warm-up: allocator, kernels, imports
    per_step: dict[str, list[list[float]]] = {name: [] for name in settings}
    cpu_per_step: dict[str, list[list[float]]] = {name: [] for name in settings}
    shares, finals = [], []
    for round_index in range(rounds):
        order = list(settings) if round_index % 2 == 0 else list(reversed(settings))  # ABBA
        for name in order:
            times, cpu_times, counter, wall = timed_run(steps, size, **settings[name])
            per_step[name].append(times)
            cpu_per_step[name].append(cpu_times)
            if counter is not None:
                shares.append(counter.callback_seconds / wall)
                finals.append(counter.final_update_seconds)
    ratios = _paired_ratios(per_step, "detached")
    cpu_ratios = _paired_ratios(cpu_per_step, "detached")
    for name, cpu in cpu_ratios.items():
        ratios[name].update({f"cpu_{key}": value for key, value in cpu.items()})
    return {"steps": steps, "size": size, "rounds": rounds, "settings": ratios,
            "slowdown_median": round(ratios["attached"]["median_ratio"] - 1, 4),
            "slowdown_mean": round(ratios["attached"]["mean_ratio"] - 1, 4),
            "slowdown_cpu_median": round(cpu_ratios["attached"]["median_ratio"] - 1, 4),
            "slowdown_cpu_mean": round(cpu_ratios["attached"]["mean_ratio"] - 1, 4),
            "monitor_time_share": round(statistics.median(shares), 4),
            "final_update_ms": round(1000 * statistics.median(finals), 1)}


def measure_messages(steps: int) -> dict:
    """A long, fast run (8x8 images, layer stats every 10 steps) with a display attached."""
    _, _, counter, wall = timed_run(steps, 8, monitor_every=10, attach=True)
    total = len(counter.times)
    return {"storm_steps": steps, "storm_steps_per_s": round(steps / wall, 1), "storm_seconds": round(wall, 2),
            "messages": total, "bokeh_patches": len(counter.patches), "widget_updates": len(counter.widget_updates),
            "comm_sends": counter.comm_sends, "messages_per_s": round(total / wall, 2),
            "busiest_1s_window": counter.busiest_second()}


def run(args: argparse.Namespace) -> int:
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(args.threads)
    try:
        result = measure_slowdown(args.steps, args.size, args.rounds)
        result.update(measure_messages(args.storm_steps))
    finally:
        torch.set_num_threads(threads)
    result["torch_threads"] = args.threads
    result["targets"] = TARGETS
    result["verdicts"] = {
        "slowdown_ok": result["slowdown_median"] <= TARGETS["slowdown"],
        "slowdown_cpu_ok": result["slowdown_cpu_median"] <= TARGETS["slowdown"],
        "monitor_time_share_ok": result["monitor_time_share"] <= TARGETS["slowdown"],
        "messages_ok": result["busiest_1s_window"] <= TARGETS["messages_per_s"],
    }
    print_results(result, args.json)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="medinterp bench monitor", description=__doc__.split("\n\n")[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
