"""COVID-CT images (grey/RGB/RGBA -> one channel), group keys, lesion masks; tiny files and the real copy."""

import collections

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from medinterp_widgets.data import (
    CovidCtDataset,
    CovidLesionDataset,
    DataFormatError,
    fold_subsets,
    load_covid_ct,
    load_covid_lesions,
    read_grey_image,
)
from medinterp_widgets.data.covid_ct import covid_paper_key
from medinterp_widgets.data.covid_lesions import radiological_view


def test_grey_rgb_rgba_give_one_channel(tmp_path):
    grey = np.tile(np.arange(0, 250, 10, dtype=np.uint8), (5, 1))  # (5, 25)
    cv2.imwrite(str(tmp_path / "g.png"), grey)
    cv2.imwrite(str(tmp_path / "rgb.png"), np.dstack([grey] * 3))
    rgba = np.dstack([grey] * 3 + [np.full_like(grey, 255)])
    rgba[0, :, 3] = 0  # transparent top row -> black
    cv2.imwrite(str(tmp_path / "rgba.png"), rgba)
    cv2.imwrite(str(tmp_path / "g16.png"), grey.astype(np.uint16) * 257)
    expected = grey / 255.0
    for name in ("g.png", "rgb.png", "g16.png"):
        out = read_grey_image(tmp_path / name)
        assert out.shape == (5, 25) and out.dtype == np.float32
        np.testing.assert_allclose(out, expected, atol=1e-3)
    out = read_grey_image(tmp_path / "rgba.png")
    np.testing.assert_allclose(out[1:], expected[1:], atol=1e-3)
    assert out[0].max() == 0


def test_bad_image_raises_named_error(tmp_path):
    (tmp_path / "broken.png").write_bytes(b"\x89PNG not really")
    with pytest.raises(DataFormatError, match="broken.png: signature: not a PNG or JPEG"):
        read_grey_image(tmp_path / "broken.png")


@pytest.mark.parametrize("name, key", [
    ("2020.02.10.20021584-p6-52%0", "2020.02.10.20021584"),
    ("2020.03.01.20029769-p21-73_2%0", "2020.03.01.20029769"),
    ("PIIS0140673620301549_0%1", "PIIS0140673620301549"),
    ("PIIS0140673620303603%7", "PIIS0140673620303603"),
    ("kjr-21-e24-p2-8", "kjr-21-e24"),
    ("bmj.m606.full-p4-22%1", "bmj.m606.full"),
])
def test_covid_paper_key(name, key):
    assert covid_paper_key(name) == key


def make_covid(root):
    for folder, names in {"CT_COVID": ["a-p1-2%0.png", "a-p3-4%1.png", "b-p2-1.png"],
                          "CT_NonCOVID": ["1%0.jpg", "1%2.jpg", "10.png", "12.png", "20.png", "2.jpg"]}.items():
        (root / folder).mkdir(parents=True)
        for i, name in enumerate(names):
            cv2.imwrite(str(root / folder / name), np.full((8 + i, 9, 3), 40 * i, np.uint8))
    return root


def test_tiny_covid_groups_labels_dataset(tmp_path):
    items = load_covid_ct(make_covid(tmp_path / "covid_ct"))
    groups = {item.path.name: item.group for item in items}
    assert groups["a-p1-2%0.png"] == groups["a-p3-4%1.png"] == "CT_COVID/a"
    assert groups["1%0.jpg"] == groups["1%2.jpg"] != groups["2.jpg"]
    assert groups["10.png"] == groups["12.png"] != groups["20.png"]
    assert sum(item.label for item in items) == 3
    dataset = CovidCtDataset(items, size=(16, 16))
    sample = dataset[0]
    assert sample["image"].shape == (1, 16, 16) and sample["label"].dtype == torch.int64 and sample["label"] == 1


def make_lesions(root):
    binary, multi = root / "LungInfection-Train" / "Doctor-label", root / "MultiClassInfection-Train"
    for folder in (binary / "Imgs", binary / "GT", multi / "Imgs", multi / "GT"):
        folder.mkdir(parents=True)
    mask = np.zeros((6, 7), np.uint8)
    mask[2:4, 2:5] = 255
    classes = (mask > 0).astype(np.uint8)
    classes[3, 2] = 2
    for case in ("0", "1"):
        cv2.imwrite(str(binary / "Imgs" / f"{case}.jpg"), np.full((6, 7), 100, np.uint8))
        cv2.imwrite(str(multi / "Imgs" / f"{case}.jpg"), np.full((6, 7), 100, np.uint8))
        cv2.imwrite(str(binary / "GT" / f"{case}.png"), mask)
        palette = Image.fromarray(classes, mode="P")
        palette.putpalette([0, 0, 0, 128, 0, 0, 0, 128, 0] + [0] * 759)
        palette.save(multi / "GT" / f"{case}.png")
    return root


