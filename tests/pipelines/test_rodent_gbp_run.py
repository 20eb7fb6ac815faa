"""rodent-gbp end to end: the smoke preset through `medinterp reproduce`, and the app."""

from __future__ import annotations

import json

from medinterp_widgets.cli import main
from medinterp_widgets.pipelines import rodent_gbp


def test_reproduce_smoke_writes_the_report(tmp_path, monkeypatch):
    monkeypatch.delenv("MEDINTERP_DATA", raising=False)
    quick = rodent_gbp.Config.preset

    def smoke(name, **overrides):
        assert name == "quick"
        return quick("smoke", **overrides)

    monkeypatch.setattr(rodent_gbp.Config, "preset", smoke)
    assert main(["reproduce", "rodent-gbp", "--quick", "--out", str(tmp_path)]) == 0
    report = json.loads((tmp_path / "report.json").read_text())
    assert {"placed_mask_dice_mean", "translation_error_px_mean", "mean DSC (true mask)"} <= set(report["metrics"])
    rows = report["tables"]["tissue measures (WM/GM/CSF x condition)"]
    assert [(r["condition"], r["tissue"]) for r in rows[:3]] == [("unmasked input", t) for t in ("WM", "GM", "CSF")]
    assert len(rows) == 9 and len(report["tables"]["translation: true vs recovered shift (px)"]) == 2
    for name in ("gbp_panels", "translation", "training_loss"):
        assert (tmp_path / "figures" / f"{name}.png").stat().st_size > 1000
    assert (tmp_path / "report.html").is_file()
    assert report["notes"]


def test_app_builds_fast_and_shows_a_report_folder(tmp_path, monkeypatch):
    from medinterp_widgets.apps import build_app
    from medinterp_widgets.apps.rodent_gbp import build, tables_html
    from medinterp_widgets.pipelines.report import Report

    monkeypatch.setenv("MEDINTERP_REPORTS", str(tmp_path / "empty"))  # no reports root: nothing shown
    app = build_app("rodent-gbp")
    assert app.area.children == () and "run smoke" in app.run_button.description
    report = Report("rodent-gbp", "t", {}, tables={"t": [{"tissue": "WM", "DSC": 0.5}]}, figures={"f": b"\x89PNG fake"})
    report.write(tmp_path)
    shown = build(report_dir=tmp_path)
    assert len(shown.area.children) == 1 and "report" in shown.status.value
    assert ">0.5</td>" in tables_html(report.tables)
    missing = build(report_dir=tmp_path / "nowhere")
    assert "no report.json" in missing.status.value
