"""layer_table / format_layer_table: rows per leaf module, hooks removed, training flag restored."""

from __future__ import annotations

import pytest
import torch

from medinterp_widgets.models import UNet, VGGClassifier, format_layer_table, layer_table, parameter_count


def test_layer_table_rows_and_totals():
    model = VGGClassifier(width=2, cfg=[1, "M", 2], batch_norm=False, n_classes=3)
    rows = layer_table(model, torch.randn(1, 1, 8, 8))
    assert [r.name for r in rows][:4] == ["features.0", "features.1", "features.2", "features.3"]
    assert rows[0].type == "Conv2d" and rows[0].output_shape == (1, 2, 8, 8) and rows[0].params == 20
    assert rows[2].output_shape == (1, 2, 4, 4)  # after max-pooling
    assert sum(r.params for r in rows) == parameter_count(model)
    text = format_layer_table(rows)
    assert "features.0" in text and text.splitlines()[-1].endswith("111")


def test_layer_table_restores_model_state_even_on_error():
    model = UNet(base_channels=2, depth=1).train()
    hooks_before = {name: len(m._forward_hooks) for name, m in model.named_modules()}
    with pytest.raises(ValueError):
        layer_table(model, torch.randn(1, 3, 8, 8))  # wrong channel count
    layer_table(model, torch.randn(1, 1, 8, 8))
    assert model.training
    assert {name: len(m._forward_hooks) for name, m in model.named_modules()} == hooks_before
