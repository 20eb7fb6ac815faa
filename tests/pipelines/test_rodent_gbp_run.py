"""rodent-gbp end to end: the smoke preset through `medinterp reproduce`, `evaluate` against the pipeline, the app."""

from __future__ import annotations

import json

import nibabel as nib
import numpy as np
import pytest
import torch
from scipy import ndimage

from medinterp_widgets.cli import main
from medinterp_widgets.pipelines import rodent_gbp
from medinterp_widgets.pipelines.rodent_gbp.checkpoint import read_extras
from medinterp_widgets.training.checkpoints import load_checkpoint

SUBJECT = "FVB_NCrl_in_vivo_{}.nii.gz"


def tiny_mouse_folder(root, n=3, shape=(16, 32, 20)):
    """``n`` animals in the mouse_brain layout: an ellipsoid brain of GM structures (label 14) with a WM
    tract (label 2) and a ventricle (label 10), the mask one voxel wider than the labels, as shipped."""
    root.mkdir(parents=True)
    for kind in ("template", "label", "mask"):
        (root / kind).mkdir()
    rng = np.random.default_rng(0)
    z, y, x = np.meshgrid(*[np.arange(s) for s in shape], indexing="ij")
    for i in range(1, n + 1):
        c = np.array(shape) / 2 + rng.uniform(-1.5, 1.5, 3)
        brain = ((z - c[0]) / 6) ** 2 + ((y - c[1]) / 12) ** 2 + ((x - c[2]) / 7) ** 2 <= 1
        labels = np.where(brain, 14, 0)
        labels[brain & (np.abs(x - c[2] - 2) <= 1)] = 2
        labels[brain & (((y - c[1]) / 3) ** 2 + ((x - c[2] + 3) / 2) ** 2 <= 1)] = 10
        image = np.choose(np.searchsorted([0, 2, 10, 14], labels), [0, 500, 900, 650]).astype(np.float32)
        image = np.where(labels > 0, image + rng.normal(0, 20, shape), 0).astype(np.float32)
        mask = ndimage.binary_dilation(brain)
        arrays = (("template", image), ("label", labels.astype(np.float32)), ("mask", mask.astype(np.float32)))
        for kind, array in arrays:
            nib.save(nib.Nifti1Image(array, np.diag([0.15, 0.15, 0.15, 1.0])), root / kind / SUBJECT.format(i))
    (root / "structure_labels.csv").write_text("label,structure_name\n2,Left External Capsule\n10,Left Ventricles\n")
    return root


def test_reproduce_smoke_writes_the_report(tmp_path, monkeypatch):
    monkeypatch.delenv("MEDINTERP_DATA", raising=False)
    quick = rodent_gbp.Config.from_preset

    def smoke(name, **overrides):
        assert name == "quick"
        return quick("smoke", **overrides)

    monkeypatch.setattr(rodent_gbp.Config, "from_preset", smoke)
    assert main(["reproduce", "rodent-gbp", "--quick", "--out", str(tmp_path)]) == 0
    report = json.loads((tmp_path / "report.json").read_text())
    keys = {"brain_dice_gbp", "wm_dice_gbp", "gm_dice_gbp", "csf_dice_gbp", "wm_dice_true_mask", "gm_dice_true_mask",
            "csf_dice_true_mask", "n_animals", "brain_dice_paper_placement", "translation_error_px_mean"}
    assert keys <= set(report["metrics"]) and report["metrics"]["n_animals"] == 1
    table2 = next(rows for name, rows in report["tables"].items() if name.startswith("Table 2: "))
    assert [r["structure"] for r in table2] == ["brain", "WM", "GM", "CSF"]
    assert {"precision %", "specificity %", "sensitivity %", "accuracy %", "DSC %", "paper DSC %"} <= set(table2[0])
    assert table2[0]["paper DSC %"] == 99.12
    for name in ("tissue_ground_truth", "fig5_enhancement_histograms", "gbp_panels", "fig3_translation", "fig4_noise",
                 "training_curve"):
        assert (tmp_path / "figures" / f"{name}.png").stat().st_size > 1000
    assert (tmp_path / "report.html").is_file() and report["notes"]
    faithfulness = report["faithfulness"]  # issue #16: guided backprop, saliency, Grad-CAM of the brain
    assert set(faithfulness) == {"guided_backprop", "saliency", "gradcam"}
    for method, scores in faithfulness.items():  # nan (no predicted brain in a 1-epoch model) is written as null
        assert {"n", "deletion_auc", "insertion_auc", "road", "relevance_mass", "pointing_game"} <= set(scores)
        assert scores["n"] >= 1 and report["metrics"][f"faith_{method}_insertion_auc"] == scores["insertion_auc"]
    assert any(name.startswith("faithfulness of the brain maps") for name in report["tables"])


