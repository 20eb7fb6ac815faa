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


def _batch_independent(model: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The model's output for x; in eval mode each sample's output must not depend on its batch mates."""
    with torch.no_grad():
        alone = model(x)
        together = model(torch.cat([x, x.flip(-1)]))[: len(x)]
    torch.testing.assert_close(together, alone, rtol=1e-4, atol=1e-5)
    return alone


def test_gap_fcn_on_a_sunnybrook_dicom(real_dataset):
    """On a real 256 x 256 MR slice: full-size pixel logits, and the image logit of each class is the
    spatial mean of its CAM logits (GAP is linear: z_c = mean_p CAM_c(p) + b_c)."""
    path = real_dataset("sunnybrook") / "dicoms" / "SCD0000101" / "1.dcm"
    image = pydicom.dcmread(path).pixel_array  # (256, 256) 16-bit
    x = _standardise(image)[None, None]  # (1, 1, 256, 256)
    torch.manual_seed(0)
    model = GapFCN(base_channels=2, depth=4, convs_per_stage=1).eval()
    with torch.no_grad():
        output = model(x, with_cam=True)
    assert output.segmentation.shape == (1, 2, 256, 256) and torch.isfinite(output.segmentation).all()
    torch.testing.assert_close(output.image_logits, output.cam_logits.mean((2, 3)), rtol=1e-4, atol=1e-5)
    assert float(output.cam_logits[0, 1].std()) > 0  # the CAM varies with the image content


def test_unet_3d_on_a_mouse_brain_volume(real_dataset):
    """An odd-sized real block (57 x 64 x 41) comes back voxel for voxel, as class probabilities that
    vary with the anatomy, the same whatever else is in the batch."""
    path = real_dataset("mouse_brain") / "template" / "FVB_NCrl_in_vivo_1.nii.gz"
    volume = np.asarray(nib.load(path).dataobj)  # (112, 128, 80), 0.15 mm isotropic
    assert volume.shape == (112, 128, 80)
    volume = volume[28:85, 32:96, 20:61]  # a central 57 x 64 x 41 block: odd sizes on real data
    x = _standardise(volume)[None, None]
    torch.manual_seed(0)
    model = UNet(in_channels=1, n_classes=4, base_channels=1, depth=3, dims=3).eval()
    out = _batch_independent(model, x)
    assert out.shape == (1, 4, *volume.shape)
    probabilities = out.softmax(1)
    torch.testing.assert_close(probabilities.sum(1), torch.ones(1, *volume.shape))
    assert float(probabilities[0, 1].std()) > 0


def test_alexnet_on_a_covid_ct_png(real_dataset):
    """A real CT PNG at 224 px: the layer table's conv5 is 13 x 13 (the paper's AlexNet geometry) and
    the eval-mode logits do not depend on the batch."""
    folder = real_dataset("covid_ct") / "CT_COVID"
    path = sorted(folder.glob("*.png"))[0]
    image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    assert image is not None, path
    x = _standardise(cv2.resize(image, (224, 224), interpolation=cv2.INTER_AREA))[None, None]
    torch.manual_seed(0)
    model = AlexNetClassifier(in_channels=1, n_classes=2, width=4, hidden=32).eval()
    logits = _batch_independent(model, x)
    assert logits.shape == (1, 2) and torch.isfinite(logits).all()
    assert dict((r.name, r.output_shape) for r in layer_table(model, x))["features.11"] == (1, 16, 13, 13)


def test_vgg_on_an_acdc_slice(real_dataset):
    """A real ACDC slice: batch-independent logits and a Grad-CAM map at the input size that is not flat."""
    from medinterp_widgets.attribution import attribute

    root = real_dataset("acdc")
    name = (root / "train_slices.list").read_text().split()[0]
    with h5py.File(root / "data" / f"{name}.h5", "r") as handle:
        image = handle["image"][()]
    x = _standardise(cv2.resize(image, (128, 128)))[None, None]
    torch.manual_seed(0)
    model = VGGClassifier(in_channels=1, n_classes=4, width=2, cfg="vgg11").eval()
    logits = _batch_independent(model, x)
    assert logits.shape == (1, 4)
    cam = attribute(model, x, method="gradcam", target=int(logits.argmax()))
    assert cam.shape == (1, 128, 128) and torch.isfinite(cam).all() and float(cam.max()) > float(cam.min())
