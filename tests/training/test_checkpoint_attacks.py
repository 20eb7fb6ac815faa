"""Crafted checkpoints cannot run code: every place that opens a checkpoint refuses them with a named
error and no side effect (a marker file the payload would create stays absent)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import torch

from medinterp_widgets import cli
from medinterp_widgets.data.errors import CheckpointError, DataError, DataTooLargeError, UntrustedModelError
from medinterp_widgets.models import GapFCN

ATTACKS = {  # model_class -> kwargs builder (marker path -> kwargs)
    "medinterp_widgets.apps.voila_server:subprocess.Popen": lambda m: {"args": ["touch", str(m)]},
    "medinterp_widgets.training.checkpoints:os.system": lambda m: {"command": f"touch {m}"},
    "medinterp_widgets.training.checkpoints:atomic_save": lambda m: {"obj": {"x": 1}, "path": str(m)},
    "medinterp_widgets.training.checkpoints:Path.touch": lambda m: {"self": str(m)},
}


def _crafted(folder: Path, class_path: str, marker: Path, name: str = "best.pt", **extra) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    payload = {"format": 1, "model_class": class_path, "model_kwargs": ATTACKS[class_path](marker),
               "model_state": {}, "epoch": 1, **extra}
    torch.save(payload, folder / name)
    return folder / name


def _no_side_effect(marker: Path) -> None:
    time.sleep(0.3)  # a spawned command would have run by now
    assert not marker.exists(), "the checkpoint ran code"


@pytest.fixture(params=list(ATTACKS), ids=["Popen", "os.system", "atomic_save", "Path.touch"])
def attack(request, tmp_path):
    marker = tmp_path / "marker"
    return request.param, marker


def test_model_from_checkpoint_refuses(attack, tmp_path):
    from medinterp_widgets.training.checkpoints import model_from_checkpoint

    class_path, marker = attack
    path = _crafted(tmp_path / "runs", class_path, marker)
    with pytest.raises(UntrustedModelError, match="not a registered model") as info:
        model_from_checkpoint(path)
    assert str(path) in str(info.value)
    _no_side_effect(marker)


def test_workbench_checkpoint_box_refuses(attack, tmp_path):
    from medinterp_widgets.apps.demo_model import load_model

    class_path, marker = attack
    path = _crafted(tmp_path / "data", class_path, marker)
    with pytest.raises(UntrustedModelError):
        load_model(path, [tmp_path / "data"])
    _no_side_effect(marker)


def test_evaluate_command_refuses(attack, tmp_path, capsys):
    class_path, marker = attack
    path = _crafted(tmp_path / "runs", class_path, marker)
    (tmp_path / "data").mkdir()
    code = cli.main(["evaluate", "--checkpoint", str(path), "--data", str(tmp_path / "data"), "--dataset", "acdc"])
    assert code == 2 and "UntrustedModelError" in capsys.readouterr().err
    _no_side_effect(marker)


def test_run_browser_refuses(attack, tmp_path):
    from medinterp_widgets.widgets.run_browser import RunBrowser

    class_path, marker = attack
    run = tmp_path / "runs" / "evil"
    _crafted(run, class_path, marker)
    (run / "config.json").write_text(json.dumps({"best_metric": "val/loss"}))
    browser = RunBrowser(tmp_path / "runs")
    with pytest.raises(UntrustedModelError):
        browser.load_model("evil")
    _no_side_effect(marker)


def test_trusting_a_project_module_still_loads_no_function(tmp_path, monkeypatch):
    """Even a user who trusts the module only gets its nn.Module classes, never a function or attribute."""
    from medinterp_widgets.models import registry
    from medinterp_widgets.training.checkpoints import model_from_checkpoint

    monkeypatch.setattr(registry, "_TRUSTED", {})
    marker = tmp_path / "marker"
    path = _crafted(tmp_path, "medinterp_widgets.training.checkpoints:atomic_save", marker)
    registry.trust_model_module("medinterp_widgets.training.checkpoints")
    with pytest.raises(UntrustedModelError):
        model_from_checkpoint(path)
    _no_side_effect(marker)


def _gap_payload(**changes):
    model = GapFCN(base_channels=2, depth=1, convs_per_stage=1, max_channels=4)
    from medinterp_widgets.training.checkpoints import checkpoint_payload

    payload = checkpoint_payload(model)
    payload.update(changes)
    return payload


@pytest.mark.parametrize("changes, field", [
    ({"model_kwargs": {"base_channels": 10**9, "depth": 1}}, "model_state"),        # huge model: built on meta
    ({"model_kwargs": {"base_channels": 2, "evil": 1}}, "model_kwargs"),
    ({"model_kwargs": {"base_channels": "2; rm -rf /"}}, "model_kwargs"),
    ({"model_kwargs": {"base_channels": float("nan")}}, "model_kwargs"),
    ({"model_kwargs": ["not", "a", "dict"]}, "model_kwargs"),
    ({"model_state": {"encoder.0.0.weight": torch.zeros(1)}}, "model_state"),
    ({"model_name": "subprocess.Popen"}, "model_name"),
    ({"model_name": None, "model_class": "os:system"}, "model_class"),
])
def test_bad_fields_are_named(tmp_path, changes, field):
    from medinterp_widgets.training.checkpoints import model_from_checkpoint

    path = tmp_path / "m.pt"
    torch.save(_gap_payload(**changes), path)
    with pytest.raises(CheckpointError, match=f"m.pt: {field}"):
        model_from_checkpoint(path)


def test_non_finite_weights_are_refused(tmp_path):
    from medinterp_widgets.training.checkpoints import model_from_checkpoint

    payload = _gap_payload()
    payload["model_state"]["classifier.weight"] = torch.full_like(payload["model_state"]["classifier.weight"],
                                                                  float("nan"))
    with pytest.raises(CheckpointError, match="classifier.weight.*non-finite"):
        model_from_checkpoint(payload, source="m.pt")


def test_old_checkpoints_of_the_project_models_still_load(tmp_path):
    """Format-1 files without model_name, with the module path the project used: mapped, never imported."""
    from medinterp_widgets.training.checkpoints import model_from_checkpoint

    for class_path in ("medinterp_widgets.models.gap_fcn:GapFCN", "medinterp_widgets.models:GapFCN"):
        payload = _gap_payload(model_class=class_path)
        payload.pop("model_name")
        torch.save(payload, tmp_path / "old.pt")
        model = model_from_checkpoint(tmp_path / "old.pt")
        assert isinstance(model, GapFCN) and torch.equal(model.classifier.weight,
                                                         payload["model_state"]["classifier.weight"])


def test_checkpoint_size_limits(tmp_path, monkeypatch):
    from medinterp_widgets.training.checkpoints import load_checkpoint

    torch.save(_gap_payload(), tmp_path / "m.pt")
    monkeypatch.setenv("MEDINTERP_MAX_CHECKPOINT_MB", "0.001")
    with pytest.raises(DataTooLargeError, match="m.pt: checkpoint file size.*MEDINTERP_MAX_CHECKPOINT_MB"):
        load_checkpoint(tmp_path / "m.pt")
    monkeypatch.delenv("MEDINTERP_MAX_CHECKPOINT_MB")
    assert isinstance(load_checkpoint(tmp_path / "m.pt"), dict)
    assert issubclass(DataTooLargeError, DataError)
