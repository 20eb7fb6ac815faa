"""``eval_mode``: eval inside the block, every module's own flag back afterwards (also after an error)."""

from __future__ import annotations

import pytest
from torch import nn

from medinterp_widgets.models import eval_mode


def test_eval_mode_restores_each_modules_flag_even_after_an_error():
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.Dropout())
    model.train()
    model[1].eval()  # a frozen BatchNorm inside a training model stays frozen
    with pytest.raises(RuntimeError, match="inside"):
        with eval_mode(model) as same:
            assert same is model and not any(m.training for m in model.modules())
            raise RuntimeError("inside")
    assert [m.training for m in model.modules()] == [True, True, False, True]
