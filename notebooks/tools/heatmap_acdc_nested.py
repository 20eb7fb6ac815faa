"""Nested CV of the heatmap-loss ACDC arm (README: fold ensemble vs final model); ``loss=`` picks the group
(``ce``, the default, or a heatmap loss such as ``hirescam``).

Per outer fold, 4 inner fold models (``inner_folds=5 inner_repeats=2``: the 10 of the ``--paper`` arm) + 1 final
model on the outer-training patients; threshold = midpoint of the inner out-of-fold P (mean over inner
repeats); outer-test patients predicted by (a) the final model, (b) the mean of the inner fold models; the
heart overlap (and the share of empty maps) of the final models' maps on their outer-test patients. The
heatmap loss uses ``acdc_classification`` and ``acdc_heatmap_target`` as the pipeline.

    MEDINTERP_DATA=... python notebooks/tools/heatmap_acdc_nested.py TAG SEED [loss=L] [field=value ...]
    # -> TAG.json (scores) and TAG.npz (per patient: labels, outer-test P, each outer fold's inner out-of-fold P)

``test_time=mirror`` / ``dihedral``: every P (inner out-of-fold and outer test) is the mean softmax over the
image's mirror / 8 flips and quarter turns (``models.test_time``), a test-time average the pipeline does not use.
"""

import ast
import json
import os
import sys
import time
from functools import partial
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import balanced_accuracy_score, roc_auc_score
from sklearn.model_selection import StratifiedKFold

from medinterp_widgets.metrics import midpoint_threshold
from medinterp_widgets.models.test_time import predict_softmax
from medinterp_widgets.pipelines.heatmap_loss import acdc as A
from medinterp_widgets.pipelines.heatmap_loss.acdc_arm import acdc_preprocessing, heart_overlap, read_with
from medinterp_widgets.pipelines.heatmap_loss.acdc_train import train_group_seg
from medinterp_widgets.pipelines.heatmap_loss.config import Config
from medinterp_widgets.pipelines.heatmap_loss.study import build_model, make_loss
from medinterp_widgets.training.grouped import Member

torch.set_num_threads(1)
TAG, SEED = sys.argv[1], int(sys.argv[2])


def value(text: str):
    """A Python literal (numbers, True / False, tuples), else the text itself (loss names)."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


over = {k: value(v) for k, v in (a.split("=", 1) for a in sys.argv[3:])}
LOSS = over.pop("loss", "ce")
INNER_FOLDS = int(over.pop("inner_folds", 4))  # inner CV per outer fold; the --paper arm: 5 folds x 2 repeats
INNER_REPEATS = int(over.pop("inner_repeats", 1))
TEST_TIME = over.pop("test_time", "none")
config = Config.from_preset("paper", seed=SEED, **over)
t0 = time.process_time()
pats = read_with(acdc_preprocessing(config), Path(os.environ["MEDINTERP_DATA"]) / "acdc", "train")
images, owner = A.stack_patients(pats)
counts = torch.bincount(images.labels, minlength=2).float()
w = (counts.sum() / (2 * counts)).tolist()
diag = np.array([p.diagnosis for p in pats])
y = np.array([p.label for p in pats])
outer = list(StratifiedKFold(5, shuffle=True, random_state=SEED * 100 + 7).split(np.zeros(len(pats)), diag))
members, plan = [], []


def subset(idx):
    return tuple(torch.nonzero(torch.isin(owner, torch.as_tensor(idx))).flatten().tolist())


for o, (tr, te) in enumerate(outer):
    for r in range(INNER_REPEATS):  # repeat 0: the splits and seeds of the single-repeat runs
        state = SEED * 100 + 50 + o + 1000 * r
        inner = list(StratifiedKFold(INNER_FOLDS, shuffle=True, random_state=state).split(np.zeros(len(tr)), diag[tr]))
        for i, (itr, ite) in enumerate(inner):
            seed = SEED * 1000 + 10 * o + i if r == 0 else SEED * 100_000 + 100 * o + 10 * r + i
            members.append(Member(seed=seed, lr=config.acdc_lr, subset=subset(tr[itr])))
            plan.append((o, "inner", tr[ite]))
    members.append(Member(seed=SEED * 1000 + 10 * o + 9, lr=config.acdc_lr, subset=subset(tr)))
    plan.append((o, "final", te))
kw = dict(
    in_channels=2 + int(config.acdc_difference),  # ED, ES (+ ED - ES)
    n_classes=2,
    width=config.acdc_width,
    cfg=config.acdc_cfg,
    batch_norm=True,
    head="fc",
    hidden=config.hidden,
    fc_pool=config.acdc_fc_pool,
    dropout=config.acdc_dropout,
)
res = train_group_seg(
    lambda s: build_model(kw, s),
    members,
    images,
    loss=make_loss(LOSS, config, w, config.acdc_classification, config.acdc_heatmap_target),
    epochs=config.acdc_epochs,
    batch_size=config.batch_size,
    seg_weight=0.0,
    augment=partial(A.augment_batch, channels=kw["in_channels"]),
)


class TestTimeAveraged(torch.nn.Module):
    """log of ``predict_softmax`` over ``TEST_TIME``'s transforms: its softmax is the averaged probabilities."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x):
        return predict_softmax(self.model, x, TEST_TIME).clamp_min(1e-12).log()


