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
