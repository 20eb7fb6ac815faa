"""The pipelines' Configs share one ``PipelineConfig``: presets, the override rule, the "custom" label."""

from __future__ import annotations

import dataclasses
import importlib
import json

import pytest


@pytest.mark.parametrize("name", ["covid_interp", "heatmap_loss", "lv_gap_cam", "rodent_gbp"])
def test_direct_config_is_labelled_custom_and_serialisable(name):
    config_class = importlib.import_module(f"medinterp_widgets.pipelines.{name}.config").Config
    config = config_class()
    assert config.preset == "custom" and config_class.from_preset("smoke").preset == "smoke"
    assert json.loads(json.dumps(dataclasses.asdict(config), default=str))["preset"] == "custom"


@pytest.mark.parametrize("name", ["covid_interp", "heatmap_loss", "lv_gap_cam", "rodent_gbp"])
def test_one_override_rule(name):
    """An override replaces the preset's value; None keeps it; an unknown name or preset is refused."""
    config_class = importlib.import_module(f"medinterp_widgets.pipelines.{name}.config").Config
    field, value = "epochs", config_class.presets()["smoke"]["epochs"]  # every smoke preset sets it
    assert getattr(config_class.from_preset("smoke", **{field: value + 1}), field) == value + 1
    kept = config_class.from_preset("smoke", **{field: None}, data_root=None, device=None)
    assert getattr(kept, field) == value and kept.data_root is None and kept.device is None
    assert not callable(config_class.__dataclass_fields__["preset"].default)  # no classmethod in the field
    with pytest.raises(TypeError, match=r"unknown field.*no_such_knob"):
        config_class.from_preset("smoke", no_such_knob=1)
    with pytest.raises(TypeError, match="unknown field"):
        config_class.from_preset("smoke", preset="paper")
    with pytest.raises(ValueError, match="from_preset: got 'huge'"):
        config_class.from_preset("huge")
