"""The `medinterp` entry point parses and its overview runs without data."""

import subprocess
import sys

from medinterp_widgets.cli import main


def test_overview_runs_without_data(capsys, monkeypatch):
    monkeypatch.delenv("MEDINTERP_DATA", raising=False)
    assert main([]) == 0
    out = capsys.readouterr().out
    assert "synthetic" in out and "medinterp app" in out


def test_overview_lists_real_sets(capsys, data_root):
    assert main(["--data-root", str(data_root)]) == 0
    out = capsys.readouterr().out
    assert "sunnybrook" in out and "present" in out


def test_module_entry_point_help():
    result = subprocess.run([sys.executable, "-m", "medinterp_widgets", "--help"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    for name in ("data", "reproduce", "evaluate", "bench", "app"):
        assert name in result.stdout


def test_bad_manifest_gives_one_line_error(tmp_path, capsys):
    bad = tmp_path / "broken.json"
    bad.write_text("{not json")
    code = main(["data", "verify", "--root", str(tmp_path), "--set", str(bad)])
    err = capsys.readouterr().err
    assert code != 0 and "broken.json" in err and "Traceback" not in err
