"""The ACDC cardiac-function term: indices and the quadratic regression by hand, equality with scikit-learn,
the stored model's checks, the segmenter (deterministic, refused when it is not the term's U-Net)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from medinterp_widgets.models import UNet, VGGClassifier
from medinterp_widgets.pipelines.heatmap_loss.acdc import PatientFrames
from medinterp_widgets.pipelines.heatmap_loss.acdc_function import (
    FIELD,
    INDEX_NAMES,
    SegmenterSettings,
    cardiac_indices,
    dice_per_label,
    fit_function_model,
    function_model_from_checkpoint,
    load_segmenter,
    prepare_function_term,
    quadratic_terms,
    segment,
    train_segmenter,
)
from medinterp_widgets.training.checkpoints import atomic_save, checkpoint_payload


def _labels(lv_ed, lv_es, rv_ed, rv_es, myo_ed, myo_es) -> np.ndarray:
    """(2, 2, 10, 10) label maps holding the given pixel counts, spread over two slices."""
    out = np.zeros((2, 2, 100), np.uint8)
    for frame, counts in enumerate(((lv_ed, rv_ed, myo_ed), (lv_es, rv_es, myo_es))):
        flat = np.concatenate([np.full(n, label, np.uint8) for n, label in zip(counts, (3, 1, 2))])
        padded = np.zeros(200, np.uint8)
        padded[:len(flat)] = flat
        out[frame] = padded.reshape(2, 100)
    return out.reshape(2, 2, 10, 10)


def test_cardiac_indices_by_hand():
    indices = cardiac_indices(_labels(lv_ed=80, lv_es=30, rv_ed=60, rv_es=40, myo_ed=40, myo_es=45))
    np.testing.assert_allclose(indices, [50 / 80, 20 / 60, 40 / 80, 60 / 80, 45 / 30])
    empty = cardiac_indices(np.zeros((2, 3, 4, 4), np.uint8))  # nothing segmented: every count taken as 1
    np.testing.assert_allclose(empty, [0, 0, 1, 1, 1])
    assert len(INDEX_NAMES) == 5


def test_quadratic_terms_by_hand():
    np.testing.assert_allclose(quadratic_terms(np.array([[2.0, 3.0]])), [[2, 3, 4, 6, 9]])


def test_dice_per_label_by_hand():
    truth = np.array([1, 1, 2, 3, 3, 0])
    predicted = np.array([1, 0, 2, 3, 0, 0])
    dice = dice_per_label(predicted, truth)
    np.testing.assert_allclose(dice, [2 / 3, 1.0, 2 / 3])
    assert np.isnan(dice_per_label(np.zeros(3), np.zeros(3))).all()


def _indices(seed=0, n=40):
    rng = np.random.default_rng(seed)
    x = rng.normal([0.55, 0.5, 0.8, 1.1, 1.7], [0.15, 0.12, 0.3, 0.4, 0.5], (n, 5))
    y = (np.abs(x[:, 0] - 0.55) + np.abs(x[:, 3] - 1.1) / 3 > 0.12).astype(int)  # "normal" lies in the middle
    return x, y


def test_fit_equals_scikit_learn_and_the_blend_by_hand():
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import PolynomialFeatures, StandardScaler

    x, y = _indices()
    model = fit_function_model(x, y, weight=0.25, c=0.7)
    reference = make_pipeline(StandardScaler(), PolynomialFeatures(2, include_bias=False),
                              LogisticRegression(C=0.7, class_weight="balanced", max_iter=5000)).fit(x, y)
    np.testing.assert_allclose(model.p_diseased(x), reference.predict_proba(x)[:, 1], atol=1e-9)
    p_cnn = np.linspace(0.1, 0.9, len(x))
    np.testing.assert_allclose(model.blend(p_cnn, x), 0.75 * p_cnn + 0.25 * model.p_diseased(x))


def _payload(stored):
    return {"config": {"extra": {FIELD: stored}}}


def test_stored_model_round_trip_and_refusals():
    x, y = _indices(1)
    model = fit_function_model(x, y, weight=0.6, c=2.0)
    loaded, segmenter = function_model_from_checkpoint(_payload(model.to_dict("segmenter.pt")), "final.pt")
    assert segmenter == "segmenter.pt" and loaded.weight == 0.6 and loaded.c == 2.0
    np.testing.assert_allclose(loaded.p_diseased(x), model.p_diseased(x))
    assert function_model_from_checkpoint({"config": {"extra": {}}}, "final.pt") is None
    good = model.to_dict("segmenter.pt")
    bad = {"features": ({**good, "features": "lbp"}, "features"),
           "indices": ({**good, "indices": ["lv_ejection_fraction"]}, "indices"),
           "path": ({**good, "segmenter": "../segmenter.pt"}, "segmenter"),
           "short": ({**good, "coef": good["coef"][:-1]}, "coef"),
           "nan": ({**good, "mean": [float("nan")] + good["mean"][1:]}, r"mean\[0\]"),
           "scale": ({**good, "scale": [0.0] + good["scale"][1:]}, "scale"),
           "weight": ({**good, "weight": 1.5}, "weight"),
           "text": ({**good, "intercept": "1"}, "intercept")}
    for stored, field in bad.values():
        with pytest.raises(ValueError, match=field) as raised:
            function_model_from_checkpoint(_payload(stored), "final.pt")
        assert "final.pt" in str(raised.value)


def _patients(count=4, slices=3, size=16):
    patients = []
    for i in range(count):
        rng = np.random.default_rng(i)
        labels = np.zeros((2, slices, size, size), np.uint8)
        labels[:, :, 4:12, 4:12] = 2
        labels[0, :, 6:10, 6:10] = 3
        labels[1, :, 7:9, 7:9] = 3
        labels[:, :, 4:12, 1:4] = 1
        images = (labels / 3 + rng.normal(0, 0.1, labels.shape)).astype(np.float32)
        patients.append(PatientFrames(f"patient{i + 1:03d}", "NOR" if i % 2 else "DCM", images, labels))
    return patients


def test_segmenter_training_is_seeded_and_prepare_gives_out_of_fold_indices():
    torch.set_num_threads(1)
    patients = _patients()
    settings = SegmenterSettings(width=2, epochs=2, batch_size=4)
    first, second = (train_segmenter(patients, settings, seed=5) for _ in range(2))
    for a, b in zip(first.state_dict().values(), second.state_dict().values()):
        torch.testing.assert_close(a, b)
    masks = segment(first, patients[0])
    assert masks.shape == patients[0].labels.shape and masks.dtype == np.uint8 and masks.max() <= 3
    data = prepare_function_term(patients, settings, folds=2, seed=0)
    assert data.patient_ids == [p.patient_id for p in patients] and data.indices.shape == (4, 5)
    assert np.isfinite(data.indices).all() and data.dice.shape == (3,)
    model = data.segmenter()
    assert isinstance(model, UNet) and model.init_kwargs["base_channels"] == 2


def test_load_segmenter_refuses_a_missing_file_or_another_model(tmp_path):
    from medinterp_widgets.data.errors import DataFormatError

    checkpoint = tmp_path / "final.pt"
    with pytest.raises(DataFormatError, match="segmenter.pt not found"):
        load_segmenter(checkpoint, "segmenter.pt")
    atomic_save(checkpoint_payload(VGGClassifier(in_channels=1, n_classes=2, width=2, cfg="tiny")),
                tmp_path / "other.pt")
    with pytest.raises(DataFormatError, match="U-Net"):
        load_segmenter(checkpoint, "other.pt")
    atomic_save(checkpoint_payload(UNet(1, 4, 2, 2)), tmp_path / "unet.pt")
    assert isinstance(load_segmenter(checkpoint, "unet.pt"), UNet)


def test_report_notes_name_the_term_and_warn_on_a_weak_segmenter():
    from types import SimpleNamespace

    from medinterp_widgets.pipelines.heatmap_loss import Config
    from medinterp_widgets.pipelines.heatmap_loss.acdc_arm import AcdcResult
    from medinterp_widgets.pipelines.heatmap_loss.notes import method_notes

    config = Config.from_preset("paper")
    assert config.acdc_function_weight == 0.7 and config.acdc_function_parallel
    weak = AcdcResult("ce", {}, 0.1, 0.0, np.zeros(2), "final.pt", function_dice=[0.2, 0.8, 0.9])
    notes = method_notes(SimpleNamespace(config=config, acdc={"ce": weak}, acdc_diagnoses=["NOR"], run_root="r"), [])
    assert any(n.startswith("ACDC deviation (cardiac-function term") and "0.3 x the CNN's" in n for n in notes)
    assert any("below 0.6 for RV" in n for n in notes)
    good = AcdcResult("ce", {}, 0.1, 0.0, np.zeros(2), "final.pt", function_dice=[0.8, 0.8, 0.9])
    notes = method_notes(SimpleNamespace(config=config, acdc={"ce": good}, acdc_diagnoses=["NOR"], run_root="r"), [])
    assert not any("ACDC warning" in n for n in notes)
