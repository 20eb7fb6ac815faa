"""covid-interp end to end: the smoke preset through `medinterp reproduce`, the report, and the app."""

from __future__ import annotations

import json

import numpy as np
import pytest

from medinterp_widgets.apps import build_app
from medinterp_widgets.cli import main
from medinterp_widgets.pipelines.covid_interp import config as covid_config
from medinterp_widgets.training.checkpoints import load_checkpoint


def _smoke() -> dict:
    return dict(covid_config._PRESETS["smoke"])


@pytest.fixture(scope="module")
def smoke_report(tmp_path_factory):
    """One smoke run (synthetic data) written by the CLI; shared by the tests below."""
    out = tmp_path_factory.mktemp("covid-interp")
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("MEDINTERP_DATA", raising=False)
        patch.setattr("medinterp_widgets.pipelines.covid_interp.config._PRESETS",
                      {"quick": dict(_smoke(), synthetic_images=16, max_lesion_slices=4, embedding_points=16,
                                     gradcam_images=1)})
        assert main(["reproduce", "covid-interp", "--quick", "--out", str(out), "--seed", "1"]) == 0
    return out


def test_reproduce_writes_the_report(smoke_report, capsys):
    report = json.loads((smoke_report / "report.json").read_text())
    assert report["name"] == "covid-interp" and report["config"]["seed"] == 1
    table = report["tables"]["Table 1: test rates, mean ± sd over folds (%), the paper's beside ours"]
    methods = [(row["method"], row["source"]) for row in table]
    assert ("AlexNet", "paper (Wan et al.)") in methods and ("Deep features (pool5) + SVM", "ours") in methods
    assert ("LBP + SVM", "ours") in methods and methods[-1][0].startswith("Explained classifier")
    names = {c["name"] for c in report["comparisons"]}
    assert {"AlexNet accuracy", "LBP + SVM npv", "consistent degree (untouched MedSeg slices)"} <= names
    for figure in ("fig4_5_alexnet_training_curves", "fig6_embeddings_2d", "fig7_embeddings_3d",
                   "fig8_first_layer_filters", "fig9_hidden_neurons_guided_backprop", "fig10_conv_layers_by_image",
                   "fig11_gradcam_top_consistent_degree", "fig12_guided_backprop_top_consistent_degree"):
        assert (smoke_report / "figures" / f"{figure}.png").stat().st_size > 1000
    metrics = report["metrics"]
    assert 0.0 <= metrics["consistent_degree_mean"] <= 1.0 and metrics["chance_support_area"] > 0
    assert {"accuracy", "auc", "p_covid_mean", "alexnet_accuracy", "lbp_svm_accuracy", "deep_svm_accuracy"} <= set(
        metrics)
    assert len(report["checkpoints"]) == 1 and "best fold" in next(iter(report["checkpoints"]))
    stored = load_checkpoint(metrics["best_fold_checkpoint"])["config"]["extra"]
    assert stored["decision_rule"] == "train_midpoint" and stored["preprocess"]["test_time"] == "mirror"
    assert stored["decision_threshold"] == metrics[f"fold{metrics['best_fold']}_threshold"]
    assert 0.0 < stored["decision_threshold"] < 1.0
    assert stored["texture_model"]["weight"] == report["config"]["texture_weight"] > 0
    assert {"cnn_accuracy", "cnn_auc_min"} <= set(metrics)
    ablation = report["tables"]["Ablation: what each choice of the explained classifier adds"]
    assert any(row["model"].strip().startswith("its CNN term alone") for row in ablation)
    assert any("synthetic" in note for note in report["notes"])


def test_report_carries_faithfulness_of_the_maps(smoke_report):
    report = json.loads((smoke_report / "report.json").read_text())
    faithfulness = report["faithfulness"]
    assert [row["method"] for row in faithfulness["rows"]] == ["gradcam", "guided_backprop", "saliency"]
    assert len(faithfulness["slices"]) == 2
    assert faithfulness["settings"]["gradcam_layer"] == report["config"]["cam_layer"]
    for row in faithfulness["rows"]:
        assert row["n"] == 2 and 0.0 <= row["deletion_auc"] <= 1.0 and 0.0 <= row["insertion_auc"] <= 1.0
        assert row["randomisation_passed"] in (0.0, 0.5, 1.0) and 0.0 <= row["consistent_degree"] <= 1.0
    metrics = report["metrics"]
    assert metrics["faithfulness/gradcam/deletion_auc"] == faithfulness["rows"][0]["deletion_auc"]
    assert {"faithfulness/saliency/road", "faithfulness/guided_backprop/relevance_mass"} <= set(metrics)
    assert any(name.startswith("Faithfulness") for name in report["tables"])
    assert any(note.startswith("Faithfulness") for note in report["notes"])


def test_report_arrays_hold_the_embeddings(smoke_report):
    with np.load(smoke_report / "arrays.npz") as arrays:
        assert arrays["embedding/deep/tsne/3d"].shape == (16, 3)
        assert arrays["embedding/lbp/pca/2d"].shape == (16, 2)
        assert arrays["embedding_thumbnails"].shape == (16, 32, 32)
        assert arrays["embedding_features/lbp"].shape == (16, 59)
        assert arrays["embedding_features/deep"].dtype == np.float32
        assert arrays["embedding_features/deep"].shape[1] == 8 * 36  # pool5 of the smoke AlexNet
        assert arrays["lesion_cams"].shape == arrays["lesion_masks"].shape


def test_app_shows_a_written_report(smoke_report):
    app = build_app("covid-interp", report_dir=smoke_report)
    assert app.folder == str(smoke_report) and "loaded" in app.status
    assert "LBP + SVM" in app.tables.value and len(app.figures.children) >= 10
    assert app.browser is not None and app.browser.slice_count == 4
    app.overlay_choice.value = "Highest consistent degrees (Fig. 11): Grad-CAM"
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
