"""The workbench's attribution panel: demo model through the Trainer, checkpoints confined to the roots,
viewers following the workbench's slice, errors reported not raised."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from medinterp_widgets.apps import build_app
from medinterp_widgets.apps.cases import Case
from medinterp_widgets.data.volume import Volume
from medinterp_widgets.models import GapFCN
from medinterp_widgets.training import atomic_save, checkpoint_payload


@pytest.fixture
def tiny_case(monkeypatch):
    """One 3-slice 16 x 16 case with a square label, and one without labels."""
    def labelled():
        array = np.zeros((3, 16, 16), np.float32)
        masks = np.zeros((3, 16, 16), np.uint8)
        array[:, 4:12, 4:12], masks[:, 4:12, 4:12] = 1.0, 1
        return Case("square", Volume(array + 0.05 * np.random.default_rng(0).random(array.shape), spacing=(5, 1, 1)),
                    masks)

    def unlabelled():
        return Case("plain", Volume(np.ones((2, 16, 16), np.int16), spacing=(1, 1, 1)))

    monkeypatch.setattr("medinterp_widgets.apps.workbench.SYNTHETIC_CASES",
                        {"square": labelled, "plain": unlabelled})
    monkeypatch.delenv("MEDINTERP_DATA", raising=False)
    monkeypatch.delenv("MEDINTERP_RUNS", raising=False)


def test_demo_model_trains_and_the_viewers_follow_the_slice(tiny_case):
    app = build_app("workbench", demo_steps=20)  # a step budget: the same model on any machine
    panel = app.attribution
    assert panel.viewer is None and panel.load_button.disabled  # no data root, no runs folder
    assert panel.train_demo(), panel.message.value
    assert "demo GapFCN (20 steps" in panel.message.value and panel.model.cam_head.out_features == 2
    viewer = panel.viewer
    assert panel.tabs.children == (viewer, panel.layers)
    assert viewer.info.task == "segmentation" and viewer.heatmap.shape == (16, 16) and viewer.error == ""
    assert not np.isnan(viewer.overlap)
    calls = viewer.engine_calls
    app.browser.slice_index = 0
    assert viewer.sample == 1 and viewer.engine_calls == calls + 1
    app.picker.value = "plain"  # no labels: the viewer still shows, without scores
    assert panel.viewer is not viewer and "no mask" in panel.viewer.scores_label.value
    assert not panel.train_demo() and "no label masks" in panel.message.value


def test_checkpoints_load_only_inside_the_roots(tiny_case, tmp_path):
    root, runs = tmp_path / "data", tmp_path / "runs"
    torch.manual_seed(0)
    model = GapFCN(base_channels=2, depth=1, convs_per_stage=1, max_channels=4)
    atomic_save(checkpoint_payload(model), runs / "lv" / "best.pt")
    atomic_save(checkpoint_payload(model), tmp_path / "outside.pt")
    root.mkdir()
    app = build_app("workbench", data_root=root, runs_dir=runs)
    panel = app.attribution
    assert str(runs / "lv" / "best.pt") in panel.checkpoints.options
    assert not panel.load(str(tmp_path / "outside.pt")) and "outside the data root" in panel.message.value
    assert panel.load(str(runs / "lv" / "best.pt")), panel.message.value
    assert "best.pt" in panel.message.value and panel.viewer.layer == "bottleneck"
    assert panel.layers.rows and panel.viewer.method == "gradcam"
    assert not panel.load("lv/missing.pt") and "not found" in panel.message.value


USER_MODULE = '''
import torch


class UserNet(torch.nn.Module):
    def __init__(self, width: int = 2):
        super().__init__()
        self.init_kwargs = {"width": width}
        self.conv = torch.nn.Conv2d(1, width, 3, padding=1)
        self.head = torch.nn.Conv2d(width, 2, 1)

    def forward(self, x):
        return self.head(torch.relu(self.conv(x)))
'''


def test_a_user_model_loads_only_after_the_visible_confirmation(tiny_case, tmp_path, monkeypatch):
    from medinterp_widgets.models import registry

    monkeypatch.setattr(registry, "_TRUSTED", {})
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "my_user_models.py").write_text(USER_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path / "lib"))
    import my_user_models

    runs = tmp_path / "runs"
    atomic_save(checkpoint_payload(my_user_models.UserNet(3)), runs / "user" / "best.pt")
    app = build_app("workbench", data_root=None, runs_dir=runs)
    panel = app.attribution
    assert panel.trust_button.layout.display == "none"
    assert not panel.load(str(runs / "user" / "best.pt")) and panel.model is None
    assert "runs code from module my_user_models" in panel.message.value
    assert panel.trust_button.layout.display != "none"
    assert panel.trust_button.description == "this runs code from module my_user_models: trust it and load"
    panel.trust_button.click()
    assert isinstance(panel.model, my_user_models.UserNet), panel.message.value
    assert panel.trust_button.layout.display == "none" and "best.pt" in panel.message.value