def test_tiny_lesions_binary_and_multiclass(tmp_path):
    root = make_lesions(tmp_path / "les")
    image, mask = load_covid_lesions(root)[0].read()
    assert image.shape == mask.shape == (6, 7) and mask.sum() == 6 and mask.max() == 1
    turned, turned_mask = load_covid_lesions(root)[0].read(radiological=True)
    assert turned.shape == turned_mask.shape == (7, 6) and turned_mask.sum() == 6
    top_left_goes_top_right = radiological_view(np.arange(6).reshape(2, 3))  # a quarter turn clockwise
    np.testing.assert_array_equal(top_left_goes_top_right, [[3, 0], [4, 1], [5, 2]])
    _, classes = load_covid_lesions(root, multiclass=True)[1].read()
    assert set(np.unique(classes)) == {0, 1, 2}
    sample = CovidLesionDataset(load_covid_lesions(root), size=(12, 14))[0]
    assert sample["label"].shape == (12, 14) and set(sample["label"].unique().tolist()) == {0, 1}


def test_bad_lesion_mask_and_missing_gt(tmp_path):
    root = make_lesions(tmp_path / "les")
    gt = root / "LungInfection-Train" / "Doctor-label" / "GT" / "1.png"
    cv2.imwrite(str(gt), np.full((6, 7), 77, np.uint8))
    with pytest.raises(DataFormatError, match="1.png: mask values"):
        load_covid_lesions(root)[1].read()
    gt.unlink()
    with pytest.raises(DataFormatError, match="GT mask missing"):
        load_covid_lesions(root)


@pytest.mark.data
def test_real_covid_ct(real_dataset):
    items = load_covid_ct(real_dataset("covid_ct"))
    assert collections.Counter(item.label for item in items) == {1: 235, 0: 273}
    groups = {item.group for item in items}
    assert 120 <= len(groups) <= 200  # 142 on the shared copy (near-duplicates merged)
    for item in items[::60]:
        image = item.read()
        assert image.ndim == 2 and image.dtype == np.float32 and 0 <= image.min() <= image.max() <= 1
    dataset = CovidCtDataset(items, size=(32, 32))
    folds = fold_subsets(dataset, k=5, seed=0, strata=dataset.labels)
    seen = []
    for train, val in folds:
        train_groups = {dataset.groups[i] for i in train.indices}
        val_groups = {dataset.groups[i] for i in val.indices}
        assert not train_groups & val_groups
        assert {dataset.labels[i] for i in val.indices} == {0, 1}
        seen += val.indices
    assert sorted(seen) == list(range(len(dataset)))


@pytest.mark.data
def test_real_lesions(real_dataset):
    root = real_dataset("covid_ct_lesions")
    binary, multi = load_covid_lesions(root), load_covid_lesions(root, multiclass=True)
    assert len(binary) == len(multi) == 50
    image, mask = binary[0].read()
    assert image.shape == mask.shape and set(np.unique(mask)) <= {0, 1} and mask.any()
    labels = set()
    for item in multi[:10]:
        labels |= set(np.unique(item.read()[1]).tolist())
    assert labels == {0, 1, 2}


@pytest.mark.data
@pytest.mark.slow
def test_real_near_duplicates_share_a_group(real_dataset):
    """Images whose 32x32 thumbnails correlate > 0.9 within one class never sit in different groups."""
    items = load_covid_ct(real_dataset("covid_ct"))
    thumbs = []
    for item in items:
        thumb = cv2.resize(item.read(), (32, 32), interpolation=cv2.INTER_AREA).ravel()
        thumbs.append((thumb - thumb.mean()) / (thumb.std() + 1e-6))
    thumbs = np.stack(thumbs)  # (N, 1024)
    correlation = thumbs @ thumbs.T / thumbs.shape[1]  # (N, N)
    pairs = np.argwhere(np.triu(correlation, 1) > 0.9)
    assert len(pairs) >= 5  # the shared copy has adjacent-slice near-duplicates
    split = [(items[i].path.name, items[j].path.name) for i, j in pairs
             if items[i].label == items[j].label and items[i].group != items[j].group]
    assert not split
