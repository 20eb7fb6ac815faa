"""A pipeline Config built directly (not through ``Config.preset``) is labelled and serialisable."""

from __future__ import annotations

import dataclasses
import importlib
import json

import pytest


@pytest.mark.parametrize("name", ["covid_interp", "heatmap_loss", "lv_gap_cam", "rodent_gbp"])
def test_direct_config_is_labelled_custom_and_serialisable(name):
    config_class = importlib.import_module(f"medinterp_widgets.pipelines.{name}.config").Config
    config = config_class()
    assert config.preset == "custom" and config_class.preset("smoke").preset == "smoke"
    assert json.loads(json.dumps(dataclasses.asdict(config), default=str))["preset"] == "custom"
