"""Manifests and `medinterp data verify|list`: exit 0 on the shared copy, non-zero on a damaged copy."""

import contextlib
import io
import json
import shutil

import pytest

from medinterp_widgets.cli import main
from medinterp_widgets.data import DataFormatError, load_manifest, manifest_names, verify_manifest
from medinterp_widgets.data.manifests import hash_folder

SETS = ["acdc", "covid_ct", "covid_ct_lesions", "mouse_brain", "sunnybrook"]


def test_every_set_has_a_complete_manifest():
    assert manifest_names() == SETS
    for name in SETS:
        manifest = load_manifest(name)
        assert manifest["source"].startswith("http") and manifest["license"] and manifest["citation"]
        assert manifest["loader"].startswith("medinterp_widgets.data.load_") and manifest["layout"]
        assert manifest["files"] and all(len(e["sha256"]) == 64 for e in manifest["files"])
        assert "subset" in manifest["note"]


def test_unknown_set_and_bad_manifest(tmp_path):
    with pytest.raises(ValueError, match="unknown data set"):
        load_manifest("nope")
    bad = tmp_path / "x.json"
    bad.write_text(json.dumps({"name": "x"}))
    with pytest.raises(DataFormatError, match="x.json: manifest fields missing"):
        load_manifest(bad)


def _tiny_manifest(folder):
    return {"name": "tiny", "folder": folder.name, "source": "http://example.org", "license": "CC0",
            "citation": "-", "layout": {}, "loader": "-", "files": hash_folder(folder)}


def test_verify_finds_missing_and_modified_files(tmp_path):
    folder = tmp_path / "tiny"
    (folder / "sub").mkdir(parents=True)
    for i in range(4):
        (folder / "sub" / f"{i}.bin").write_bytes(bytes([i]) * 1000)
    manifest = _tiny_manifest(folder)
    assert verify_manifest(manifest, tmp_path).passed
    (folder / "sub" / "1.bin").unlink()
    (folder / "sub" / "2.bin").write_bytes(bytes([9]) * 1000)  # same size, other content
    (folder / "sub" / "3.bin").write_bytes(b"short")
    result = verify_manifest(manifest, tmp_path)
    assert not result.passed and result.n_ok == 1
    assert result.missing == ["sub/1.bin"] and result.mismatched == ["sub/2.bin", "sub/3.bin"]


@pytest.fixture(scope="module")
def shared_verify(data_root):
    """Run `medinterp data verify --json` once on the shared copy (hashing ~150 MB)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["data", "verify", "--root", str(data_root), "--json"])
    return code, json.loads(out.getvalue())


def test_verify_shared_copy_passes(shared_verify):
    code, results = shared_verify
    assert code == 0
    assert {r["name"] for r in results} == set(SETS) and all(r["passed"] for r in results)
    assert sum(r["ok"] for r in results) > 1900


def test_verify_cli_fails_on_damaged_copy(real_dataset, tmp_path, capsys):
    copy = tmp_path / "mouse_brain"
    shutil.copytree(real_dataset("mouse_brain"), copy)
    (copy / "mask" / "FVB_NCrl_in_vivo_3.nii.gz").unlink()
    with open(copy / "structure_labels.csv", "a") as handle:
        handle.write("41,Extra\n")
    code = main(["data", "verify", "--root", str(tmp_path), "--set", "mouse_brain"])
    out = capsys.readouterr().out
    assert code == 1
    assert "missing: " in out and "FVB_NCrl_in_vivo_3.nii.gz" in out
    assert "mismatched: " in out and "structure_labels.csv" in out
    assert "mouse_brain" in out and "PROBLEM" in out


def test_data_cli_list_and_usage_errors(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("MEDINTERP_DATA", raising=False)
    assert main(["data", "list"]) == 0
    assert "covid_ct" in capsys.readouterr().out
    assert main(["data", "verify"]) == 2  # no root
    assert main(["data", "verify", "--root", str(tmp_path)]) == 2  # no set folder there
    assert main(["data", "verify", "--root", str(tmp_path), "--set", "nope"]) == 2
    (tmp_path / "acdc").mkdir()
    assert main(["data", "verify", "--root", str(tmp_path), "--set", "acdc"]) == 1
