"""Bring your own model (issue #15): the workbench opens TorchScript and ONNX files and 3-D networks, offers
the methods each allows, shows the layer used, and stays usable on a bad file."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from medinterp_widgets.apps import build_app
from medinterp_widgets.apps.cases import Case
from medinterp_widgets.bench.byo_models import ResNetLike, TupleOutput, randomised
from medinterp_widgets.cli import build_parser, main
from medinterp_widgets.data.volume import Volume

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::DeprecationWarning")


def cube():
    rng = np.random.default_rng(0)
    array = rng.normal(100, 20, (16, 16, 16)).astype(np.float32)
    masks = np.zeros((16, 16, 16), np.int64)
    masks[4:10, 5:12, 3:9] = 1
    return Case("cube", Volume(array, spacing=(2.0, 1.0, 1.0)), masks)


@pytest.fixture
def workbench(monkeypatch):
    """Factory: a workbench on a 16^3 synthetic cube, no data root."""
    monkeypatch.delenv("MEDINTERP_DATA", raising=False)
    monkeypatch.delenv("MEDINTERP_MODEL", raising=False)
    monkeypatch.setattr("medinterp_widgets.apps.workbench.SYNTHETIC_CASES", {"cube": cube})
    return lambda **kwargs: build_app("workbench", **kwargs)


@pytest.fixture(scope="module")
def resnet2d():
    torch.manual_seed(0)
    return randomised(ResNetLike(2))


def test_torchscript_file_from_the_command_line_variable(workbench, resnet2d, tmp_path, monkeypatch):
    path = tmp_path / "scripted.pt"
    torch.jit.save(torch.jit.script(resnet2d), str(path))
    monkeypatch.setenv("MEDINTERP_MODEL", str(path))
    panel = workbench().attribution
    viewer = panel.viewer
    assert viewer is not None and "TorchScript model scripted.pt" in panel.message.value
    assert viewer.method == "saliency" and not viewer.error and viewer.heatmap.shape == (16, 16)
    assert set(viewer.unavailable) == set(viewer.methods) - {"saliency", "occlusion", "rise"}
    assert "cannot be hooked" in panel.tabs.children[1].value
    viewer.method = "gradcam"  # a method that needs hooks: one line in the panel, the page stays usable
    assert "TorchScript" in viewer.error and "gradcam" in viewer.error
    viewer.method = "saliency"
    assert not viewer.error


def test_onnx_file_runs_occlusion(workbench, resnet2d, tmp_path):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    path = tmp_path / "model.onnx"
    torch.onnx.export(resnet2d, torch.rand(1, 1, 16, 16), str(path), input_names=["x"], output_names=["y"],
                      dynamic_axes={"x": {0: "b"}, "y": {0: "b"}}, dynamo=False)
    panel = workbench(model_file=path).attribution
    viewer = panel.viewer
    assert "ONNX model model.onnx" in panel.message.value and viewer.method == "occlusion"
    assert not viewer.error and np.abs(viewer.heatmap).sum() > 0
    viewer.method = "saliency"
    assert "gradients" in viewer.error and "ONNX" in viewer.error


def test_a_3d_model_explains_the_whole_volume(workbench):
    torch.manual_seed(1)
    app = workbench()
    panel = app.attribution
    panel.set_model(randomised(ResNetLike(3)), "resnet 3-D")
    viewer = panel.viewer
    assert tuple(viewer.x.shape) == (1, 1, 16, 16, 16) and viewer.heatmap.shape == (16, 16, 16)
    assert viewer.layer_used == "layer4" and "layer4" in viewer.notes.value
    assert "whole volume" in panel.message.value
    sample = viewer.sample
    app.browser.slice_index = 7  # the workbench's slice: a 3-D map already covers it
    assert panel.viewer is viewer and viewer.sample == sample
    viewer.browser.axis = "x"  # the viewer's own browser shows the map on every axis
    assert viewer.browser.heatmaps.shape == (16, 16, 16)


def test_monai_3d_network_in_the_workbench(workbench):
    nets = pytest.importorskip("monai.networks.nets")
    torch.manual_seed(0)
    model = nets.DenseNet121(spatial_dims=3, in_channels=1, out_channels=2, init_features=8, growth_rate=4,
                             block_config=(2, 2))
    panel = workbench().attribution
    assert panel.set_model(model, "MONAI DenseNet121 3-D")
    viewer = panel.viewer
    assert viewer.layer_used == "class_layers.relu" and viewer.heatmap.shape == (16, 16, 16)
    viewer.method = "cam"
    assert not viewer.error and viewer.layer_used == "class_layers.relu"


def test_a_bad_model_file_is_one_line_and_the_page_stays(workbench, tmp_path):
    path = tmp_path / "junk.pt"
    path.write_bytes(b"definitely not a checkpoint")
    app = workbench(model_file=path)
    panel = app.attribution
    assert panel.viewer is None and "junk.pt" in panel.message.value
    assert app.browser is not None
    panel.set_model(randomised(ResNetLike(3)), "resnet 3-D")
    assert panel.viewer is not None


def test_a_2d_model_on_a_volume_explains_the_slice(workbench, resnet2d):
    panel = workbench().attribution
    panel.set_model(resnet2d, "resnet 2-D")
    assert tuple(panel.viewer.x.shape) == (1, 1, 16, 16) and panel.viewer.layer_used == "layer4"


def test_app_command_model_argument(tmp_path, capsys):
    args = build_parser().parse_args(["app", "--model", "m.onnx", "--no-browser"])
    assert args.model == "m.onnx"
    assert main(["app", "lv-gap-cam", "--model", str(tmp_path / "m.onnx"), "--no-browser"]) == 2
    assert "workbench only" in capsys.readouterr().err
    assert main(["app", "--model", str(tmp_path / "missing.onnx"), "--no-browser"]) == 2
    assert "no such file" in capsys.readouterr().err



def test_a_model_with_non_logit_output_is_one_line_and_the_page_stays(workbench, resnet2d):
    app = workbench()
    panel = app.attribution
    assert not panel.set_model(TupleOutput().eval(), "tuple model")
    assert panel.viewer is None and "model output: expected a tensor" in panel.message.value
    assert panel.set_model(resnet2d, "resnet 2-D") and panel.viewer is not None
