"""The heatmap-loss ACDC arm's cross-validation alone, for one loss and a few settings (README: what was measured).

    MEDINTERP_DATA=... python notebooks/tools/heatmap_acdc_cv.py OUT.json LOSS REPEATS SEED [field=value ...]

Trains REPEATS x 5 fold networks of the --paper preset's ACDC arm (no final model) with the given Config
overrides (e.g. ``acdc_crop=128 acdc_classification=ce``) and prints / writes per repeat: out-of-fold
AUC, balanced accuracy at the midpoint threshold of the other repeats (the report's rule), at 0.5 and at
the prevalence-matched threshold; the AUC of the repeats' mean (an ensemble of REPEATS models); the heart
overlap and empty-map share; the 1-thread CPU seconds.
"""

from __future__ import annotations

import ast
import json
import os
import sys
import time
from functools import partial
from pathlib import Path

import numpy as np
import torch

from medinterp_widgets.metrics import midpoint_threshold
from medinterp_widgets.pipelines.heatmap_loss import acdc as A
from medinterp_widgets.pipelines.heatmap_loss.acdc_arm import (
    _folds,
    _members,
    acdc_preprocessing,
    heart_overlap,
    read_with,
)
from medinterp_widgets.pipelines.heatmap_loss.acdc_train import train_group_seg
from medinterp_widgets.pipelines.heatmap_loss.config import Config
from medinterp_widgets.pipelines.heatmap_loss.study import build_model, make_loss


def _value(text: str):
    """A Python literal (128, 0.1, True, (0.2, 0.8)), else the text itself (ce)."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def main(out: str, loss: str, repeats: str, seed: str, *overrides: str) -> dict:
    torch.set_num_threads(1)
    fields = {k: _value(v) for k, v in (o.split("=", 1) for o in overrides)}
    config = Config.from_preset("paper", seed=int(seed), acdc_repeats=int(repeats), **fields)
    start = time.process_time()
    patients = read_with(acdc_preprocessing(config), Path(os.environ["MEDINTERP_DATA"]) / "acdc", "train")
    images, owner = A.stack_patients(patients)
    counts = torch.bincount(images.labels, minlength=2).float()
    folds = _folds(patients, config)
    kwargs = dict(in_channels=2 + int(config.acdc_difference), n_classes=2, width=config.acdc_width,
                  cfg=config.acdc_cfg, batch_norm=True, head="fc", hidden=config.hidden, fc_pool=config.acdc_fc_pool,
                  dropout=config.acdc_dropout)
    trained = train_group_seg(lambda s: build_model(kwargs, s), _members(owner, folds, config)[:-1], images,
                              loss=make_loss(loss, config, (counts.sum() / (2 * counts)).tolist(),
                                             config.acdc_classification, config.acdc_heatmap_target),
                              epochs=config.acdc_epochs, batch_size=config.batch_size, seg_weight=0.0,
                              augment=partial(A.augment_batch, channels=kwargs["in_channels"]))
    per_repeat, overlaps, empties = np.zeros((int(repeats), len(patients))), [], []
    for index, ((_, held_out), result) in enumerate(zip(folds, trained)):
        model = build_model(kwargs, 0)
        model.load_state_dict(result.state)
        chosen = [patients[i] for i in held_out]
        per_repeat[index // config.acdc_folds, held_out] = A.patient_probabilities(model, chosen)
        overlap, empty, _ = heart_overlap(model, chosen, target=config.acdc_heatmap_target)
        overlaps.append(overlap)
        empties.append(empty)
    labels = np.array([p.label for p in patients])

    def ba(p, t):
        return round(A.diagnosis_scores(labels, p, t)["balanced_accuracy"], 3)

    others = [midpoint_threshold(labels, np.delete(per_repeat, r, 0).mean(0)) for r in range(int(repeats))]
    summary = {"loss": loss, "repeats": int(repeats), "seed": int(seed), "overrides": fields,
               "auc": [round(A.diagnosis_scores(labels, p)["auc"], 3) for p in per_repeat],
               "ba_midpoint": [ba(p, t) for p, t in zip(per_repeat, others)],
               "ba_0.5": [ba(p, 0.5) for p in per_repeat],
               "ba_prevalence": [ba(p, float(np.quantile(p, (labels == 0).mean()))) for p in per_repeat],
               "ensemble_auc": round(A.diagnosis_scores(labels, per_repeat.mean(0))["auc"], 3),
               "heart_overlap": round(float(np.nanmean(overlaps)), 3),
               "heart_empty": round(float(np.nanmean(empties)), 3),
               "mean_P_diseased": {d: round(float(per_repeat.mean(0)[[p.diagnosis == d for p in patients]].mean()), 2)
                                   for d in ("NOR", "DCM", "HCM", "MINF", "RV")},
               "cpu_s": round(time.process_time() - start)}
    Path(out).write_text(json.dumps(summary, indent=1))
    print(json.dumps(summary))
    return summary


if __name__ == "__main__":
    main(*sys.argv[1:])
