"""AttributionViewer without a browser: traits <-> controls, one engine call per setting, live scores,
errors shown not raised, the model left as found, background computation of slow methods."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from medinterp_widgets import render
from medinterp_widgets.attribution import METHODS, RegionTarget
from medinterp_widgets.metrics import consistent_degree, heatmap_overlap
from medinterp_widgets.widgets import attribution_viewer as viewer_module
from medinterp_widgets.widgets.attribution_viewer import AttributionViewer

from .conftest import no_gap_classifier, tiny_classifier, tiny_segmenter


@pytest.fixture
def engine_spy(monkeypatch):
    """Count the attribution engine calls the viewer makes (the real engine still runs)."""
    calls = []
    real = viewer_module.attribute_detailed  # the viewer also shows the layer the map was computed at

    def spy(model, x, **kwargs):
        calls.append((kwargs["method"], kwargs.get("layer"), kwargs["target"]))
        return real(model, x, **kwargs)

    monkeypatch.setattr(viewer_module, "attribute_detailed", spy)
    return calls


def test_traits_and_controls_round_trip(sample):
    x, masks = sample
    viewer = AttributionViewer(tiny_segmenter(), x, masks=masks, methods=("gradcam", "hirescam", "saliency"))
    assert viewer.method == "gradcam" and viewer.layer == "bottleneck" and viewer.target_class == 1
    viewer.method_box.value = "hirescam"
    assert viewer.method == "hirescam"
    viewer.layer = "encoder.0.0"
    assert viewer.layer_box.value == "encoder.0.0"
    viewer.compare = ["saliency"]
    assert viewer.compare_box.value == ("saliency",) and len(viewer.grid.children) == 1
    viewer.threshold_slider.value = 0.3
    assert viewer.support_threshold == 0.3 and viewer.browser.heatmap_threshold == 0.3
    viewer.method = "saliency"
    assert viewer.layer_box.disabled
    with pytest.raises(Exception, match="method"):
        viewer.method = "nope"


def test_engine_called_once_per_setting(sample, engine_spy):
    x, masks = sample
    viewer = AttributionViewer(tiny_segmenter(), x, masks=masks, methods=("gradcam", "hirescam", "saliency"))
    assert len(engine_spy) == 1
    viewer.method = "hirescam"
    viewer.method = "gradcam"
    viewer.method = "hirescam"
    assert [c[0] for c in engine_spy] == ["gradcam", "hirescam"]
    viewer.method = "saliency"
    viewer.layer = "encoder.0.0"  # saliency ignores the layer: no new call
    assert len(engine_spy) == 3
    assert viewer.region == "mask" and isinstance(engine_spy[0][2], RegionTarget)  # default with masks
    assert torch.equal(engine_spy[0][2].mask[0], torch.from_numpy(masks == 1).float())
    viewer.region = "predicted"
    assert len(engine_spy) == 4 and engine_spy[-1][2] == RegionTarget(1)
    viewer.compare = ["saliency", "gradcam"]  # saliency is cached; gradcam at encoder.0.0 is new
    assert len(engine_spy) == 5 and engine_spy[-1][:2] == ("gradcam", "encoder.0.0")
    viewer.set_sample(x.flip(-1), masks=masks[:, ::-1])
    assert len(engine_spy) == 7  # new sample: the shown method and the compared one again


def test_scores_match_metrics_on_a_hand_case(sample, monkeypatch):
    x, _ = sample
    heat = torch.ones(1, 16, 16)
    heat[0, :2, :2] = 3.0  # sum = 4 * 3 + 252 * 1 = 264
    found = SimpleNamespace(map=heat, layer_name="")  # what attribute_detailed returns, as far as the viewer reads
    monkeypatch.setattr(viewer_module, "attribute_detailed", lambda model, x, **kw: found)
    masks = np.zeros((16, 16), np.int64)
    masks[:2, :4] = 1  # 8 pixels: the 4 hot ones and 4 of value 1
    viewer = AttributionViewer(tiny_segmenter(), x, masks=masks)
    assert viewer.overlap == pytest.approx(16 / 264)
    viewer.support_threshold = 0.5  # support = the hot block -> covers 4 of 8 mask pixels
    assert viewer.consistent == pytest.approx(0.5)
    assert viewer.consistent == consistent_degree(heat[0].numpy(), masks == 1, 0.5)
    assert viewer.overlap == heatmap_overlap(heat[0].numpy(), masks == 1)
    assert "0.500" in viewer.scores_label.value


def test_errors_are_shown_not_raised(sample):
    x, _ = sample
    viewer = AttributionViewer(no_gap_classifier(), x, methods=("saliency", "cam"))
    assert viewer.method == "saliency" and viewer.error == ""
    viewer.method = "cam"
    assert "LayerError" in viewer.error and "b00020" in viewer.error_label.value
    assert math.isnan(viewer.overlap)
    viewer.method = "saliency"
    assert viewer.error == ""
    segmenter = AttributionViewer(tiny_segmenter(), x)  # no masks
    segmenter.region = "mask"
    assert "no mask" in segmenter.error


def test_classifier_targets_and_all_methods_leave_model_untouched(sample):
    x, masks = sample
    model = tiny_classifier().train()
    model[0].weight.grad = torch.full_like(model[0].weight, 7.0)
    stats = [t.clone() for t in (model[1].running_mean, model[1].running_var)]
    viewer = AttributionViewer(model, x, masks=masks, class_names=["a", "b", "c"])
    assert viewer.info.task == "classification" and viewer.region_box.layout.display == "none"
    viewer.target_class = 2
    viewer.compare = list(METHODS)  # every method, side by side
    assert model.training and torch.all(model[0].weight.grad == 7.0)
    assert all(p.grad is None for name, p in model.named_parameters() if not name.startswith("0."))
    assert torch.equal(model[1].running_mean, stats[0]) and torch.equal(model[1].running_var, stats[1])
    assert all(not m._forward_hooks and not m._backward_hooks for m in model.modules())
    assert len(viewer.grid.children) == len(METHODS)


def test_slow_method_runs_in_the_background(sample):
    x, masks = sample
    viewer = AttributionViewer(tiny_segmenter(), x, masks=masks, methods=("gradcam", "occlusion"), threaded=True)
    viewer.region = "whole"  # the random net may predict no class-1 pixel
    viewer.method = "occlusion"
    assert "computing occlusion" in viewer.status.value
    viewer.thread.join(timeout=60)
    assert not viewer.busy and not viewer.method_box.disabled and viewer.error == ""
    assert "computing" not in viewer.status.value
    assert viewer.heatmap.shape == (16, 16) and np.abs(viewer.heatmap).sum() > 0


def test_three_d_volume_and_grid_follow_the_slice():
    from medinterp_widgets.models import UNet

    torch.manual_seed(0)
    x = torch.randn(1, 1, 6, 8, 8)
    masks = np.zeros((6, 8, 8), np.int64)
    masks[2:4, 2:6, 2:6] = 1
    viewer = AttributionViewer(UNet(n_classes=2, base_channels=2, depth=1, dims=3).eval(), x, masks=masks,
                               methods=("gradcam", "saliency"))
    assert viewer.heatmap.shape == (6, 8, 8) and viewer.error == "" and viewer.browser.n_slices() == 6
    viewer.compare = ["saliency"]
    viewer.browser.slice_index = 1
    shown = viewer.grid.figures["saliency"].source.data["heat"][0]
    saliency = viewer.cache.get(viewer.cache_key("saliency"))
    assert shown.shape == (8, 8) and shown.dtype == np.uint8
    expected = render.heatmap_to_index(saliency[1], *render.heatmap_range(saliency))  # slice 1 of the map
    assert np.array_equal(shown, expected)
