"""Paper apps without a browser: every app name has an entry notebook, and an app opened without a
report folder shows the newest report of its paper under the reports root."""

import nbformat
import pytest

from medinterp_widgets.apps import APPS, build_app, voila_server
from medinterp_widgets.pipelines import PIPELINES, Report
from medinterp_widgets.resources import REPORTS_ENV


@pytest.mark.parametrize("name", sorted(APPS))
def test_every_app_has_an_entry_notebook(name):
    notebook = voila_server.apps_dir() / voila_server.notebook_name(name)
    source = "".join(cell.source for cell in nbformat.read(notebook, as_version=4).cells)
    assert f'build_app("{name}")' in source
    assert voila_server.app_url(8866, name).endswith("/" + notebook.name)


def test_paper_app_opens_the_newest_report_under_the_reports_root(tmp_path, monkeypatch):
    report = Report("rodent-gbp", "demo", config={}, tables={"Table 1": [{"class": "WM", "dice": 0.5}]})
    report.write(tmp_path / "rodent-gbp-quick")
    monkeypatch.setenv(REPORTS_ENV, str(tmp_path))
    app = build_app("rodent-gbp")
    tables_tab = app.area.children[0].children[1].children[0]
    assert "rodent-gbp-quick" in app.status.value and "Table 1" in tables_tab.value
    assert "rodent-gbp" in PIPELINES


def test_voila_env_passes_the_reports_root(tmp_path):
    env = voila_server.voila_env(reports=tmp_path)
    assert env[REPORTS_ENV] == str(tmp_path.resolve())


def test_heatmap_loss_overlays_appear_only_once_models_are_trained_here(tmp_path):
    """A report folder holds no models: the overlay section stays hidden (not a blank panel) until a run."""
    Report("heatmap-loss", "demo", config={}, tables={"statistics": []}).write(tmp_path)
    app = build_app("heatmap-loss", report_dir=tmp_path)
    assert app.overlay_section.layout.display == "none" and "run the smoke preset" in app.status.value
    app.run_smoke()
    assert app.status.value == "done" and app.overlay_section.layout.display is None
    assert app.overlay_area.children and app.group_picker.options
    first = app.overlay_area.children[0]
    app.run_smoke()  # a second run replaces the browser
    assert app.overlay_area.children[0] is not first
