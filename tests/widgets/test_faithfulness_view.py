"""Faithfulness scores beside the viewer's maps: the card's numbers are those of the compute core, the
grid gets a card per map, the curve opens on a click, a failing method is flagged in the method list,
and a new sample cancels the scores still being computed."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch
from torch import nn

from medinterp_widgets.attribution import RegionTarget, attribute
from medinterp_widgets.attribution.faithfulness import evaluate_maps
from medinterp_widgets.widgets.attribution_viewer import AttributionViewer
from medinterp_widgets.widgets.faithfulness_view import FAIL_MARK

from .conftest import tiny_segmenter


class ScaledEnergy(nn.Module):
    """Logits [0, Σ (w x)²]: its saliency |2 w² x| ranks pixels by |x| for any weight, so it fails
    the randomisation check (see the golden tests)."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv2d(1, 1, 1, bias=False)

    def forward(self, x):
        energy = (self.conv(x) ** 2).flatten(1).sum(1, keepdim=True)
        return torch.cat([torch.zeros_like(energy), energy], 1)


def test_main_card_shows_the_compute_core_scores(sample):
    x, masks = sample
    model = tiny_segmenter()
    viewer = AttributionViewer(model, x, masks=masks, methods=("gradcam", "saliency"), faithfulness=True)
    card = viewer.faith.main
    assert card.report is not None and card.key == viewer.cache_key("gradcam")
    expected = evaluate_maps(model, x, torch.from_numpy(viewer.heatmap)[None], target=RegionTarget(
        1, torch.from_numpy(masks == 1).float()[None]), method="gradcam", layer=viewer.layer,
        mask=torch.from_numpy(masks == 1)[None], steps=32)
    for key in ("deletion_auc", "insertion_auc", "road", "pointing_game", "relevance_mass"):
        assert card.report.values[key] == pytest.approx(expected.values[key], nan_ok=True), key
        assert f"{expected.values[key][0]:.3f}" in card.table.value or np.isnan(expected.values[key][0])
    assert "deletion AUC" in card.table.value and "randomisation" in card.table.value
    assert card in viewer.view_row.children[0].children  # beside the slice browser


def test_grid_cards_and_the_click_to_open_curve(sample):
    x, masks = sample
    viewer = AttributionViewer(tiny_segmenter(), x, masks=masks, methods=("gradcam", "hirescam", "saliency"),
                               faithfulness=True)
    viewer.compare = ["saliency", "hirescam"]
    for method in ("saliency", "hirescam"):
        card = viewer.faith.cards[method]
        assert card.report is not None and card.key == viewer.cache_key(method)
        assert viewer.grid.footers[method] is card
    cards = [viewer.faith.cards["saliency"], viewer.faith.cards["hirescam"]]
    assert all(card in box.children for box, card in zip(viewer.grid.children, cards))
    card = viewer.faith.cards["saliency"]
    assert card.curve is None and not card.toggle.disabled
    card.toggle.value = True
    lines = [r for r in card.curve._model.renderers if hasattr(r, "glyph")]
    assert len(lines) == 2 and card.curve in card.children
    deletion = card.report.curves.deletion[0]
    assert list(lines[0].data_source.data["y"]) == pytest.approx(list(deletion))
    card.toggle.value = False
    assert card.curve is None and len(card.children) == 2


def test_scores_are_cached_per_setting(sample, monkeypatch):
    from medinterp_widgets.widgets import faithfulness_view

    calls = []
    real = faithfulness_view.evaluate_maps
    monkeypatch.setattr(faithfulness_view, "evaluate_maps", lambda *a, **k: calls.append(k["method"]) or real(*a, **k))
    x, masks = sample
    viewer = AttributionViewer(tiny_segmenter(), x, masks=masks, methods=("gradcam", "saliency"), faithfulness=True)
    viewer.method = "saliency"
    viewer.method = "gradcam"
    assert calls == ["gradcam", "saliency"]
    assert viewer.faith.main.key == viewer.cache_key("gradcam") and viewer.faith.main.report is not None


def test_a_method_that_fails_randomisation_is_flagged_in_the_method_list():
    x = torch.randn(1, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    viewer = AttributionViewer(ScaledEnergy().eval(), x, methods=("saliency", "gradcam"), faithfulness=True)
    viewer.method = "saliency"
    assert viewer.faith.failing["saliency"]
    labels = dict(zip(viewer.method_box._options_values, viewer.method_box._options_labels))
    assert labels["saliency"] == "saliency" + FAIL_MARK
    assert viewer.method_box.value == "saliency"  # relabelling keeps the selection
    assert "FAIL" in viewer.faith.main.table.value
    compare_labels = {method: box.description for method, box in viewer.compare_box.boxes.items()}
    assert compare_labels["saliency"].endswith(FAIL_MARK)


def test_a_new_sample_cancels_the_scores_in_flight(sample):
    x, masks = sample
    viewer = AttributionViewer(tiny_segmenter(), x, masks=masks, methods=("gradcam",), threaded=True,
                               faithfulness=True)
    assert viewer.faith.wait(120)
    first_key = viewer.cache_key("gradcam")
    assert viewer.faith.results.get(first_key) is not None
    viewer.faith.results.clear()
    gate, real_copy = threading.Event(), viewer.faith._model_copy
    viewer.faith._model_copy = lambda: (gate.wait(60), real_copy())[1]  # hold the worker at its job's start
    viewer.faith.request("gradcam", viewer.heatmap, viewer.faith.main)
    viewer.faith.cancel()  # the slice changes while the job waits
    gate.set()
    viewer.set_sample(x.flip(-1), masks=masks[:, ::-1])
    assert viewer.faith.wait(120)
    second_key = viewer.cache_key("gradcam")
    assert second_key != first_key and viewer.faith.main.key == second_key
    assert viewer.faith.main.report is not None and viewer.faith.results.get(second_key) is not None
    assert viewer.faith.results.get(first_key) is None  # the cancelled job stored nothing
    viewer.close()


def test_off_by_default_outside_a_kernel(sample):
    x, masks = sample
    viewer = AttributionViewer(tiny_segmenter(), x, masks=masks, methods=("gradcam",))
    assert viewer.faith is None and viewer.view_row.children[0] is viewer.browser


def test_grid_maps_keep_matching_the_engine(sample):
    x, masks = sample
    model = tiny_segmenter()
    viewer = AttributionViewer(model, x, masks=masks, methods=("gradcam", "saliency"), faithfulness=True)
    viewer.compare = ["saliency"]
    target = RegionTarget(1, torch.from_numpy(masks == 1).float()[None])
    saliency = attribute(model, x, method="saliency", target=target)
    np.testing.assert_allclose(viewer.cache.get(viewer.cache_key("saliency")), saliency[0].numpy(), rtol=1e-5)
