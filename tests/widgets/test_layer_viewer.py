"""LayerViewer: table rows match layer_table, stats from one probe, mosaics, patterns, model untouched."""

from __future__ import annotations

import math

import numpy as np
import torch

from medinterp_widgets.models.summary import layer_table
from medinterp_widgets.training.layer_probe import probe_layers
from medinterp_widgets.widgets.layer_viewer import LayerViewer

from .conftest import tiny_segmenter


def test_rows_stats_mosaics_and_patterns(sample):
    x, _ = sample
    model = tiny_segmenter().train()
    bn = model.encoder[0][1]
    before = (bn.running_mean.clone(), bn.running_var.clone(), int(bn.num_batches_tracked))
    viewer = LayerViewer(model, x)
    assert [r.name for r in viewer.rows] == [r.name for r in layer_table(model, x)]
    assert all(f"<td>{r.name} ({r.type})</td>" in viewer.table_html() for r in viewer.rows)
    assert "pool" not in viewer.map_layers and viewer.layer == "encoder.0.0"
    assert viewer.channel_count == viewer.controls["channel_count"].value == 16  # controls take the traits' values
    viewer.controls["unit"].value = "whole channel"
    assert viewer.unit == "whole channel"
    viewer.unit = "max neuron"
    conv = viewer.stats["encoder.0.0"]
    assert conv.grad_norm > 0 and not math.isnan(conv.activation_std)
    assert viewer.activations.shape == (17 + 1, 2 * 17 + 1)  # 2 channels of 16 x 16 side by side + padding
    viewer.layer, viewer.channel_count = "bottleneck.0", 1
    assert viewer.activations.shape == (10, 10)  # one 8 x 8 map + padding
    viewer.show_patterns()
    assert viewer.error == "" and viewer.patterns.shape == (18, 18)
    assert viewer.patterns.source.data["image"][0].dtype == np.uint8
    assert model.training and all(p.grad is None for p in model.parameters())
    assert torch.equal(bn.running_mean, before[0]) and int(bn.num_batches_tracked) == before[2]
    assert all(not m._forward_hooks and not m._backward_hooks for m in model.modules())


def test_probe_restores_existing_gradients(sample):
    x, _ = sample
    model = tiny_segmenter()
    grads = {name: torch.randn_like(p) for name, p in model.named_parameters()}
    for name, p in model.named_parameters():
        p.grad = grads[name].clone()
    stats = probe_layers(model, x)
    assert {s.name for s in stats} >= {"encoder.0.0", "classifier"}
    assert all(torch.equal(p.grad, grads[name]) for name, p in model.named_parameters())
    assert x.grad is None
