"""Real slices/volumes through the engine: a region target on anatomy gives maps that live on it.

The "model" is a fixed 1x1 conv (class 1 logit = image, class 0 = -image), so for
RegionTarget(1, anatomy) the exact answers are known: saliency = the mask, HiResCAM = ReLU(mask * x),
occlusion is zero for every window that misses the anatomy.
"""

from __future__ import annotations

import h5py
import nibabel as nib
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from medinterp_widgets.attribution import RegionTarget, attribute

pytestmark = pytest.mark.data


def identity_segmenter(dims: int) -> nn.Module:
    conv = (nn.Conv2d if dims == 2 else nn.Conv3d)(1, 2, 1, bias=False)
    with torch.no_grad():
        conv.weight.copy_(torch.tensor([-1.0, 1.0]).view(2, 1, *([1] * dims)))
    return nn.Sequential(conv).eval()


def acdc_slice_with_lv(folder):
    for path in sorted((folder / "data").glob("*_slice_*.h5")):
        with h5py.File(path, "r") as handle:
            image, label = handle["image"][()], handle["label"][()]
        if (label == 3).sum() > 200:
            return torch.from_numpy(image)[None, None], torch.from_numpy(label == 3).float()
    pytest.skip("no ACDC slice with an LV cavity found")


def test_acdc_lv_region_maps_stay_on_the_lv(real_dataset):
    x, lv = acdc_slice_with_lv(real_dataset("acdc"))  # (1, 1, 256, 256), (256, 256)
    model, target = identity_segmenter(2), RegionTarget(1, lv)
    saliency = attribute(model, x, method="saliency", target=target)
    torch.testing.assert_close(saliency[0], lv)
    hires = attribute(model, x, method="hirescam", target=target, layer="0", relu=False)
    torch.testing.assert_close(hires[0], lv * x[0, 0])
    occlusion = attribute(model, x, method="occlusion", target=target, window=32, stride=32, batch_size=64)
    # each 32x32 tile's drop = the sum of x over the LV part of that tile (float32 cancellation ~1e-5)
    tile_sums = F.avg_pool2d((lv * x[0, 0])[None], 32)[0] * 1024  # (8, 8)
    expected = tile_sums.repeat_interleave(32, 0).repeat_interleave(32, 1)
    torch.testing.assert_close(occlusion[0], expected, atol=1e-4, rtol=1e-4)
    touched = F.max_pool2d(lv[None], 32)[0].repeat_interleave(32, 0).repeat_interleave(32, 1)
    outside, inside = occlusion[0][touched == 0], occlusion[0][touched == 1]
    assert outside.abs().max() < 1e-4 < inside.sum()

def test_mouse_brain_volume_region_maps_stay_in_the_brain(real_dataset):
    folder = real_dataset("mouse_brain")
    name = "FVB_NCrl_in_vivo_1.nii.gz"
    volume = np.asarray(nib.load(folder / "template" / name).dataobj, dtype=np.float32)[::4, ::4, ::4]
    brain = np.asarray(nib.load(folder / "mask" / name).dataobj)[::4, ::4, ::4] > 0
    x = torch.from_numpy(volume / volume.max())[None, None]  # (1, 1, 28, 32, 20)
    mask = torch.from_numpy(brain).float()
    maps = attribute(identity_segmenter(3), x, method="hirescam", target=RegionTarget(1, mask), layer="0")
    assert maps.shape == x.shape[:1] + x.shape[2:]
    assert maps[0][mask == 0].abs().max() == 0 and maps[0][mask == 1].sum() > 0
