"""Properties of per-sample normalisation: ranges, order kept (never inverted), no NaN."""

from __future__ import annotations

import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from medinterp_widgets.attribution import normalize_maps

maps = arrays("float32", st.tuples(st.integers(1, 3), st.integers(1, 5), st.integers(1, 5)),
              elements=st.floats(-1e3, 1e3, width=32))


@settings(max_examples=30, deadline=None)
@given(maps)
def test_max_keeps_sign_and_order(values):
    raw = torch.from_numpy(values)
    scaled = normalize_maps(raw, "max")
    assert torch.isfinite(scaled).all() and scaled.abs().max() <= 1 + 1e-6
    assert torch.equal(torch.sign(scaled), torch.sign(raw))
    flat_raw, flat_scaled = raw.flatten(1), scaled.flatten(1)
    for row_raw, row_scaled in zip(flat_raw, flat_scaled):  # monotone: order never flips
        order = torch.argsort(row_raw, stable=True)
        assert (row_scaled[order].diff() >= -1e-6).all()


@settings(max_examples=30, deadline=None)
@given(maps)
def test_minmax_is_within_unit_interval_and_monotone(values):
    raw = torch.from_numpy(values)
    scaled = normalize_maps(raw, "minmax")
    assert torch.isfinite(scaled).all() and scaled.min() >= 0 and scaled.max() <= 1 + 1e-6
    for row_raw, row_scaled in zip(raw.flatten(1), scaled.flatten(1)):
        order = torch.argsort(row_raw, stable=True)
        assert (row_scaled[order].diff() >= -1e-6).all()
        if row_raw.max() > row_raw.min():
            assert row_scaled.max() > 0.999


def test_input_is_not_mutated_and_none_is_identity():
    raw = torch.randn(2, 4, 4)
    copy = raw.clone()
    normalize_maps(raw, "minmax")
    normalize_maps(raw, "max")
    assert torch.equal(raw, copy) and normalize_maps(raw, None) is raw
