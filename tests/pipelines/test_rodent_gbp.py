"""rodent-gbp: hand-checkable unit tests of the GBP enhancement, mask placement and tables."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from medinterp_widgets.pipelines.rodent_gbp import (BrainTarget, Config, add_head_artefacts, enhance_gradient,
                                                     mask_template, place_mask, remove_background, shift_image)
from medinterp_widgets.pipelines.rodent_gbp.data import SliceSet, mouse_sets, reference_indices
from medinterp_widgets.pipelines.rodent_gbp.gbp import best_placement
from medinterp_widgets.pipelines.rodent_gbp.evaluate import saliency_shift, tissue_rows


def test_enhancement_peaks_two_standard_deviations_above_the_mean_log_gradient():
    logs = np.array([2.0, -0.5, -0.5, -0.5, -0.5])  # mean 0, std 1 -> z = logs
    enhanced = enhance_gradient(-np.exp(logs), eps=0.0)  # the sign is dropped by |g|
    assert enhanced[0] == pytest.approx(1.0)
    assert enhanced[1:] == pytest.approx(np.exp(-((-0.5 - 2.0) / 0.5) ** 2), abs=1e-12)


def test_enhancement_of_a_flat_gradient_is_flat_and_input_is_untouched():
    gradient = np.full((4, 4), 3.0)
    out = enhance_gradient(gradient)
    assert np.allclose(out, np.exp(-16.0)) and np.all(gradient == 3.0)


def test_shift_image_moves_whole_pixels_with_zero_fill_and_keeps_dtype():
    mask = np.zeros((6, 6), bool)
    mask[1, 1] = True
    moved = shift_image(mask, (2, 3))
    assert moved.dtype == bool and moved[3, 4] and moved.sum() == 1
    assert not shift_image(mask, (-2, 0)).any()


def _blob_scene(offset=(0, 0)):
    mask = np.zeros((40, 48), bool)
    mask[10:24, 12:30] = True
    pattern = np.zeros(mask.shape, np.float32)
    pattern[12:22:3, 14:28:2] = 1.0  # textured response inside the brain
    pattern[mask & ~shift_image(np.pad(mask[1:-1, 1:-1], 1), (0, 0))] = 1.0  # and along its edge
    return shift_image(mask, offset), shift_image(pattern, offset)


@pytest.mark.parametrize("offset", [(0, 0), (5, -4), (-3, 9)])
def test_place_mask_recovers_a_known_offset(offset):
    reference_mask, reference_pattern = _blob_scene()
    template = mask_template(reference_mask, reference_pattern, margin=2)
    assert template.template.shape == (14 + 4, 18 + 4)
    true_mask, moved_pattern = _blob_scene(offset)
    placement = place_mask(moved_pattern, template)
    assert placement.offset == offset
    assert np.array_equal(placement.mask, true_mask)
    assert placement.correlation.shape == reference_mask.shape


def test_best_placement_picks_the_template_that_fits_best():
    reference_mask, reference_pattern = _blob_scene()
    other_mask = np.zeros_like(reference_mask)
    other_mask[5:35, 20:26] = True  # a tall thin brain: a poor fit
    templates = [mask_template(other_mask, np.ones(other_mask.shape)), mask_template(reference_mask, reference_pattern)]
    index, placement = best_placement(_blob_scene((2, 3))[1], templates)
    assert index == 1 and placement.offset == (2, 3)


def test_reference_indices_take_the_nearest_level_of_each_animal():
    empty = np.zeros((4, 2, 2))
    train = SliceSet(empty, empty, empty.astype(bool), np.array([1, 5, 2, 9]), ("a", "a", "b", "b"), "test")
    assert reference_indices(train, 6) == [1, 3]
    assert reference_indices(train, 0) == [0, 2]


def test_mask_template_rejects_an_empty_mask_and_place_mask_a_wrong_grid():
    with pytest.raises(ValueError, match="empty"):
        mask_template(np.zeros((5, 5), bool), np.ones((5, 5)))
    template = mask_template(*_blob_scene())
    with pytest.raises(ValueError, match="reference grid"):
        place_mask(np.zeros((10, 10)), template)


def test_remove_background_multiplies_by_the_mask():
    image = np.arange(4, dtype=np.float32).reshape(2, 2)
    assert remove_background(image, np.array([[1, 0], [0, 1]])).tolist() == [[0, 0], [0, 3]]


def test_brain_target_sums_each_brain_class_over_its_predicted_region():
    output = torch.zeros(1, 4, 2, 2)
    output[0, 0, 0, 0] = 5.0  # background wins at (0, 0)
    output[0, 1, 0, 1] = 2.0  # WM at (0, 1)
    output[0, 2, 1, 0] = 3.0  # GM at (1, 0)
    output[0, 3, 1, 1] = 4.0  # CSF at (1, 1)
    output[0, 2, 0, 1] = 1.0  # a GM logit outside GM's region: not counted
    assert BrainTarget().score(output).tolist() == [2.0 + 3.0 + 4.0]


def test_tissue_rows_of_a_perfect_segmentation():
    truth = np.array([[0, 1], [2, 3]], np.uint8)
    rows = tissue_rows(truth, truth, "true mask")
    assert [row["tissue"] for row in rows] == ["WM", "GM", "CSF"]
    for row in rows:
        assert row["accuracy"] == row["specificity"] == row["sensitivity"] == row["DSC"] == 1.0


def test_tissue_rows_one_vs_rest_counts():
    truth = np.array([1, 1, 2, 2, 0, 0], np.uint8)
    pred = np.array([1, 2, 2, 2, 0, 1], np.uint8)
    wm = tissue_rows(pred, truth, "x")[0]  # WM: tp 1, fn 1, fp 1, tn 3
    assert (wm["sensitivity"], wm["specificity"], wm["accuracy"], wm["DSC"]) == (0.5, 0.75, 4 / 6, 0.5)


def test_saliency_shift_follows_a_translation():
    heat = np.zeros((32, 32))
    heat[8:14, 10:20] = 1.0
    heat[11, 15] = 4.0
    assert saliency_shift(shift_image(heat, (4, -6)), heat) == (4.0, -6.0)
    assert np.isnan(saliency_shift(np.zeros((8, 8)), heat)).all()


def test_head_artefacts_fill_the_outside_and_leave_the_input_alone():
    image = np.zeros((40, 40), np.float32)
    mask = np.zeros((40, 40), bool)
    mask[12:28, 12:28] = True
    image[mask] = 0.6
    before = image.copy()
    out = add_head_artefacts(image, mask, seed=1)
    assert np.array_equal(image, before) and out.dtype == np.float32
    assert 0.0 <= out.min() and out.max() <= 1.0
    assert out[~mask].mean() > 0.05  # signal outside the brain now
    assert abs(float(out[mask].mean()) - 0.6) < 0.2


def test_config_presets():
    assert Config.preset("quick", data_root=None).data_root is None
    assert Config.preset("full").lr == 3e-4 and Config.preset("full").batch_size == 5
    assert Config.preset("smoke", epochs=2).epochs == 2
    with pytest.raises(ValueError, match="preset"):
        Config.preset("huge")
    with pytest.raises(ValueError, match="unknown fields"):
        Config.preset("smoke", nonsense=1)


def test_real_mouse_sets_split_by_animal(real_dataset):
    train, test = mouse_sets(real_dataset("mouse_brain"), 1, 2, 16, 0.12, 0, size=(32, 20))
    assert set(train.groups).isdisjoint(test.groups)
    assert train.images.shape[1:] == test.images.shape[1:] == (32, 20)
    assert np.all(train.images[~train.masks] == 0)  # skull-stripped training slices
    assert np.any(test.images[~test.masks] > 0)  # artefacts outside the test brains
