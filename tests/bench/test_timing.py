"""Timing helpers: repeat counts, interleaving order, ratios with missing values."""

import pytest
import torch

from medinterp_widgets.bench.timing import ratio, time_call, time_round_robin


def test_time_call_counts_repeats_after_warmup():
    calls = []
    timing = time_call(lambda: calls.append(1), torch.device("cpu"), repeats=3, warmup=2)
    assert len(calls) == 5 and len(timing.times_ms) == 3
    assert timing.min_ms <= timing.median_ms
    with pytest.raises(ValueError, match="repeats"):
        time_call(lambda: None, torch.device("cpu"), repeats=0)


def test_round_robin_interleaves_calls():
    order = []
    timings = time_round_robin({"a": lambda: order.append("a"), "b": lambda: order.append("b")},
                               torch.device("cpu"), repeats=2, warmup=1)
    assert order == ["a", "b"] * 3
    assert set(timings) == {"a", "b"} and len(timings["a"].times_ms) == 2


def test_ratio_handles_missing_values():
    assert ratio(6.0, 3.0) == 2.0
    assert ratio(None, 3.0) is None and ratio(1.0, None) is None and ratio(1.0, 0.0) is None
