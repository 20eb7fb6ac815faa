"""Heatmap-loss pipeline on the shared ACDC subset: patient-level splits, binary labels, heart masks."""

from __future__ import annotations

import pytest

from medinterp_widgets.data import load_acdc
from medinterp_widgets.pipelines import heatmap_loss as hl

pytestmark = pytest.mark.data


def test_acdc_study_data_is_positive_vs_rest_with_heart_masks(data_root, real_dataset):
    real_dataset("acdc")
    config = hl.Config.preset("smoke", data_root=data_root, acdc_max_slices=30)
    data = hl.load_study_data("acdc", config)
    assert data.class_names == ("not HCM", "HCM") and not data.has_marker
    for split in (data.train, data.val, data.test):
        assert split.images.shape[1:] == (1, 32, 32) and set(split.labels.tolist()) <= {0, 1}
        assert split.heart.any() and not split.marker.any()
    assert data.train.labels.sum() > 0 and (data.train.labels == 0).sum() > 0


def test_shared_acdc_training_slices_cover_every_diagnosis(real_dataset):
    patients: dict[str, set] = {}
    for case in load_acdc(real_dataset("acdc"), "train"):
        patients.setdefault(case.diagnosis, set()).add(case.patient_id)
    assert set(patients) == {"DCM", "HCM", "MINF", "NOR", "RV"}  # normal hearts: NOR vs diseased is possible
    assert all(13 <= len(ids) <= 17 for ids in patients.values())
