"""rodent-gbp: hand-checkable unit tests of the enhancement steps, placement, measures and data."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import ndimage

from medinterp_widgets.pipelines.rodent_gbp import (
    BrainTarget,
    Config,
    Reference,
    add_head_artefacts,
    enhance_gradient,
    enhancement_steps,
    place_multi,
    place_paper,
    remove_background,
    shift_image,
)
from medinterp_widgets.pipelines.rodent_gbp.data import prepare_input, split_animals, training_slices, unmasked_input
from medinterp_widgets.pipelines.rodent_gbp.experiments import saliency_shift
from medinterp_widgets.pipelines.rodent_gbp.measures import binary_measures, mean_rows, paper_table, tissue_measures
from medinterp_widgets.pipelines.rodent_gbp.placement import flow_warp, ncc_shift, plain_shift, transform_reference


def test_enhancement_steps_by_hand():
    gradient = np.array([-2.0, 1.0, 0.0, 0.5])
    steps = enhancement_steps(gradient, expand_max=4.0)
    np.testing.assert_allclose(steps["linear expansion"], [4.0, 2.0, 0.0, 1.0])  # 4 |g| / max|g|
    np.testing.assert_allclose(steps["log compression"], np.log1p([4.0, 2.0, 0.0, 1.0]))
    logs = np.log1p([4.0, 2.0, 0.0, 1.0])
    np.testing.assert_allclose(steps["z-score"], (logs - logs.mean()) / logs.std())
    np.testing.assert_allclose(steps["f(z)"], np.exp(-(((logs - logs.mean()) / logs.std() - 2.0) / 0.5) ** 2))


def test_bump_peaks_at_two_and_a_flat_gradient_stays_flat():
    z_two = np.exp(-((2.0 - 2.0) / 0.5) ** 2)
    assert z_two == 1.0
    flat = np.full((4, 4), 3.0)
    out = enhance_gradient(flat)
    assert np.allclose(out, np.exp(-16.0)) and np.all(flat == 3.0)  # z = 0 everywhere; input untouched
    assert enhance_gradient(np.zeros((3, 3))).shape == (3, 3)


def test_shift_image_moves_whole_voxels_with_zero_fill_and_keeps_dtype():
    mask = np.zeros((6, 6), bool)
    mask[1, 1] = True
    moved = shift_image(mask, (2, 3))
    assert moved.dtype == bool and moved[3, 4] and moved.sum() == 1
    assert not shift_image(mask, (-2, 0)).any()


def _brain_volume(offset=(0, 0, 0)):
    """(12, 40, 30) volume: an ellipsoid brain whose enhanced map is textured inside and bright at its rim."""
    z, y, x = np.meshgrid(np.arange(12), np.arange(40), np.arange(30), indexing="ij")
    mask = ((z - 6) / 4.5) ** 2 + ((y - 18) / 11) ** 2 + ((x - 14) / 7) ** 2 <= 1
    pattern = np.where(mask, 0.3 + 0.2 * np.sin(y / 2.0) * np.cos(x / 3.0), 0.0)
    rim = mask & ~np.pad(mask[:, 1:-1, 1:-1], ((0, 0), (1, 1), (1, 1)))
    pattern[rim] = 1.0
    return shift_image(mask, offset), shift_image(pattern.astype(np.float32), offset)


@pytest.mark.parametrize("offset", [(0, 3, -2), (2, -4, 5), (-1, 0, 0)])
def test_plain_and_normalised_correlation_recover_a_known_3d_offset(offset):
    mask, pattern = _brain_volume()
    moved_mask, moved = _brain_volume(offset)
    box = tuple(slice(int(np.nonzero(mask)[i].min()), int(np.nonzero(mask)[i].max()) + 1) for i in range(3))
    template = (mask * pattern)[box]
    assert plain_shift(moved, template, box)[0] == offset
    assert ncc_shift(moved, template, box)[0] == offset


def test_paper_placement_aligns_the_sagittal_axis_then_each_slice():
    mask, pattern = _brain_volume()
    reference = Reference.build("ref", mask, pattern)
    moved_mask, moved = _brain_volume((2, 3, -2))  # the test animal's slices start 2 later
    placed = place_paper(moved, reference)
    assert placed.alignment == (2, 3, -2)
    assert np.array_equal(placed.mask, moved_mask)


def test_transform_reference_rotates_about_the_brain_centre_then_moves():
    mask, pattern = _brain_volume()
    reference = Reference.build("r", mask, pattern)
    assert np.array_equal(transform_reference(reference, 0.0, (1, 2, -3)).mask, shift_image(mask, (1, 2, -3)))
    turned = transform_reference(reference, 90.0)
    assert turned.mask.sum() == pytest.approx(mask.sum(), rel=0.1)
    np.testing.assert_allclose(np.argwhere(turned.mask).mean(0), np.argwhere(mask).mean(0), atol=0.6)


def test_multi_placement_finds_the_rotation_and_votes():
    mask, pattern = _brain_volume()
    references = [Reference.build(f"r{k}", mask, pattern) for k in range(3)]
    tilted = transform_reference(Reference.build("t", *_brain_volume((0, 2, 1))), 6.0)
    test_map = tilted.template + 0.05 * tilted.mask
    placed = place_multi(test_map, test_map, references, angles=(-6.0, 0.0, 6.0), flow=False)
    assert {d["angle"] for d in placed.details} == {6.0}
    assert binary_measures(placed.mask, tilted.mask)["DSC"] > 0.9


def test_optical_flow_deforms_the_reference_mask_onto_the_test_shape():
    mask, pattern = _brain_volume()
    reference = Reference.build("r", mask, pattern, ndimage.gaussian_filter(pattern, 1.0))
    stretched_mask = ndimage.zoom(mask.astype(np.float32), (1, 1.1, 1), order=1)[:, :40] > 0.5  # a longer brain
    stretched = ndimage.gaussian_filter(ndimage.zoom(pattern, (1, 1.1, 1), order=1)[:, :40], 1.0)
    warped = flow_warp(stretched, reference, iterations=30)
    assert binary_measures(warped, stretched_mask)["DSC"] > binary_measures(mask, stretched_mask)["DSC"] + 0.02


def test_brain_target_sums_each_brain_class_over_its_predicted_region():
    output = torch.zeros(1, 4, 2, 2)
    output[0, 0, 0, 0] = 5.0  # background wins at (0, 0)
    output[0, 1, 0, 1] = 2.0  # WM at (0, 1)
    output[0, 2, 1, 0] = 3.0  # GM at (1, 0)
    output[0, 3, 1, 1] = 4.0  # CSF at (1, 1)
    output[0, 2, 0, 1] = 1.0  # a GM logit outside GM's region: not counted
    assert BrainTarget().score(output).tolist() == [2.0 + 3.0 + 4.0]


def test_binary_measures_by_hand_and_dsc_is_the_harmonic_mean_of_precision_and_sensitivity():
    truth = np.array([1, 1, 1, 0, 0, 0, 0, 0], bool)
    pred = np.array([1, 1, 0, 1, 0, 0, 0, 0], bool)  # tp 2, fn 1, fp 1, tn 4
    m = binary_measures(pred, truth)
    assert (m["precision"], m["sensitivity"], m["specificity"], m["accuracy"]) == (2 / 3, 2 / 3, 0.8, 0.75)
    assert m["DSC"] == pytest.approx(2 * m["precision"] * m["sensitivity"] / (m["precision"] + m["sensitivity"]))


def test_tissue_measures_count_the_whole_volume_not_per_slice_means():
    truth = np.zeros((2, 2, 2), np.uint8)
    truth[0] = 3  # CSF only in slice 0
    pred = np.zeros_like(truth)  # CSF missed; slice 1 is empty in both (a per-slice mean would score it 1)
    assert tissue_measures(pred, truth)["CSF"]["DSC"] == 0.0
    assert np.isnan(tissue_measures(pred, truth)["WM"]["DSC"])  # absent from both: undefined, not 1


def test_mean_rows_and_paper_table():
    table = [{"animal": a, "condition": "c", "structure": "WM", "precision": p, "specificity": 1.0,
              "sensitivity": 0.5, "accuracy": 0.9, "DSC": d} for a, p, d in (("a", 0.4, 0.2), ("b", 0.6, float("nan")))]
    rows = mean_rows(table, "c")
    assert rows[0]["precision"] == pytest.approx(0.5) and rows[0]["DSC"] == 0.2 and rows[0]["animals"] == 2
    paper = paper_table(rows, "Table 2 (GBP mask)")
    assert paper[0]["paper DSC %"] == 86.05 and paper[0]["precision %"] == pytest.approx(50.0)
    assert paper[0]['paper "specificity" (= precision) %'] is None  # a column named as in the paper, not found
    from medinterp_widgets.pipelines.rodent_gbp.measures import missing_paper_cells

    missing = missing_paper_cells()  # 3 structures x 4 columns of Table 1, 4 x 3 non-DSC cells of Table 2
    assert len(missing) == 24 and "Table 1 (true mask): WM DSC" in missing
    assert "Table 2 (GBP mask): brain sensitivity" in missing and "Table 2 (GBP mask): brain DSC" not in missing


def test_remove_background_and_saliency_shift():
    image = np.arange(4, dtype=np.float32).reshape(2, 2)
    assert remove_background(image, np.array([[1, 0], [0, 1]])).tolist() == [[0, 0], [0, 3]]
    heat = np.zeros((32, 32))
    heat[8:14, 10:20] = 1.0
    heat[11, 15] = 4.0
    assert saliency_shift(shift_image(heat, (4, -6)), heat) == (4.0, -6.0)
    assert np.isnan(saliency_shift(np.zeros((8, 8)), heat)).all()


@pytest.mark.parametrize("shape", [(40, 40), (10, 30, 30)])
def test_head_artefacts_fill_the_outside_and_leave_the_brain_alone(shape):
    mask = np.zeros(shape, bool)
    mask[tuple(slice(n // 4, 3 * n // 4) for n in shape)] = True
    image = np.where(mask, 0.6, 0.0).astype(np.float32)
    before = image.copy()
    out = add_head_artefacts(image, mask, seed=1)
    assert np.array_equal(image, before) and out.dtype == np.float32 and out.shape == shape
    assert np.array_equal(out[mask], image[mask])  # brain voxels untouched
    assert 0.0 <= out.min() and out.max() <= 1.0 and out[~mask].mean() > 0.03
    assert np.array_equal(unmasked_input(out, mask, seed=2), out)  # already unmasked: kept as it is


def test_prepare_input_scales_by_the_signal_percentile():
    image = np.zeros((4, 50), np.float32)
    image[:, :40] = np.linspace(1, 200, 160).reshape(4, 40)
    scaled = prepare_input(image, "percentile")
    assert scaled.max() == 1.0 and scaled[:, 40:].max() == 0.0 and scaled.dtype == np.float32


def test_prepare_input_brain_median_puts_the_median_at_one_half():
    image = np.zeros((2, 6), np.float32)
    image[0, :5] = [10, 20, 30, 40, 100]  # voxels with signal: median 30, so x / 60 clipped to 0..1
    scaled = prepare_input(image, "brain_median")
    assert np.allclose(scaled[0], [1 / 6, 1 / 3, 1 / 2, 2 / 3, 1.0, 0.0]) and not scaled[1].any()
    assert prepare_input(np.zeros((2, 2)), "brain_median").max() == 0.0  # no signal: nothing to scale
    with pytest.raises(ValueError, match="input scale"):
        prepare_input(image, "max")
    with pytest.raises(ValueError, match="Config.input_scale"):
        Config(input_scale="max")


def test_split_and_training_slices():
    from medinterp_widgets.pipelines.rodent_gbp import phantom_animals

    animals = phantom_animals(3, (16, 32, 20), seed=0)
    train, test = split_animals(animals, (3,))
    assert [a.subject_id for a in test] == ["phantom-3"] and len(train) == 2
    with pytest.raises(ValueError, match="at least one"):
        split_animals(animals[:1], (1,))
    (x, y), (vx, vy) = training_slices(train, 0.05, 0.25, seed=0)
    assert x.shape[1:] == (1, 32, 20) and len(vx) == round(0.25 * (len(x) + len(vx)))
    assert np.all(x[:, 0][y == 0] == 0)  # skull-stripped training input (phantom labels cover the whole mask)
    (x3, y3), _ = training_slices(train, 0.05, 0.25, seed=0, channels=3)
    np.testing.assert_array_equal(x3[:, 1], x[:, 0])  # the middle channel is the slice itself, same order
    np.testing.assert_array_equal(y3, y)


def test_network_input_stacks_each_slice_with_its_neighbours():
    from medinterp_widgets.pipelines.rodent_gbp.data import network_input

    volume = np.arange(4, dtype=np.float32)[:, None, None] * np.ones((4, 2, 3), np.float32)  # slice i holds i
    single = network_input(volume)
    assert single.shape == (4, 1, 2, 3) and np.array_equal(single[:, 0], volume)
    five = network_input(volume, 5)
    assert five.shape == (4, 5, 2, 3)
    assert five[:, :, 0, 0].tolist() == [[0, 0, 0, 1, 2], [0, 0, 1, 2, 3], [0, 1, 2, 3, 0], [1, 2, 3, 0, 0]]
    assert network_input(five, 5) is not None and network_input(five, 5).shape == five.shape  # built input passes
    for bad, channels in ((volume, 2), (volume, 0), (five, 3), (volume[0], 1)):
        with pytest.raises(ValueError, match="network input"):
            network_input(bad, channels)


def test_config_presets_and_checks():
    assert Config.from_preset("quick", data_root=None).data_root is None
    full = Config.from_preset("full")
    assert (full.lr, full.momentum, full.batch_size, full.time_decay, full.optimizer) == (3e-4, 0.9, 5, 1.5e-6, "sgd")
    assert Config.from_preset("smoke", epochs=2).epochs == 2 and Config().preset == "custom"
    with pytest.raises(ValueError, match="preset"):
        Config.from_preset("huge")
    with pytest.raises(TypeError, match="unknown field"):
        Config.from_preset("smoke", nonsense=1)
    with pytest.raises(ValueError, match="placement"):
        Config(placement="elastic")
    assert Config().input_channels == 1 and Config(context=2).input_channels == 5
    with pytest.raises(ValueError, match="context"):
        Config(context=-1)
    with pytest.raises(ValueError, match="dice_weights"):
        Config(dice_weights=(1.0, 2.0, 1.0))


def test_trainer_settings_follow_the_config(tmp_path):
    from medinterp_widgets.pipelines.rodent_gbp.training import make_trainer, slice_dataset
    from medinterp_widgets.training.losses import DiceCrossEntropyLoss, SoftDiceLoss

    data = slice_dataset(np.zeros((10, 16, 16), np.float32), np.zeros((10, 16, 16), np.uint8))
    paper = make_trainer(Config.from_preset("full", base_channels=4, depth=2), data, tmp_path, "cpu")
    assert (paper.config.optimizer, paper.config.lr, paper.config.schedule, paper.config.time_decay) == \
        ("sgd", 3e-4, "inverse_time", 1.5e-6)
    assert isinstance(paper.loss_fn, SoftDiceLoss) and paper.config.best_metric == "train/loss"
    ours = make_trainer(Config(lr_drop_epoch=3, loss="dice_ce", base_channels=4, depth=2), data, tmp_path, "cpu",
                        val=data)
    assert (ours.config.schedule, ours.config.decay_steps, ours.config.decay_rate) == ("step", 6, 0.1)
    assert isinstance(ours.loss_fn, DiceCrossEntropyLoss) and ours.config.best_metric == "val/dice_mean"
    weighted = make_trainer(Config(dice_weights=(1.0, 2.0, 1.0, 2.0), base_channels=4, depth=2), data, tmp_path, "cpu")
    assert weighted.loss_fn.class_weights == (1.0, 2.0, 1.0, 2.0) and paper.loss_fn.class_weights is None
    assert Config.from_preset("paper").dice_weights == (1.0, 2.0, 1.0, 2.0)  # chosen on animal 5 (README)


def test_faithfulness_rows_of_the_brain_maps_on_a_tiny_unet():
    from medinterp_widgets.models import UNet
    from medinterp_widgets.pipelines.rodent_gbp.data import Animal
    from medinterp_widgets.pipelines.rodent_gbp.faithfulness import METHODS, faithfulness_scores, scored_slices

    torch.manual_seed(0)
    mask = np.zeros((10, 16, 12), bool)
    mask[2:8, 4:12, 3:9] = True
    images = np.random.default_rng(0).uniform(0, 1, mask.shape).astype(np.float32)
    animal = Animal("a", images * mask, images, mask.astype(np.uint8) * 2, mask)
    picks = scored_slices(animal, count=3)
    assert picks == [3, 4, 6]  # brain slices 2..7 at int(q * 5) for q = 0.2, 0.5, 0.8
    model = UNet(1, 4, 4, 2).eval()
    head = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)][-1]
    with torch.no_grad():
        head.bias[2] += 3.0  # predict grey matter everywhere, so the brain target has a region
    rows = faithfulness_scores(model, images[picks], mask[picks], "cpu", steps=4)
    assert [row["method"] for row in rows] == list(METHODS) and all(row["n"] == 3 for row in rows)
    for row in rows:
        assert 0 <= row["deletion_auc"] <= 1 and 0 <= row["insertion_auc"] <= 1
        assert 0 <= row["relevance_mass"] <= 1 and row["pointing_game"] in (0.0, 1 / 3, 2 / 3, 1.0)


def test_a_2_5d_unet_segments_explains_and_is_scored_on_slices_with_their_neighbours():
    from medinterp_widgets.models import UNet
    from medinterp_widgets.pipelines.rodent_gbp.data import network_input
    from medinterp_widgets.pipelines.rodent_gbp.faithfulness import faithfulness_scores
    from medinterp_widgets.pipelines.rodent_gbp.gbp import brain_gbp
    from medinterp_widgets.pipelines.rodent_gbp.steps import segment

    torch.manual_seed(0)
    volume = np.random.default_rng(1).uniform(0, 1, (5, 16, 12)).astype(np.float32)
    model = UNet(3, 4, 4, 2).eval()
    labels = segment(model, volume, "cpu", batch_size=2)
    built = network_input(volume, 3)
    with torch.no_grad():
        expected = model(torch.from_numpy(built)).argmax(1).numpy()
    assert labels.shape == (5, 16, 12) and np.array_equal(labels, expected)
    gradients = brain_gbp(model, volume, "cpu", batch_size=2)
    assert gradients.shape == (5, 16, 12) and np.allclose(gradients, brain_gbp(model, built, "cpu"))
    rows = faithfulness_scores(model, built[1:3], np.ones((2, 16, 12), bool), "cpu", steps=2)
    assert all(row["n"] == 2 for row in rows)
    with pytest.raises(ValueError, match="the model takes 3"):
        segment(model, network_input(volume, 1), "cpu")