def test_evaluate_scores_the_checkpoint_as_the_pipeline_did(tmp_path):
    torch.set_num_threads(1)
    root = tiny_mouse_folder(tmp_path / "data" / "mouse_brain")
    config = rodent_gbp.Config.from_preset("smoke", data_root=str(tmp_path / "data"), out_dir=str(tmp_path / "runs"),
                                           test_animals=(3,), slice_size=None, slice_step=1, device="cpu", context=1,
                                           input_scale="brain_median")
    report = rodent_gbp.run(config)  # 2.5-D input: evaluate rebuilds the 3-channel U-Net from the checkpoint
    checkpoint = report.checkpoints["U-Net"]["path"]
    payload = load_checkpoint(checkpoint)  # weights_only: templates and settings are plain data / tensors
    stored, refs = read_extras(payload, checkpoint)
    assert [r.subject_id for r in refs] == ["FVB_NCrl_in_vivo_1", "FVB_NCrl_in_vivo_2"]
    assert stored.placement == config.placement and refs[0].mask.shape == (16, 32, 20)
    assert stored.input_scale == "brain_median"  # evaluate scales the animals as training did
    del payload["rodent_gbp"]["settings"]["input_scale"]  # a checkpoint from before the setting: trained on p99.5
    assert read_extras(payload, checkpoint)[0].input_scale == "percentile"
    results = rodent_gbp.evaluate_checkpoint(checkpoint, root, "mouse-brain", device="cpu")
    assert results["n_animals"] == 3
    for key in ("brain_dice_gbp", "wm_dice_gbp", "gm_dice_gbp", "csf_dice_gbp", "gm_dice_true_mask"):
        ours, theirs = results[f"FVB_NCrl_in_vivo_3/{key}"], report.metrics[key]
        assert (np.isnan(ours) and np.isnan(theirs)) or ours == pytest.approx(theirs, abs=1e-9)


def test_evaluate_cli_refuses_a_checkpoint_without_templates(tmp_path, capsys):
    from medinterp_widgets.models import UNet
    from medinterp_widgets.training.checkpoints import atomic_save, checkpoint_payload

    root = tiny_mouse_folder(tmp_path / "mouse_brain", n=1)
    path = atomic_save(checkpoint_payload(UNet(1, 4, 4, 2)), tmp_path / "plain.pt")
    code = main(["evaluate", "--checkpoint", str(path), "--data", str(root), "--dataset", "mouse-brain", "--json"])
    assert code == 2 and "rodent_gbp" in capsys.readouterr().err


def test_app_builds_fast_and_prefers_the_paper_report(tmp_path, monkeypatch):
    from medinterp_widgets.apps import build_app
    from medinterp_widgets.apps.rodent_gbp import build, tables_html
    from medinterp_widgets.pipelines.report import Report

    monkeypatch.setenv("MEDINTERP_REPORTS", str(tmp_path / "empty"))  # no reports root: nothing shown
    app = build_app("rodent-gbp")
    assert app.area.children == () and "run smoke" in app.run_button.description
    report = Report("rodent-gbp", "t", {}, tables={"t": [{"tissue": "WM", "DSC": 0.5}]}, figures={"f": b"\x89PNG fake"})
    report.write(tmp_path / "rodent-gbp-quick")
    shown = build(report_dir=tmp_path / "rodent-gbp-quick")
    assert len(shown.area.children) == 1 and "rodent-gbp-quick" in shown.status.value
    report.write(tmp_path / "rodent-gbp-paper")
    assert "rodent-gbp-paper" in build(report_dir=tmp_path / "rodent-gbp-quick").status.value
    assert ">0.5</td>" in tables_html(report.tables)
    assert "rodent-gbp-quick" not in build(report_dir=tmp_path / "rodent-gbp-quick").status.value
    missing = build(report_dir=tmp_path / "nowhere")
    assert "no report.json" in missing.status.value


def test_app_run_button_adds_the_overlay_browser(monkeypatch):
    from medinterp_widgets.apps.rodent_gbp import build

    monkeypatch.delenv("MEDINTERP_DATA", raising=False)
    torch.set_num_threads(1)
    app = build(preset="smoke")
    app.run_preset()
    assert "done" in app.status.value and len(app.area.children) == 2
