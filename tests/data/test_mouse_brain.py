"""Mouse-brain NIfTI loader, tissue map, geometry, slice dataset; tiny files and the real copy."""

import nibabel as nib
import numpy as np
import pytest
import torch

from medinterp_widgets.data import DataFormatError, MouseBrainSliceDataset, load_mouse_brain, split_by_group, tissue_map

SUBJECT = "FVB_NCrl_in_vivo_{}.nii.gz"


def make_mouse(root, n=2, shape=(6, 7, 5), zoom=0.15):
    affine = np.diag([zoom, zoom, zoom, 1.0])
    affine[:3, 3] = (1.0, 2.0, 3.0)
    rng = np.random.default_rng(0)
    for kind in ("template", "label", "mask"):
        (root / kind).mkdir(parents=True)
    for i in range(1, n + 1):
        labels = rng.integers(0, 41, shape).astype(np.float32)
        arrays = {"template": rng.random(shape, dtype=np.float32) * 100, "label": labels,
                  "mask": (labels > 0).astype(np.float32)}
        for kind, array in arrays.items():
            nib.save(nib.Nifti1Image(array, affine), root / kind / SUBJECT.format(i))
    (root / "structure_labels.csv").write_text("label,structure_name\n0,Background\n2,Left External Capsule\n")
    return root


def test_tissue_map_classes():
    labels = np.array([0, 2, 4, 6, 20, 22, 24, 26, 40, 10, 30, 1, 14, 34])
    np.testing.assert_array_equal(tissue_map(labels), [0, 1, 1, 1, 1, 1, 1, 1, 1, 3, 3, 2, 2, 2])


def test_tiny_mouse_geometry_and_dataset(tmp_path):
    root = make_mouse(tmp_path / "mouse")
    brains = load_mouse_brain(root)
    assert [b.subject_id for b in brains] == ["FVB_NCrl_in_vivo_1", "FVB_NCrl_in_vivo_2"]
    brain = brains[0]
    assert brain.image.array.shape == (6, 7, 5) and brain.image.spacing == pytest.approx((0.15,) * 3)
    assert brain.labels.array.dtype == np.uint8 and brain.mask.array.dtype == bool
    assert brain.labels.metadata["label_names"][2] == "Left External Capsule"
    # Volume geometry reproduces the NIfTI affine (RAS) converted to LPS.
    np.testing.assert_allclose(brain.image.index_to_mm((1, 2, 3)), [-(1 + 0.15), -(2 + 0.3), 3 + 0.45], atol=1e-5)
    dataset = MouseBrainSliceDataset(brains, axis="x")
    assert len(dataset) == 10 and dataset.groups[:5] == ["FVB_NCrl_in_vivo_1"] * 5
    sample = dataset[0]
    assert sample["image"].shape == (1, 6, 7) and sample["image"].max() <= 1
    assert sample["label"].dtype == torch.int64 and sample["mask"].shape == (6, 7)
    assert MouseBrainSliceDataset(brains, axis="z", size=(8, 8))[0]["label"].shape == (8, 8)


def test_bad_nifti_and_mismatched_shapes(tmp_path):
    root = make_mouse(tmp_path / "mouse", n=1)
    bad = root / "mask" / SUBJECT.format(1)
    affine = nib.load(root / "template" / SUBJECT.format(1)).affine
    nib.save(nib.Nifti1Image(np.full((6, 7, 5), 3, np.float32), affine), bad)
    with pytest.raises(DataFormatError, match="mask values"):
        load_mouse_brain(root)
    nib.save(nib.Nifti1Image(np.zeros((6, 7, 4), np.float32), np.eye(4)), bad)
    with pytest.raises(DataFormatError, match="differ from template") as error:
        load_mouse_brain(root)
    assert "mask" in error.value.path
    bad.write_bytes(b"\x1f\x8b broken gzip")
    with pytest.raises(DataFormatError, match="not a readable NIfTI"):
        load_mouse_brain(root)


def test_real_mouse_brain(real_dataset):
    brains = load_mouse_brain(real_dataset("mouse_brain"))
    assert len(brains) == 6
    for brain in brains[:2]:
        assert brain.image.array.shape == (112, 128, 80)
        assert brain.image.spacing == pytest.approx((0.15, 0.15, 0.15), abs=1e-4)
        assert set(np.unique(brain.tissue.array)) == {0, 1, 2, 3}
        assert brain.labels.array.max() == 40
        assert brain.mask.array[brain.labels.array > 0].mean() > 0.995  # a few hundred labelled voxels lie outside
    dataset = MouseBrainSliceDataset(brains, axis="z", min_brain_fraction=0.05)
    train, val = split_by_group(dataset, val_fraction=0.34, seed=0)
    assert len({dataset.groups[i] for i in val.indices}) == 2
    assert not {dataset.groups[i] for i in train.indices} & {dataset.groups[i] for i in val.indices}
