"""Models from files (issue #15): project checkpoints, TorchScript archives and ONNX files, each opened by
``open_model_file`` and explained with the methods it allows."""

from __future__ import annotations

import pytest
import torch

from medinterp_widgets.attribution import MethodUnavailableError, attribute, available_methods
from medinterp_widgets.bench.byo_models import ResNetLike, randomised
from medinterp_widgets.data.errors import CheckpointError, DataTooLargeError
from medinterp_widgets.models import GapFCN
from medinterp_widgets.training.checkpoints import atomic_save, checkpoint_payload
from medinterp_widgets.training.model_files import input_channels, is_torchscript, model_kind, open_model_file

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::DeprecationWarning")
OCCLUSION = {"window": 8, "stride": 8}


@pytest.fixture(scope="module")
def resnet():
    torch.manual_seed(0)
    return randomised(ResNetLike(2, in_channels=2))


@pytest.fixture
def x():
    return torch.rand((2, 2, 32, 32), generator=torch.Generator().manual_seed(3))


def export_onnx(model, x, path, dynamic=True):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    axes = {"x": {0: "batch"}, "y": {0: "batch"}} if dynamic else None
    torch.onnx.export(model, x[:1], str(path), input_names=["x"], output_names=["y"], dynamic_axes=axes,
                      dynamo=False)
    return path


def test_project_checkpoint(tmp_path, x):
    model = GapFCN(in_channels=2, n_classes=3, base_channels=4, depth=2, convs_per_stage=1).eval()
    path = atomic_save(checkpoint_payload(model), tmp_path / "gap.pt")
    loaded = open_model_file(path)
    assert not is_torchscript(path) and model_kind(loaded) == "PyTorch" and input_channels(loaded) == 2
    torch.testing.assert_close(loaded(x), model(x))


def test_torchscript_runs_the_methods_without_hooks(tmp_path, resnet, x):
    path = tmp_path / "scripted.pt"
    torch.jit.save(torch.jit.script(resnet), str(path))
    loaded = open_model_file(path)
    assert is_torchscript(path) and model_kind(loaded) == "TorchScript" and input_channels(loaded) == 2
    runnable = {name for name, why in available_methods(loaded).items() if why is None}
    assert runnable == {"saliency", "occlusion", "rise"}
    for method, options in (("saliency", {}), ("occlusion", OCCLUSION)):
        ours = attribute(loaded, x, method=method, target=1, **options)
        torch.testing.assert_close(ours, attribute(resnet, x, method=method, target=1, **options))
    with pytest.raises(MethodUnavailableError, match="gradcam needs to hook.*TorchScript.*saliency, occlusion, rise"):
        attribute(loaded, x, method="gradcam", target=1)


@pytest.mark.parametrize("dynamic", [True, False])
def test_onnx_runs_the_perturbation_methods(tmp_path, resnet, x, dynamic):
    loaded = open_model_file(export_onnx(resnet, x, tmp_path / "model.onnx", dynamic))
    assert model_kind(loaded) == "ONNX" and input_channels(loaded) == 2
    assert loaded.fixed_batch == (None if dynamic else 1)
    torch.testing.assert_close(loaded(x), resnet(x), rtol=1e-4, atol=1e-5)
    runnable = {name for name, why in available_methods(loaded).items() if why is None}
    assert runnable == {"occlusion", "rise"}
    for method, options in (("occlusion", OCCLUSION), ("rise", {"n_masks": 16, "cells": 4})):
        ours = attribute(loaded, x, method=method, target=2, **options)
        torch.testing.assert_close(ours, attribute(resnet, x, method=method, target=2, **options), rtol=1e-4,
                                   atol=1e-4)
    for method in ("saliency", "gradcam"):
        with pytest.raises(MethodUnavailableError, match=f"{method} needs .*ONNX"):
            attribute(loaded, x, method=method, target=1)


def test_3d_onnx(tmp_path):
    torch.manual_seed(1)
    model, x = randomised(ResNetLike(3)), torch.rand(1, 1, 8, 8, 8)
    loaded = open_model_file(export_onnx(model, x, tmp_path / "volume.onnx"))
    ours = attribute(loaded, x, method="occlusion", target=0, window=4, stride=4)
    torch.testing.assert_close(ours, attribute(model, x, method="occlusion", target=0, window=4, stride=4),
                               rtol=1e-4, atol=1e-4)


def test_broken_files_are_named_errors(tmp_path, monkeypatch):
    pytest.importorskip("onnxruntime")
    (tmp_path / "junk.onnx").write_bytes(b"not a protobuf")
    with pytest.raises(CheckpointError, match="junk.onnx: not a readable ONNX model"):
        open_model_file(tmp_path / "junk.onnx")
    with pytest.raises(FileNotFoundError, match="missing.pt"):
        open_model_file(tmp_path / "missing.pt")
    torch.jit.save(torch.jit.script(torch.nn.Conv2d(1, 1, 1)), str(tmp_path / "big.pt"))
    monkeypatch.setenv("MEDINTERP_MAX_CHECKPOINT_MB", "0.000001")
    with pytest.raises(DataTooLargeError, match="big.pt"):
        open_model_file(tmp_path / "big.pt")
