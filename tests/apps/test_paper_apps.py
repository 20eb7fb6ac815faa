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
