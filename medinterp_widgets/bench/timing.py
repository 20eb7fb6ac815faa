"""Wall-clock timing for benchmarks: warm-up calls, then the median of repeats, GPU-synchronised."""

from __future__ import annotations

import json
import statistics
import time
from dataclasses import dataclass
from typing import Callable

import torch


@dataclass(frozen=True)
class Timing:
    """Milliseconds per call: ``median_ms`` (reported), ``min_ms``, and every repeat."""

    median_ms: float
    min_ms: float
    times_ms: tuple[float, ...]


def synchronise(device: torch.device) -> None:
    """Wait for queued GPU work so a timer measures it (no-op on CPU)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def time_call(call: Callable[[], object], device: torch.device, *, repeats: int = 5, warmup: int = 1) -> Timing:
    """Run ``call`` ``warmup`` times untimed, then ``repeats`` times timed (each synchronised)."""
    if repeats < 1 or warmup < 0:
        raise ValueError(f"repeats: expected >= 1 (got {repeats}); warmup: expected >= 0 (got {warmup})")
    for _ in range(warmup):
        call()
    synchronise(device)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        synchronise(device)
        times.append((time.perf_counter() - start) * 1000.0)
    return Timing(statistics.median(times), min(times), tuple(times))


def time_round_robin(calls: dict[str, Callable[[], object]], device: torch.device, *, repeats: int = 5,
                     warmup: int = 1) -> dict[str, Timing]:
    """Time several calls interleaved (each repeat runs every call once), so a load change on a
    shared machine affects all of them alike and their ratios stay fair. Returns name -> Timing."""
    if repeats < 1 or warmup < 0:
        raise ValueError(f"repeats: expected >= 1 (got {repeats}); warmup: expected >= 0 (got {warmup})")
    for _ in range(warmup):
        for call in calls.values():
            call()
    synchronise(device)
    times: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(repeats):
        for name, call in calls.items():
            start = time.perf_counter()
            call()
            synchronise(device)
            times[name].append((time.perf_counter() - start) * 1000.0)
    return {name: Timing(statistics.median(values), min(values), tuple(values)) for name, values in times.items()}


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """numerator / denominator, or None when either is missing or the denominator is 0."""
    if numerator is None or not denominator:
        return None
    return numerator / denominator


def print_results(result: dict, as_json: bool) -> None:
    """A bench's result dict as JSON, or one ``key value`` line per entry."""
    if as_json:
        print(json.dumps(result, indent=2))
        return
    width = max(map(len, result), default=0)
    for key, value in result.items():
        print(f"{key:{width}s} {value}")
