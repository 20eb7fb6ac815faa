"""The data layer's error helpers: warnings are silenced only where a parser needs it; skip-or-raise."""

from __future__ import annotations

import warnings

import pytest

from medinterp_widgets.data.errors import (
    DataRepairWarning,
    DicomReadError,
    DicomTooLargeError,
    quiet_library_warnings,
    skip_or_raise,
    wrap_errors,
)


def test_wrap_errors_lets_warnings_through_and_quiet_keeps_our_own():
    with pytest.warns(UserWarning, match="a caller's warning"):
        with wrap_errors("f.dcm", "reading"):
            warnings.warn("a caller's warning", UserWarning, stacklevel=1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with quiet_library_warnings():
            warnings.warn("pydicom: odd DS value", UserWarning, stacklevel=1)
            warnings.warn("f.nii: 2 NaN voxels set to 0", DataRepairWarning, stacklevel=1)
    assert [type(w.message) for w in caught] == [DataRepairWarning]


def test_skip_or_raise_records_skips_and_raises_the_rest():
    skipped: list[tuple[str, str]] = []
    done = []
    for name in ("a.dcm", "b.dcm", "c.dcm"):
        with skip_or_raise(True, skipped, DicomReadError):
            if name == "b.dcm":
                raise DicomReadError(name, "no PixelData")
            done.append(name)
    assert done == ["a.dcm", "c.dcm"] and skipped == [("b.dcm", "no PixelData")]
    with pytest.raises(DicomReadError):
        with skip_or_raise(False, skipped, DicomReadError):
            raise DicomReadError("d.dcm", "bad")
    with pytest.raises(DicomTooLargeError):
        with skip_or_raise(True, skipped, DicomReadError, never=(DicomTooLargeError,)):
            raise DicomTooLargeError("e.dcm", "too large")
    with pytest.raises(KeyError):
        with skip_or_raise(True, skipped, DicomReadError):
            raise KeyError("not a data error")
    assert len(skipped) == 1
