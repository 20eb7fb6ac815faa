"""The one Preprocessing description: crop box, intensity, label maps, resizing back, checkpoint round trip."""

import io

import numpy as np
import pytest
import torch

from medinterp_widgets.data import DataFormatError
from medinterp_widgets.data.preprocessing import (
    Preprocessing,
    crop_box,
    from_checkpoint,
    keep_largest_component,
    map_labels,
    prepare,
    restore_probabilities,
    scale_intensity,
)


def test_crop_box_is_a_central_square_of_the_longer_side():
    box = crop_box((256, 216), 0.5)  # ACDC-like: 128 x 128 in the middle, inside the image
    assert (box.top, box.left, box.side, box.shape) == (64, 44, 128, (256, 216))
    wide = crop_box((100, 200), 0.75)  # side 150 > 100 rows: 25 rows of padding above and below
    assert (wide.top, wide.left, wide.side) == (-25, 25, 150)


def test_prepare_crops_pads_scales_and_maps_labels_by_hand():
    image = np.arange(16, dtype=np.float32).reshape(4, 4)
    label = np.array([[0, 0, 0, 0], [0, 3, 2, 0], [0, 1, 3, 0], [0, 0, 0, 0]], np.uint8)
    spec = Preprocessing(size=None, crop=0.5, intensity="minmax", label_maps={"acdc": {3: 1}})
    out = prepare(spec, image, label, "acdc")
    assert out.x.shape == (1, 2, 2) and out.x.dtype == np.float32
    np.testing.assert_allclose(out.x[0], [[0.0, 1 / 5], [4 / 5, 1.0]])  # pixels 5, 6, 9, 10 scaled to 0..1
    assert out.y.tolist() == [[1, 0], [0, 1]] and out.y.dtype == np.int64  # 3 -> 1, RV / myocardium -> 0
    padded = prepare(Preprocessing(crop=1.0, intensity="none"), np.ones((2, 4), np.float32) * 7)
    assert padded.x.shape == (1, 4, 4) and padded.x[0, 0].tolist() == [7.0] * 4  # rows padded with the minimum


def test_percentile_and_zscore_intensity():
    image = np.r_[np.zeros(98), 50.0, 1000.0].astype(np.float32).reshape(10, 10)  # one hot pixel
    scaled = scale_intensity(image, "percentile", (0.0, 99.0))
    assert scaled.max() == 1.0 and scaled.flat[98] == pytest.approx(50 / np.percentile(image, 99))
    z = scale_intensity(image, "zscore")
    assert z.mean() == pytest.approx(0.0, abs=1e-5) and z.std() == pytest.approx(1.0, rel=1e-4)


def test_map_labels_sends_unnamed_labels_to_zero():
    assert map_labels(np.array([0, 1, 2, 3, 7]), {3: 1, 2: 2}).tolist() == [0, 0, 2, 1, 0]


def test_restore_pastes_the_grid_back_with_background_outside():
    spec = Preprocessing(size=2, crop=0.5, intensity="none")
    image = np.zeros((4, 8), np.float32)  # crop side 4: columns 2..5, rows 0..3
    geometry = prepare(spec, image).geometry
    probabilities = torch.tensor([[[0.0, 0.0], [0.0, 0.0]], [[1.0, 1.0], [1.0, 1.0]]])  # (C=2, 2, 2): all LV
    native = restore_probabilities(probabilities, geometry)
    assert native.shape == (2, 4, 8)
    assert native.argmax(0).tolist() == [[0, 0, 1, 1, 1, 1, 0, 0]] * 4


def test_size_round_trip_of_a_mask_is_exact_for_block_shapes():
    label = np.zeros((8, 8), np.uint8)
    label[2:6, 2:6] = 1
    spec = Preprocessing(size=4, crop=1.0, intensity="none", label_maps={"k": {1: 1}})
    out = prepare(spec, np.zeros((8, 8), np.float32), label, "k")
    one_hot = torch.nn.functional.one_hot(torch.from_numpy(out.y), 2).permute(2, 0, 1).float()  # (2, 4, 4)
    back = restore_probabilities(one_hot, out.geometry).argmax(0).numpy()
    assert (back == label).mean() >= 0.9  # bilinear edges may move a boundary pixel, never the bulk


