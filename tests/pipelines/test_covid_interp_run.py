"""covid-interp end to end: the smoke preset through `medinterp reproduce`, the report, and the app."""

from __future__ import annotations

import json

import numpy as np
import pytest

from medinterp_widgets.apps import build_app
from medinterp_widgets.cli import main


@pytest.fixture(scope="module")
def smoke_report(tmp_path_factory):
    """One smoke run (synthetic data) written by the CLI; shared by the tests below."""
    out = tmp_path_factory.mktemp("covid-interp")
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("MEDINTERP_DATA", raising=False)
        patch.setattr("medinterp_widgets.pipelines.covid_interp.config._PRESETS",
                      {"quick": dict(image_size=64, synthetic_images=16, max_lesion_slices=2, folds=2,
                                     folds_to_run=1, epochs=1, batch_size=8, width=2, hidden=8,
                                     embedding_points=16,
                                     neurons_per_layer=1, gradcam_images=1)})
        assert main(["reproduce", "covid-interp", "--quick", "--out", str(out), "--seed", "1"]) == 0
    return out


def test_reproduce_writes_the_report(smoke_report, capsys):
    report = json.loads((smoke_report / "report.json").read_text())
    assert report["name"] == "covid-interp" and report["config"]["seed"] == 1
    assert "Table 1: test rates, mean ± sd over folds (%)" in report["tables"]
    methods = [row["method"] for row in report["tables"]["Table 1: test rates, mean ± sd over folds (%)"]]
    assert methods == ["LBP + SVM", "AlexNet", "AlexNet features + SVM"]
    names = {c["name"] for c in report["comparisons"]}
    assert {"AlexNet accuracy", "LBP + SVM npv", "consistent degree (mean over lesion slices)"} <= names
    for figure in ("training_curves_fold0", "embeddings_2d", "embeddings_3d", "first_layer_filters",
                   "hidden_neurons_guided_backprop", "gradcam_covid_test", "consistent_degree_overlays"):
        assert (smoke_report / "figures" / f"{figure}.png").stat().st_size > 1000
    assert 0.0 <= report["metrics"]["consistent_degree_mean"] <= 1.0
    assert any("synthetic" in note for note in report["notes"])


def test_report_arrays_hold_the_embeddings(smoke_report):
    with np.load(smoke_report / "arrays.npz") as arrays:
        assert arrays["embedding/deep/tsne/3d"].shape == (16, 3)
        assert arrays["embedding/lbp/pca/2d"].shape == (16, 2)
        assert arrays["embedding_thumbnails"].shape == (16, 32, 32)
        assert arrays["embedding_features/lbp"].shape == (16, 59)
        assert arrays["embedding_features/deep"].dtype == np.float32
        assert arrays["lesion_cams"].shape == arrays["lesion_masks"].shape


def test_app_shows_a_written_report(smoke_report):
    app = build_app("covid-interp", report_dir=smoke_report)
    assert app.folder == str(smoke_report) and "loaded" in app.status
    assert "LBP + SVM" in app.tables.value and len(app.figures.children) >= 7
    assert app.browser is not None and app.browser.slice_count == 2
    app.overlay_choice.value = "COVID test images: Grad-CAM"
    assert app.browser.slice_count == 1


def test_app_shows_lbp_and_deep_embeddings_side_by_side(smoke_report):
    from medinterp_widgets.widgets.embedding_viewer import EmbeddingViewer

    app = build_app("covid-interp", report_dir=smoke_report)
    lbp, deep = [w for w in app.embeddings.children[0].children[1].children if isinstance(w, EmbeddingViewer)]
    with np.load(smoke_report / "arrays.npz") as arrays:
        saved = arrays["embedding/deep/tsne/3d"]
    deep_order = deep.source.data["index"]
    lbp.method, lbp.dims = "tsne", 3  # linked: the deep panel follows, from the saved coordinates
    assert (deep.method, deep.dims, deep.error) == ("tsne", 3, "")
    order = deep.source.data["index"]
    np.testing.assert_array_equal(deep.source.data["c"], saved[order, 2])
    assert len(deep_order) == 16 and deep.source.data["thumb"][0].startswith("data:image/png")
    assert set(deep.source.data["label"]) <= {"COVID", "non-COVID"}


def test_app_builds_without_a_report(tmp_path):
    app = build_app("covid-interp", report_dir=tmp_path)
    assert "no report" in app.status and app.browser is None
    assert not app.load(tmp_path / "missing")


def test_embedding_colours_agree_between_the_app_and_the_figures(smoke_report):
    from medinterp_widgets.pipelines.covid_interp.figures import CLASS_COLOURS

    app = build_app("covid-interp", report_dir=smoke_report)
    viewer = app.embeddings.children[0].children[1].children[0]
    assert dict(viewer.legend_entries) == {name: colour for colour, name in CLASS_COLOURS.values()}
