"""Checkpoints: atomic writes survive a crash before the rename; model rebuild; clear errors."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from medinterp_widgets.data.errors import DataFormatError, UntrustedModelError
from medinterp_widgets.models import registry
from medinterp_widgets.training import checkpoints


def test_failed_replace_leaves_old_checkpoint_readable(tmp_path, monkeypatch):
    path = tmp_path / "last.pt"
    checkpoints.atomic_save({"epoch": 1}, path)

    def crash(src, dst):
        raise OSError("simulated crash between write and rename")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="simulated crash"):
        checkpoints.atomic_save({"epoch": 2}, path)
    monkeypatch.undo()
    assert torch.load(path, weights_only=True) == {"epoch": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["last.pt"]  # temp file cleaned up


@pytest.mark.slow
def test_process_killed_mid_save_leaves_old_checkpoint(tmp_path):
    path = tmp_path / "last.pt"
    checkpoints.atomic_save({"epoch": 1}, path)
    script = textwrap.dedent(f"""
        import os, time, torch
        from medinterp_widgets.training import checkpoints
        def hang(src, dst):
            print("written", flush=True)
            time.sleep(60)
        os.replace = hang
        checkpoints.atomic_save({{"epoch": 2, "big": torch.zeros(100_000)}}, {str(path)!r})
    """)
    root = Path(checkpoints.__file__).resolve().parents[2]  # the worktree, so the child imports this package
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd=root)
    try:
        assert child.stdout.readline().strip() == "written"
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait(timeout=30)
    assert torch.load(path, weights_only=True) == {"epoch": 1}


def test_foreign_class_loads_only_from_a_trusted_module(tmp_path, monkeypatch):
    monkeypatch.setattr(registry, "_TRUSTED", {})
    model = torch.nn.Conv2d(1, 3, kernel_size=3)
    kwargs = {"in_channels": 1, "out_channels": 3, "kernel_size": 3}
    payload = checkpoints.checkpoint_payload(model, model_kwargs=kwargs, epoch=4)
    path = checkpoints.atomic_save(payload, tmp_path / "m.pt")
    loaded = checkpoints.load_checkpoint(path)
    assert loaded["model_class"] == "torch.nn.modules.conv:Conv2d" and loaded["epoch"] == 4
    with pytest.raises(UntrustedModelError, match="runs code from module 'torch.nn.modules.conv'") as info:
        checkpoints.model_from_checkpoint(path)
    assert info.value.module == "torch.nn.modules.conv" and "m.pt" in str(info.value)
    assert "torch.nn.modules.conv:Conv2d" in registry.trust_model_module("torch.nn.modules.conv")
    rebuilt = checkpoints.model_from_checkpoint(loaded)
    assert torch.equal(rebuilt.weight, model.weight) and not rebuilt.training


def test_user_class_registered_in_code_round_trips(tmp_path, monkeypatch):
    monkeypatch.setattr(registry, "MODELS", dict(registry.MODELS))

    @registry.register_model("tiny-linear")
    class TinyLinear(torch.nn.Linear):
        def __init__(self, width: int = 2):
            super().__init__(width, width)
            self.init_kwargs = {"width": width}

    model = TinyLinear(3)
    path = checkpoints.atomic_save(checkpoints.checkpoint_payload(model), tmp_path / "t.pt")
    payload = checkpoints.load_checkpoint(path)
    assert payload["model_name"] == "tiny_linear" and payload["model_kwargs"] == {"width": 3}
    assert torch.equal(checkpoints.model_from_checkpoint(path).weight, model.weight)
    with pytest.raises(ValueError, match="already registered"):
        registry.register_model("tiny_linear", torch.nn.Identity)


def test_unwrap_finds_inner_model():
    inner = torch.nn.Linear(2, 2)
    wrapper = torch.nn.Module()
    wrapper.module = inner
    assert checkpoints.unwrap_model(wrapper) is inner
    assert checkpoints.describe_model(wrapper, {"in_features": 2})["model_class"] == "torch.nn.modules.linear:Linear"


def test_registry_model_round_trips_by_name(tmp_path):
    from medinterp_widgets.models import UNet

    torch.manual_seed(0)
    model = UNet(in_channels=1, n_classes=3, base_channels=4, depth=2)
    path = checkpoints.atomic_save(checkpoints.checkpoint_payload(model), tmp_path / "unet.pt")
    payload = checkpoints.load_checkpoint(path)
    assert payload["model_name"] == "unet" and payload["model_kwargs"] == model.init_kwargs
    rebuilt = checkpoints.model_from_checkpoint(payload)
    x = torch.rand(1, 1, 16, 16)
    assert torch.equal(rebuilt(x), model.eval()(x))


@pytest.mark.parametrize("content, field", [(b"not a checkpoint", "not a readable"), (None, "model_class")])
def test_bad_checkpoint_names_file_and_field(tmp_path, content, field):
    path = tmp_path / "bad.pt"
    if content is None:
        torch.save({"epoch": 1}, path)
    else:
        path.write_bytes(content)
    with pytest.raises(DataFormatError, match=field) as info:
        checkpoints.load_checkpoint(path)
    assert "bad.pt" in str(info.value)