def test_dict_round_trip_survives_weights_only_load():
    spec = Preprocessing(size=96, crop=0.5, intensity="percentile", percentiles=(0.5, 99.5),
                         label_maps={"acdc": {3: 1}, "sunnybrook": {1: 1}})
    buffer = io.BytesIO()
    torch.save({"config": {"extra": {"preprocessing": spec.to_dict()}}}, buffer)
    buffer.seek(0)
    payload = torch.load(buffer, weights_only=True)
    assert from_checkpoint(payload) == spec
    assert from_checkpoint({"config": {"extra": {}}}) is None


def test_bad_values_name_the_field():
    with pytest.raises(ValueError, match="crop"):
        Preprocessing(crop=0.0)
    with pytest.raises(DataFormatError, match="unknown preprocessing field.*colour"):
        Preprocessing.from_dict({"colour": 1}, "ckpt.pt")
    with pytest.raises(DataFormatError, match="ckpt.pt.*intensity"):
        Preprocessing.from_dict({"intensity": "log"}, "ckpt.pt")
    with pytest.raises(ValueError, match="no label map for data set 'acdc'"):
        prepare(Preprocessing(), np.zeros((4, 4)), np.zeros((4, 4)), "acdc")


def test_legacy_checkpoint_keys_become_a_preprocessing():
    payload = {"config": {"extra": {"input_size": [64, 64], "input_normalize": "minmax",
                                    "eval_label_map": {"acdc": {"3": 1}}}}}
    spec = from_checkpoint(payload)
    assert (spec.size, spec.crop, spec.intensity, spec.label_map("acdc")) == (64, 1.0, "minmax", {3: 1})


def test_keep_largest_component_in_2d_and_across_stacked_slices():
    labels = np.zeros((6, 6), np.uint8)
    labels[0:2, 0:2] = 1  # 4 pixels
    labels[3:6, 3:6] = 1  # 9 pixels: kept
    labels[0, 5] = 2  # another class keeps its own largest part
    kept = keep_largest_component(labels)
    assert kept.sum() == 9 + 2 and kept[0, 0] == 0 and kept[0, 5] == 2 and labels[0, 0] == 1  # input untouched
    stack = np.zeros((3, 4, 4), np.uint8)
    stack[0, 0, 0] = stack[1, 1, 1] = stack[2, 2, 2] = 1  # diagonal neighbours across slices: one 3-D component
    stack[0, 3, 3] = 1  # an isolated voxel
    assert keep_largest_component(stack).sum() == 3


def test_resized_labels_stay_on_the_images_pixel_centres():
    from medinterp_widgets.data.images import resize_pair

    # 4 -> 3 columns: output pixel i reads input (i + 0.5) * 4 / 3 - 0.5 = 0.17, 1.5, 2.83 -> columns 0, 2, 3
    label = np.zeros((4, 4), np.uint8)
    label[:, 3] = 1
    assert resize_pair(np.zeros((4, 4), np.float32), label, (3, 3))[1].tolist() == [[0, 0, 1]] * 3
    # a disc centred at 63.5 of 128 px lands centred at (63.5 + 0.5) * 0.75 - 0.5 = 47.5 of 96 px
    rows, cols = np.mgrid[:128, :128]
    disc = ((rows - 63.5) ** 2 + (cols - 63.5) ** 2 < 30 ** 2).astype(np.uint8)
    small = resize_pair(np.zeros((128, 128), np.float32), disc, (96, 96))[1]
    assert np.abs(np.argwhere(small).mean(axis=0) - 47.5).max() < 0.15  # floor-based nearest: 47.85
