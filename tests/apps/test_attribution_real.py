"""The attribution panel on a real ACDC volume (skips without MEDINTERP_DATA): a model on a 256 x 232
slice, maps for several methods, scores against the LV-cavity label, LayerViewer rows."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from medinterp_widgets.apps import build_app
from medinterp_widgets.models import GapFCN

pytestmark = pytest.mark.data


def test_panel_on_an_acdc_volume(real_dataset):
    root = real_dataset("acdc").parent
    app = build_app("workbench", data_root=root)
    assert app.open_path("acdc/data/patient002_frame01.h5"), app.status
    torch.manual_seed(0)
    panel = app.attribution
    assert panel.set_model(GapFCN(n_classes=4, base_channels=2, depth=2, convs_per_stage=1, max_channels=8),
                           "tiny GapFCN"), panel.message.value
    viewer = panel.viewer
    plane = app.browser.volume.slice2d("z", app.browser.slice_index)[0]
    assert viewer.heatmap.shape == plane.shape and viewer.region == "mask"
    viewer.target_class = 3  # LV cavity
    for method in ("gradcam", "hirescam", "guided_backprop"):
        viewer.method = method
        assert viewer.error == "" and np.isfinite(viewer.heatmap).all()
        assert 0.0 <= viewer.consistent <= 1.0
    assert [r.name for r in panel.layers.rows][0] == "encoder.0.0"
