"""`medinterp bench own-models`: its arguments and its refusal of a data root without the two cases (the
timed run itself needs the shared data and is not run in tests)."""

from __future__ import annotations

import pytest

from medinterp_widgets.bench.own_models import _cases
from medinterp_widgets.cli import build_parser


def test_arguments_and_missing_cases(tmp_path):
    args = build_parser().parse_args(["bench", "own-models", "--threads", "2", "--json"])
    assert (args.threads, args.json, args.data_root) == (2, True, None)
    with pytest.raises(FileNotFoundError, match="acdc/data"):
        _cases(tmp_path)
    (tmp_path / "acdc" / "data").mkdir(parents=True)
    (tmp_path / "acdc" / "data" / "p_slice_1.h5").touch()
    (tmp_path / "mouse_brain" / "template").mkdir(parents=True)
    (tmp_path / "mouse_brain" / "template" / "m.nii.gz").touch()
    assert _cases(tmp_path) == ("acdc/data/p_slice_1.h5", "mouse_brain/template/m.nii.gz")