def probabilities(m, patients):
    """P(diseased) per patient: the pipeline's mean softmax over its slices, of the test-time averaged model."""
    return A.patient_probabilities(m if TEST_TIME == "none" else TestTimeAveraged(m), patients)


def model(r):
    m = build_model(kw, 0)
    m.load_state_dict(r.state)
    return m.eval()


p_final, p_ens, pred_final, pred_ens = (
    np.zeros(len(pats)),
    np.zeros(len(pats)),
    np.zeros(len(pats), int),
    np.zeros(len(pats), int),
)
thr = []
oof_by_outer = np.full((len(outer), len(pats)), np.nan)  # each outer fold's inner out-of-fold P (its training patients)
for o, (tr, te) in enumerate(outer):
    idx = [k for k, (oo, kind, _) in enumerate(plan) if oo == o]
    inner_oof, seen = np.zeros(len(pats)), np.zeros(len(pats))  # mean out-of-fold P over the inner repeats
    inner_models = []
    for k in idx:
        _, kind, held = plan[k]
        m = model(res[k])
        if kind == "inner":
            inner_oof[held] += probabilities(m, [pats[j] for j in held])
            seen[held] += 1
            inner_models.append(m)
        else:
            p_final[te] = probabilities(m, [pats[j] for j in te])
    t = midpoint_threshold(y[tr], inner_oof[tr] / seen[tr])
    oof_by_outer[o, tr] = inner_oof[tr] / seen[tr]
    thr.append(round(t, 3))
    p_ens[te] = np.mean([probabilities(m, [pats[j] for j in te]) for m in inner_models], 0)
    pred_final[te] = p_final[te] >= t
    pred_ens[te] = p_ens[te] >= t


def sc(p, pred):
    return dict(
        auc=round(roc_auc_score(y, p), 3),
        ba=round(balanced_accuracy_score(y, pred), 3),
        sens=round(pred[y == 1].mean(), 2),
        spec=round(1 - pred[y == 0].mean(), 2),
    )


empty, overlap = [], []  # the final models' maps on their outer-test patients
for o, (_, te) in enumerate(outer):
    final_model = model(res[next(k for k, (oo, kind, _) in enumerate(plan) if oo == o and kind == "final")])
    mean, share, _ = heart_overlap(final_model, [pats[j] for j in te], target=config.acdc_heatmap_target)
    empty.append(share)
    overlap.append(mean)
out = dict(
    tag=TAG,
    loss=LOSS,
    seed=SEED,
    over={**over, "inner_folds": INNER_FOLDS, "inner_repeats": INNER_REPEATS, "test_time": TEST_TIME},
    thresholds=thr,
    heart_overlap=round(float(np.nanmean(overlap)), 3),
    heart_maps_empty=round(float(np.mean(empty)), 3),
    final=sc(p_final, pred_final),
    ensemble=sc(p_ens, pred_ens),
    final_mean_P={d: round(float(p_final[diag == d].mean()), 2) for d in ("NOR", "DCM", "HCM", "MINF", "RV")},
    ensemble_mean_P={d: round(float(p_ens[diag == d].mean()), 2) for d in ("NOR", "DCM", "HCM", "MINF", "RV")},
    cpu_s=round(time.process_time() - t0),
)
print(json.dumps(out))
Path(f"{TAG}.json").write_text(json.dumps(out))
np.savez(f"{TAG}.npz", y=y, diagnosis=diag, p_final=p_final, p_ensemble=p_ens, inner_oof=oof_by_outer,
         outer_fold=np.array([next(o for o, (_, te) in enumerate(outer) if j in te) for j in range(len(pats))]))
