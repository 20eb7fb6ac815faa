"""HeatmapLoss on real ACDC slices: the heart (labels > 0) is the allowed region."""

from __future__ import annotations

import cv2
import h5py
import numpy as np
import pytest
import torch

from medinterp_widgets.models import VGGClassifier

pytest.importorskip("medinterp_widgets.attribution.api", reason="needs the attribution engine (branch attribution)")
from medinterp_widgets.training.losses import HeatmapLoss  # noqa: E402

pytestmark = pytest.mark.data


def _acdc_batch(root, count: int = 4, size: int = 64):
    names = (root / "train_slices.list").read_text().split()[:count]
    images, masks = [], []
    for name in names:
        with h5py.File(root / "data" / f"{name}.h5", "r") as handle:
            image, label = handle["image"][()], handle["label"][()]
        images.append(cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA))
        masks.append(cv2.resize((label > 0).astype(np.uint8), (size, size), interpolation=cv2.INTER_NEAREST))
    x = torch.from_numpy(np.stack(images)[:, None].astype(np.float32))  # (B, 1, size, size)
    return x, torch.from_numpy(np.stack(masks).astype(np.float32))  # (B, size, size)


@pytest.mark.parametrize("method", ["hirescam", "gradcam"])
def test_heatmap_loss_on_acdc_slices(real_dataset, method):
    x, heart = _acdc_batch(real_dataset("acdc"))
    assert heart.sum() > 0
    torch.manual_seed(0)
    model = VGGClassifier(in_channels=1, n_classes=4, width=2, cfg="tiny")
    result = HeatmapLoss(method=method, weight=1.0)(model, x, torch.tensor([0, 1, 2, 3]), heart)
    assert ((result.share >= 0) & (result.share <= 1)).all()
    result.total.backward()
    assert model.features[0].weight.grad.abs().sum() > 0
