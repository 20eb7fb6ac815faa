"""The models on real image geometry: Sunnybrook MRI (GapFCN), mouse-brain NIfTI (3-D UNet),
COVID CT PNG (AlexNet), ACDC slice (VGG). Tiny widths; skipped without MEDINTERP_DATA."""

from __future__ import annotations

import cv2
import h5py
import nibabel as nib
import numpy as np
import pydicom
import pytest
import torch

from medinterp_widgets.models import AlexNetClassifier, GapFCN, UNet, VGGClassifier, layer_table

pytestmark = pytest.mark.data


def _standardise(array: np.ndarray) -> torch.Tensor:
    array = array.astype(np.float32)
    return torch.from_numpy((array - array.mean()) / (array.std() + 1e-6))


def test_gap_fcn_on_a_sunnybrook_dicom(real_dataset):
    path = real_dataset("sunnybrook") / "dicoms" / "SCD0000101" / "1.dcm"
    image = pydicom.dcmread(path).pixel_array  # (256, 256) 16-bit
    x = _standardise(image)[None, None]  # (1, 1, 256, 256)
    model = GapFCN(base_channels=2, depth=4, convs_per_stage=1).eval()
    with torch.no_grad():
        seg, image_logits = model.forward_with_image_logits(x)
    assert seg.shape == (1, 2, 256, 256) and image_logits.shape == (1, 2)


def test_unet_3d_on_a_mouse_brain_volume(real_dataset):
    path = real_dataset("mouse_brain") / "template" / "FVB_NCrl_in_vivo_1.nii.gz"
    volume = np.asarray(nib.load(path).dataobj)  # (112, 128, 80), 0.15 mm isotropic
    assert volume.shape == (112, 128, 80)
    volume = volume[28:85, 32:96, 20:61]  # a central 57 x 64 x 41 block: odd sizes on real data
    x = _standardise(volume)[None, None]
    model = UNet(in_channels=1, n_classes=4, base_channels=1, depth=3, dims=3).eval()
    with torch.no_grad():
        out = model(x)
    assert out.shape == (1, 4, *volume.shape)


def test_alexnet_on_a_covid_ct_png(real_dataset):
    folder = real_dataset("covid_ct") / "CT_COVID"
    path = sorted(folder.glob("*.png"))[0]
    image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    assert image is not None, path
    x = _standardise(cv2.resize(image, (224, 224), interpolation=cv2.INTER_AREA))[None, None]
    model = AlexNetClassifier(in_channels=1, n_classes=2, width=4, hidden=32).eval()
    with torch.no_grad():
        assert model(x).shape == (1, 2)
    assert dict((r.name, r.output_shape) for r in layer_table(model, x))["features.11"] == (1, 16, 13, 13)


def test_vgg_on_an_acdc_slice(real_dataset):
    root = real_dataset("acdc")
    name = (root / "train_slices.list").read_text().split()[0]
    with h5py.File(root / "data" / f"{name}.h5", "r") as handle:
        image = handle["image"][()]
    x = _standardise(cv2.resize(image, (128, 128)))[None, None]
    model = VGGClassifier(in_channels=1, n_classes=4, width=2, cfg="vgg11").eval()
    with torch.no_grad():
        assert model(x).shape == (1, 4)
