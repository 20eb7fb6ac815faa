"""`medinterp evaluate` reads every real data set through the data layer (untrained tiny models, a few images).

mouse-brain checkpoints are scored by the rodent-gbp pipeline's own evaluator (tests/pipelines/test_rodent_gbp_run.py).
"""

from __future__ import annotations

import json
import math

import pytest
import torch

from medinterp_widgets.cli import main
from medinterp_widgets.training.checkpoints import atomic_save, checkpoint_payload

CASES = [  # (folder, --dataset, task, extra args, expects APD)
    ("sunnybrook", "sunnybrook", "segmentation", [], True),
    ("acdc", "acdc", "segmentation", [], False),
    ("covid_ct", "covid-ct", "classification", ["--size", "32", "32"], False),
    ("covid_ct_lesions", "covid-lesions", "consistent degree", ["--size", "32", "32"], False),  # Grad-CAM vs lesions
]


def _tiny_checkpoint(path, task: str) -> str:
    from medinterp_widgets.models import GapFCN, VGGClassifier

    torch.manual_seed(0)
    if task in ("classification", "consistent degree"):  # covid-lesions scores a classifier's Grad-CAM
        model = VGGClassifier(in_channels=1, n_classes=2, width=4, cfg=[1, "M", 2], batch_norm=False, dropout=0.0)
        classes = 2
    else:
        model = GapFCN(in_channels=1, n_classes=4, base_channels=4, depth=2, convs_per_stage=1, batch_norm=False)
        classes = 4
    atomic_save(checkpoint_payload(model, config={"num_classes": classes}), path)
    return str(path)


@pytest.mark.data
@pytest.mark.parametrize("folder, kind, task, extra, has_apd", CASES, ids=[c[1] for c in CASES])
def test_evaluate_reads_real_folder(tmp_path, capsys, real_dataset, folder, kind, task, extra, has_apd):
    root = real_dataset(folder)
    checkpoint = _tiny_checkpoint(tmp_path / "tiny.pt", task)
    code = main(["evaluate", "--checkpoint", checkpoint, "--data", str(root), "--dataset", kind, "--json",
                 "--device", "cpu", "--limit", "3", *extra])
    assert code == 0
    results = json.loads(capsys.readouterr().out)
    assert results["n"] == 3 and results["task"] == task
    assert ("apd_mm_mean" in results) == has_apd
    if task == "consistent degree":
        assert 0.0 <= results["consistent_degree_mean"] <= 1.0 and results["chance_support_area"] >= 0.0
        assert 0.0 <= results["p_covid_mean"] <= 1.0
        return
    key = "dice_mean" if task == "segmentation" else "accuracy"
    assert results[key] is None or 0.0 <= results[key] <= 1.0
    assert not math.isnan(results["loss"])
