"""select_on_animal: trains without the chosen and held-out animals, scores the chosen one (phantoms)."""

from __future__ import annotations

import json

import pytest

from medinterp_widgets.pipelines.rodent_gbp.config import Config
from medinterp_widgets.pipelines.rodent_gbp.selection import main, select_on_animal


def test_select_on_animal_scores_the_chosen_phantom(monkeypatch):
    seen = {}
    from medinterp_widgets.pipelines.rodent_gbp import selection

    real = selection.training_slices

    def spy(animals, *args):
        seen["trained_on"] = [animal.subject_id for animal in animals]
        return real(animals, *args)

    monkeypatch.setattr(selection, "training_slices", spy)
    config = Config.from_preset("smoke", test_animals=(1,))
    out = select_on_animal(config, chosen=3)
    assert out["chosen"] == 3 and out["best_epoch"] == 1 and len(seen["trained_on"]) == 1
    assert set(out["dsc"]) == {"WM", "GM", "CSF"} and set(out["sensitivity"]) == {"WM", "GM", "CSF"}
    assert all(0.0 <= v <= 1.0 for v in out["dsc"].values() if v == v) and out["cpu_s"] > 0
    with pytest.raises(ValueError, match="test_animals"):
        select_on_animal(config, chosen=1)
    with pytest.raises(ValueError, match="not among"):
        select_on_animal(config, chosen=9)


def test_command_line_prints_one_json_line(monkeypatch, capsys):
    monkeypatch.delenv("MEDINTERP_DATA", raising=False)
    smoke = Config.presets()["smoke"]
    overrides = {key: value for key, value in smoke.items() if not isinstance(value, tuple)}
    main([json.dumps({**overrides, "context": 0, "baseline_epochs": 0, "lr_drop_epoch": 0}), "2"])
    line = json.loads(capsys.readouterr().out)
    assert line["chosen"] == 2 and line["overrides"]["epochs"] == 1
