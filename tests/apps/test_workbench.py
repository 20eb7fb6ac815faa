"""The workbench widget tree, built without Voila; `medinterp app` argument handling."""

import numpy as np
import pytest

from medinterp_widgets.apps import available_apps, build_app
from medinterp_widgets.apps.cases import Case
from medinterp_widgets.cli import build_parser
from medinterp_widgets.data.volume import Volume


@pytest.fixture
def small_synthetic(monkeypatch):
    """Replace the synthetic cases with tiny ones so the tests stay fast."""
    def tiny():
        return Case("tiny", Volume(np.arange(2 * 8 * 9, dtype=np.int16).reshape(2, 8, 9), spacing=(3, 1, 1)))

    def broken():
        raise RuntimeError("generator exploded")

    monkeypatch.setattr("medinterp_widgets.apps.workbench.SYNTHETIC_CASES", {"tiny": tiny, "broken": broken})


def test_registry_names_and_unknown_app():
    assert "workbench" in available_apps()
    with pytest.raises(ValueError, match="unknown app"):
        build_app("nope")


def test_workbench_without_data_root_opens_first_synthetic_case(small_synthetic, monkeypatch):
    monkeypatch.delenv("MEDINTERP_DATA", raising=False)
    app = build_app("workbench")
    assert app.root is None and app.path_box.disabled
    assert app.browser.volume.array.shape == (2, 8, 9)
    assert "tiny" in app.status and app.attribution_area.children
    assert not app.open_path("anything") and "no data root" in app.status


def test_failed_case_keeps_the_current_browser(small_synthetic, monkeypatch):
    monkeypatch.delenv("MEDINTERP_DATA", raising=False)
    app = build_app("workbench")
    shown = app.browser
    app.picker.value = "broken"
    assert app.browser is shown and "generator exploded" in app.status


def test_workbench_with_root_lists_and_confines(small_synthetic, tmp_path):
    import nibabel as nib

    nib.save(nib.Nifti1Image(np.ones((3, 4, 5), np.float32), np.eye(4)), tmp_path / "a.nii")
    app = build_app("workbench", data_root=tmp_path)
    assert "data: a.nii" in [key for _, key in app.picker.options]
    first = app.browser
    app.picker.value = "data: a.nii"
    assert app.browser.volume.array.shape == (3, 4, 5)
    assert first.comm is None and first.plot.comm is None and first.controls.slice_slider.comm is None
    assert not app.open_path("../../etc") and "outside the data root" in app.status
    assert app.browser.volume.array.shape == (3, 4, 5)


def test_bad_data_root_is_reported_not_raised(small_synthetic, tmp_path):
    app = build_app("workbench", data_root=tmp_path / "missing")
    assert app.root is None and "not a folder" in app.root_problem
    assert "not a folder" in app.children[0].value and app.browser is not None


def test_app_command_arguments():
    args = build_parser().parse_args(["app", "--port", "0", "--no-browser", "--data-root", "/x"])
    assert (args.name, args.port, args.no_browser, args.data_root) == ("workbench", 0, True, "/x")


def test_app_command_rejects_unknown_app(capsys):
    from medinterp_widgets.cli import main

    assert main(["app", "nope", "--no-browser"]) == 2
    assert "no app named 'nope'" in capsys.readouterr().err
