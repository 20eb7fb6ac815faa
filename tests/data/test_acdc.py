"""ACDC loader and slice dataset: tiny HDF5 files in tmp_path, bad files, and the real shared copy."""

import h5py
import numpy as np
import pytest
import torch

from medinterp_widgets.data import (
    AcdcSliceDataset,
    DataFormatError,
    acdc_diagnosis,
    load_acdc,
    patient_split,
    read_acdc_h5,
    split_by_group,
)


def _write(path, image, label):
    with h5py.File(path, "w") as handle:
        handle["image"] = image
        handle["label"] = label


def make_acdc(root, train=("patient001_frame01_slice_1", "patient001_frame01_slice_2", "patient021_frame02_slice_1"),
              val=("patient101_frame01",)):
    rng = np.random.default_rng(0)
    (root / "data").mkdir(parents=True)
    for name in train:
        image, label = rng.random((12, 10), dtype=np.float32), rng.integers(0, 4, (12, 10), dtype=np.uint8)
        _write(root / "data" / f"{name}.h5", image, label)
    for name in val:
        image, label = rng.random((3, 12, 10), dtype=np.float32), rng.integers(0, 4, (3, 12, 10), dtype=np.uint8)
        _write(root / "data" / f"{name}.h5", image, label)
    (root / "train_slices.list").write_text("\n".join(train) + "\n")
    (root / "val.list").write_text("\n".join(val) + "\n")
    return root


def test_diagnosis_blocks():
    assert [acdc_diagnosis(n) for n in (1, 20, 21, 41, 61, 80, 81, 100, 101)] == [
        "DCM", "DCM", "HCM", "MINF", "NOR", "NOR", "RV", "RV", None]


def test_tiny_acdc_loads_and_slices(tmp_path):
    root = make_acdc(tmp_path / "acdc")
    train = load_acdc(root, "train")
    assert [(c.patient_id, c.frame, c.slice_index, c.diagnosis) for c in train] == [
        ("patient001", 1, 1, "DCM"), ("patient001", 1, 2, "DCM"), ("patient021", 2, 1, "HCM")]
    val = load_acdc(root, "val")
    assert val[0].is_volume and val[0].diagnosis is None and val[0].n_slices() == 3
    dataset = AcdcSliceDataset(val, size=(16, 16))
    assert len(dataset) == 3 and dataset.groups == ["patient101"] * 3
    item = dataset[2]
    assert item["image"].shape == (1, 16, 16) and item["image"].dtype == torch.float32
    assert item["label"].shape == (16, 16) and item["label"].dtype == torch.int64 and item["slice"] == 2
    image, label = val[0].read()
    assert image.shape == (3, 12, 10) and label.dtype == np.uint8


@pytest.mark.parametrize(
    "content, field",
    [
        (dict(image=np.zeros((4, 4), np.float32)), "'label'"),
        (dict(image=np.zeros((4, 4), np.float32), label=np.zeros((4, 5), np.uint8)), "'label' shape"),
        (dict(image=np.full((4, 4), 7.0, np.float32), label=np.zeros((4, 4), np.uint8)), "'image' values"),
        (dict(image=np.zeros((4, 4), np.float32), label=np.full((4, 4), 9, np.uint8)), "'label' must"),
    ],
)
def test_bad_h5_names_file_and_key(tmp_path, content, field):
    path = tmp_path / "patient001_frame01_slice_1.h5"
    with h5py.File(path, "w") as handle:
        for key, value in content.items():
            handle[key] = value
    with pytest.raises(DataFormatError, match=field) as error:
        read_acdc_h5(path)
    assert error.value.path == str(path)


def test_not_hdf5_and_missing_listed_file(tmp_path):
    bad = tmp_path / "x.h5"
    bad.write_bytes(b"not hdf5")
    with pytest.raises(DataFormatError, match="HDF5"):
        read_acdc_h5(bad)
    root = make_acdc(tmp_path / "acdc")
    (root / "data" / "patient001_frame01_slice_2.h5").unlink()
    with pytest.raises(DataFormatError, match="patient001_frame01_slice_2"):
        load_acdc(root, "train")
    with pytest.raises(ValueError):
        load_acdc(root, "test")


@pytest.mark.data
def test_real_acdc_counts_and_no_patient_leak(real_dataset):
    root = real_dataset("acdc")
    train, val = load_acdc(root, "train"), load_acdc(root, "val")
    assert len(train) == 1312 and len(val) == 20
    assert len({c.patient_id for c in train}) == 70
    assert not {c.patient_id for c in train} & {c.patient_id for c in val}
    assert {c.diagnosis for c in val} <= {"DCM", "HCM", "MINF", "NOR", "RV"}
    image, label = train[0].read()
    assert image.dtype == np.float32 and 0 <= image.min() and image.max() <= 1
    assert set(np.unique(label)) <= {0, 1, 2, 3}
    volume, volume_label = val[0].read()
    assert volume.ndim == 3 and volume.shape == volume_label.shape
    dataset = AcdcSliceDataset(train[:60], size=(64, 64))
    tr, va = split_by_group(dataset, 0.3, seed=0)
    assert not {dataset.groups[i] for i in tr.indices} & {dataset.groups[i] for i in va.indices}
    assert len(tr) + len(va) == len(dataset)
    t_ids, v_ids = patient_split([c.patient_id for c in train], 0.2, seed=1)
    assert len(v_ids) == 14 and len(t_ids) == 56
