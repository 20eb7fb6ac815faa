"""Heatmap-loss ACDC arm on the shared ACDC copy: ED/ES stacks of every patient, normal vs diseased."""

from __future__ import annotations

import pytest

from medinterp_widgets.data import load_acdc
from medinterp_widgets.pipelines.heatmap_loss.acdc import read_patients

pytestmark = pytest.mark.data


def test_shared_acdc_training_slices_cover_every_diagnosis(real_dataset):
    patients: dict[str, set] = {}
    for case in load_acdc(real_dataset("acdc"), "train"):
        patients.setdefault(case.diagnosis, set()).add(case.patient_id)
    assert set(patients) == {"DCM", "HCM", "MINF", "NOR", "RV"}  # normal hearts: NOR vs diseased is possible
    assert all(13 <= len(ids) <= 17 for ids in patients.values())


def test_acdc_patients_as_ed_es_stacks(real_dataset):
    folder = real_dataset("acdc")
    train = read_patients(folder, "train", crop=160, size=32, middle=(0.2, 0.8))
    assert len(train) == 70 and sum(p.label == 0 for p in train) == 13
    assert all(p.images.shape[1:] == (2, 32, 32) and p.heart.any() for p in train)
    val = read_patients(folder, "val", crop=160, size=32, middle=(0.2, 0.8))  # volumes of 10 other patients
    assert len(val) == 10 and not {p.patient_id for p in val} & {p.patient_id for p in train}


def test_cardiac_indices_of_the_expert_masks_separate_normal_hearts(real_dataset):
    """The function term's premise on the real patients: with the expert ED / ES masks, the five indices and
    the quadratic regression rank normal vs diseased almost perfectly out of fold (a U-Net's masks do worse)."""
    import numpy as np
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold

    from medinterp_widgets.pipelines.heatmap_loss.acdc import read_frames
    from medinterp_widgets.pipelines.heatmap_loss.acdc_function import cardiac_indices, fit_function_model

    frames = read_frames(real_dataset("acdc"), "train", crop=128, size=64)
    assert len(frames) == 70 and all(f.images.shape[0] == 2 and f.labels.max() == 3 for f in frames)
    indices = np.stack([cardiac_indices(f.labels) for f in frames])
    labels = np.array([f.label for f in frames])
    normal, diseased = indices[labels == 0], indices[labels == 1]
    assert 0.5 < np.median(normal[:, 0]) < 0.7  # a normal LV ejects about 60 % of its diastolic volume
    assert np.median(diseased[:, 0]) < np.median(normal[:, 0])
    p = np.zeros(len(labels))
    for train, test in StratifiedKFold(5, shuffle=True, random_state=0).split(indices, [f.diagnosis for f in frames]):
        p[test] = fit_function_model(indices[train], labels[train], weight=1.0).p_diseased(indices[test])
    assert roc_auc_score(labels, p) > 0.95
