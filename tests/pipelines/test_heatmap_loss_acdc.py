"""ACDC arm of the heatmap-loss pipeline on a tiny ACDC-like folder: reading ED/ES stacks, preprocessing,
augmentation, scores, the acdc-diagnosis evaluator (CLI) and the arm end to end."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest
import torch

from medinterp_widgets.metrics import midpoint_threshold
from medinterp_widgets.pipelines import heatmap_loss as hl
from medinterp_widgets.pipelines.heatmap_loss import acdc
from medinterp_widgets.pipelines.heatmap_loss.acdc_arm import (
    cross_validated_scores,
    ensemble_probabilities,
    evaluate_acdc_diagnosis,
    run_acdc,
)

PATIENTS = (1, 2, 21, 22, 41, 42, 61, 62, 63, 81, 82)  # DCM, HCM, MINF x 2, NOR x 3, RV x 2


def _frames(number: int, frame: int, slices: int = 5, shape=(40, 36)) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(number * 10 + frame)
    image = rng.uniform(0, 0.3, (slices, *shape)).astype(np.float32)
    label = np.zeros((slices, *shape), np.uint8)
    radius = 6 if (number > 60 and number <= 80) or frame == 1 else 9  # diseased: big ES cavity
    yy, xx = np.mgrid[:shape[0], :shape[1]]
    disk = (yy - 20) ** 2 + (xx - 18) ** 2 <= radius**2
    image[:, disk] = 0.9
    label[:, disk] = 3
    return image, label


@pytest.fixture(scope="module")
def acdc_folder(tmp_path_factory):
    """train_slices.list (slices of 9 patients) + val.list (volumes of 2 more patients)."""
    root = tmp_path_factory.mktemp("acdc")
    (root / "data").mkdir()
    names, volumes = [], []
    for number in PATIENTS:
        for frame in (1, 2):
            image, label = _frames(number, frame)
            for index in range(image.shape[0]):
                name = f"patient{number:03d}_frame{frame:02d}_slice_{index + 1}"
                with h5py.File(root / "data" / f"{name}.h5", "w") as handle:
                    handle["image"], handle["label"] = image[index], label[index]
                names.append(name)
    for number in (64, 3):
        for frame in (1, 2):
            image, label = _frames(number, frame, slices=4)
            with h5py.File(root / "data" / f"patient{number:03d}_frame{frame:02d}.h5", "w") as handle:
                handle["image"], handle["label"] = image, label
            volumes.append(f"patient{number:03d}_frame{frame:02d}")
    (root / "train_slices.list").write_text("\n".join(names))
    (root / "val.list").write_text("\n".join(volumes))
    return root


def test_centre_crop_pads_and_crops():
    image = np.arange(12, dtype=np.float32).reshape(3, 4)
    np.testing.assert_array_equal(acdc.centre_crop(image, 2), [[1, 2], [5, 6]])  # offsets (3-2)//2, (4-2)//2
    padded = acdc.centre_crop(image, 5)
    assert padded.shape == (5, 5) and padded.sum() == image.sum() and padded[0].sum() == 0


def test_middle_slices_by_relative_position():
    assert acdc.middle_slices(list(range(1, 11)), (0.2, 0.8)) == [3, 4, 5, 6, 7, 8]  # (i + .5) / 10 in .2-.8
    assert acdc.middle_slices([4], (0.2, 0.3)) == [4]  # never empty


def test_read_patients_from_slices_and_volumes(acdc_folder):
    train = acdc.read_patients(acdc_folder, "train", crop=32, size=16, middle=(0.2, 0.8))
    assert [p.patient_id for p in train] == [f"patient{n:03d}" for n in PATIENTS]
    first = train[0]
    assert first.images.shape == (3, 2, 16, 16) and first.heart.shape == (3, 16, 16) and first.heart.any()
    assert first.label == 1 and train[6].label == 0 and train[6].diagnosis == "NOR"
    np.testing.assert_allclose(first.images.mean(axis=(2, 3)), 0, atol=1e-5)  # z-score per frame
    three = acdc.read_patients(acdc_folder, "train", crop=32, size=16, middle=(0.2, 0.8), difference=True)[0]
    np.testing.assert_allclose(three.images[:, 2], first.images[:, 0] - first.images[:, 1])
    val = acdc.read_patients(acdc_folder, "val", crop=32, size=16)
    assert [p.patient_id for p in val] == ["patient003", "patient064"] and val[0].images.shape[0] == 4
    everything = acdc.read_patients(acdc_folder, "no-such-split", crop=32, size=16)  # no list: every file
    assert len(everything) == len(PATIENTS) + 2
    split, owner = acdc.stack_patients(train)
    assert split.images.shape[0] == owner.shape[0] == sum(len(p.images) for p in train)


def test_augment_identity_and_flip_move_image_and_mask_together():
    x = torch.arange(2 * 4 * 6 * 6, dtype=torch.float32).view(2, 4, 6, 6)  # B=2, K=2 models x 2 channels
    masks = (x[:, ::2] > 100).float()  # (2, 2, 6, 6)
    generator = torch.Generator().manual_seed(0)
    same, same_masks = acdc.augment_batch(x, masks, generator, rotate=0, scale=0, shift=0, contrast=0, flip=False)
    torch.testing.assert_close(same, x)
    torch.testing.assert_close(same_masks, masks)
    flipped, flipped_masks = acdc.augment_batch(x, masks, torch.Generator().manual_seed(1), rotate=0, scale=0,
                                                shift=0, contrast=0, flip=True)
    for b in range(2):
        for k in range(2):
            image, mask = flipped[b, 2 * k:2 * k + 2], flipped_masks[b, k]
            mirrored = torch.allclose(image, x[b, 2 * k:2 * k + 2].flip(-1), atol=1e-4)
            assert mirrored or torch.allclose(image, x[b, 2 * k:2 * k + 2], atol=1e-4)
            assert torch.equal(mask, masks[b, k].flip(-1) if mirrored else masks[b, k])


def test_scores_threshold_and_cross_validation_by_hand():
    labels = [0, 0, 1, 1]
    scores = acdc.diagnosis_scores(labels, [0.6, 0.2, 0.7, 0.9], threshold=0.65)
    assert scores["balanced_accuracy"] == 1.0 and scores["auc"] == 1.0 and scores["n_normal"] == 2
    assert acdc.diagnosis_scores(labels, [0.6, 0.2, 0.7, 0.9])["specificity"] == 0.5  # 0.6 >= 0.5: diseased
    assert midpoint_threshold(labels, [0.6, 0.2, 0.7, 0.9]) == pytest.approx((0.4 + 0.8) / 2)
    repeats = np.array([[0.6, 0.2, 0.7, 0.9], [0.3, 0.1, 0.8, 0.2]])
    # repeat 0 at repeat 1's threshold (0.2 + 0.5) / 2 = 0.35: 0.6 -> diseased, BA (0.5 + 1) / 2;
    # repeat 1 at repeat 0's threshold 0.6: 0.2 -> normal, BA (1 + 0.5) / 2
    assert cross_validated_scores(labels, repeats)["balanced_accuracy"] == pytest.approx(0.75)
    assert cross_validated_scores(labels, repeats[:1])["threshold"] == pytest.approx(0.6)  # one repeat: its own


class _Corner(torch.nn.Module):
    """Logits = the two channels' top-left pixels."""

    def forward(self, x):
        return x[:, :, 0, 0]


def test_patient_probabilities_mean_softmax_and_mean_logit_by_hand():
    images = np.zeros((2, 2, 2, 2), np.float32)
    images[0, 1, 0, 0], images[1, 1, 0, 0] = 2.0, -1.0  # log-odds 2 and -1
    patient = acdc.PatientStack("patient001", "DCM", images, np.zeros((2, 2, 2), np.uint8))
    sigmoid = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    softmax = acdc.patient_probabilities(_Corner(), [patient])
    logit = acdc.patient_probabilities(_Corner(), [patient], aggregate="logit")
    assert softmax[0] == pytest.approx((sigmoid(2) + sigmoid(-1)) / 2, abs=1e-6)
    assert logit[0] == pytest.approx(sigmoid(0.5), abs=1e-6)
    with pytest.raises(ValueError, match="aggregate"):
        acdc.patient_probabilities(_Corner(), [patient], aggregate="max")


@pytest.fixture(scope="module")
def trained_arm(acdc_folder, tmp_path_factory):
    torch.set_num_threads(1)
    config = hl.Config.from_preset("smoke", studies=("acdc:ce", "acdc:hirescam"), acdc_folds=2, acdc_repeats=2,
                                   acdc_epochs=2, acdc_size=32, acdc_crop=32, batch_size=4, acdc_difference=True,
                                   acdc_aggregate="logit", acdc_ensemble=True, acdc_heatmap_target="contrast")
    results, diagnoses = run_acdc(config, acdc_folder, tmp_path_factory.mktemp("runs"), torch.device("cpu"))
    return results, diagnoses


def test_acdc_arm_trains_cv_and_final_models(trained_arm):
    results, diagnoses = trained_arm
    assert set(results) == {"ce", "hirescam"} and diagnoses.count("NOR") == 3
    for result in results.values():
        assert result.probabilities.shape == (len(PATIENTS),) and 0 <= result.cv["balanced_accuracy"] <= 1
        assert 0 <= result.cv_heart_empty <= 1 and "heart_maps_empty" in result.val
        assert 0 <= result.cv_heart_overlap <= 1 and result.val["n"] == 2 and result.maps.shape[1:] == (32, 32)


def test_evaluate_command_scores_an_acdc_folder(trained_arm, acdc_folder, capsys):
    from medinterp_widgets.cli import main

    checkpoint = trained_arm[0]["hirescam"].checkpoint
    direct = evaluate_acdc_diagnosis(checkpoint, acdc_folder, split="train")
    assert direct["n"] == len(PATIENTS) and direct["n_normal"] == 3 and "heart_overlap_mean" in direct
    assert main(["evaluate", "--checkpoint", checkpoint, "--data", str(acdc_folder), "--dataset", "acdc-diagnosis",
                 "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["n"] == 2 and printed["split"] == "val" and {"balanced_accuracy", "accuracy"} <= set(printed)
    with pytest.raises(ValueError, match="trained at 32"):
        evaluate_acdc_diagnosis(checkpoint, acdc_folder, size=(16, 16))


class _Flipped(_Corner):
    """Logits = minus the two channels' top-left pixels: P(diseased) = 1 - _Corner's."""

    def forward(self, x):
        return -x[:, :, 0, 0]


def test_fold_ensemble_mean_by_hand_and_scored_like_the_arm(trained_arm, acdc_folder, tmp_path):
    from medinterp_widgets.data.errors import DataFormatError
    from medinterp_widgets.training.checkpoints import atomic_save, load_checkpoint

    images = np.zeros((1, 2, 2, 2), np.float32)
    images[0, 1, 0, 0] = 2.0
    patient = acdc.PatientStack("patient001", "DCM", images, np.zeros((1, 2, 2), np.uint8))
    np.testing.assert_allclose(ensemble_probabilities([_Corner(), _Flipped()], [patient]), [0.5], atol=1e-6)
    result = trained_arm[0]["ce"]
    payload = load_checkpoint(result.checkpoint)
    assert payload["config"]["extra"]["ensemble"] == [f"fold-{i}.pt" for i in range(4)]  # 2 repeats x 2 folds
    scored = evaluate_acdc_diagnosis(result.checkpoint, acdc_folder, split="val")
    assert scored["auc"] == pytest.approx(result.val["auc"]) and scored["threshold"] == result.val["threshold"]
    assert scored["balanced_accuracy"] == pytest.approx(result.val["balanced_accuracy"])
    assert payload["config"]["extra"]["heatmap_target"] == "contrast"  # evaluate's maps explain what the loss saw
    assert scored["heart_overlap_mean"] == pytest.approx(result.val["heart_overlap_mean"], nan_ok=True)
    assert scored["heart_maps_empty"] == pytest.approx(result.val["heart_maps_empty"])
    bad_target = {**payload, "config": {**payload["config"], "extra": {**payload["config"]["extra"],
                                                                        "heatmap_target": "odds"}}}
    with pytest.raises(DataFormatError, match="heatmap_target"):
        evaluate_acdc_diagnosis(atomic_save(bad_target, tmp_path / "bad-target.pt"), acdc_folder)
    payload["config"]["extra"]["ensemble"] = ["../final.pt"]
    with pytest.raises(DataFormatError, match="ensemble"):
        evaluate_acdc_diagnosis(atomic_save(payload, tmp_path / "bad.pt"), acdc_folder)


def test_evaluate_rejects_a_checkpoint_without_acdc_preprocessing(tmp_path, acdc_folder):
    from medinterp_widgets.data.errors import DataFormatError
    from medinterp_widgets.models import VGGClassifier
    from medinterp_widgets.training.checkpoints import atomic_save, checkpoint_payload

    path = atomic_save(checkpoint_payload(VGGClassifier(in_channels=2, n_classes=2, width=2, cfg="tiny")),
                       tmp_path / "plain.pt")
    with pytest.raises(DataFormatError, match="preprocessing"):
        evaluate_acdc_diagnosis(path, acdc_folder)


def test_patient_limit_spreads_over_the_diagnosis_blocks():
    numbers = list(range(1, 101))
    picked = acdc.spread(numbers, 5)
    assert picked == [1, 26, 51, 75, 100] and {acdc_block(n) for n in picked} == {0, 1, 2, 3, 4}
    assert acdc.spread(numbers, None) == numbers and acdc.spread(numbers[:3], 10) == numbers[:3]


def acdc_block(number: int) -> int:
    return (number - 1) // 20  # DCM, HCM, MINF, NOR, RV


def test_acdc_report_names_what_each_balanced_accuracy_measures(tmp_path):
    from medinterp_widgets.pipelines.heatmap_loss.acdc_arm import AcdcResult
    from medinterp_widgets.pipelines.heatmap_loss.pipeline import StudyResults, _acdc_report
    from medinterp_widgets.pipelines.report import Report

    val = {"balanced_accuracy": 0.8, "n": 10, "n_normal": 1}
    results = StudyResults(config=hl.Config.from_preset("smoke"), acdc_diagnoses=["NOR", "DCM"], acdc={
        "ce": AcdcResult("ce", {"balanced_accuracy": 0.6, "accuracy": 0.7}, 0.2, 0.0, np.array([0.3, 0.8]),
                         str(tmp_path / "final.pt"), val),
        "hirescam": AcdcResult("hirescam", {"balanced_accuracy": 0.5, "accuracy": 0.5}, 0.1, 0.9, np.array([0.5, 0.5]),
                               str(tmp_path / "final-hm.pt"))})  # no validation volumes: no second row
    report = Report("heatmap-loss", "t", {})
    _acdc_report(report, results)
    rows = {c.name: c for c in report.comparisons}
    assert rows["ACDC ce: balanced accuracy out of fold (single fold models)"].ours == 0.6
    on_val = rows["ACDC ce: balanced accuracy on the validation volumes (the test-time classifier)"]
    assert on_val.ours == 0.8 and "1 normal of 10 patients" in on_val.note
    assert not any(name.startswith("ACDC hirescam: balanced accuracy on the validation") for name in rows)
    assert report.metrics["acdc_val_balanced_accuracy_ce"] == 0.8


@pytest.fixture(scope="module")
def function_arm(acdc_folder, tmp_path_factory):
    """The arm with the cardiac-function term (acdc_function.py) at w = 0.4."""
    torch.set_num_threads(1)
    config = hl.Config.from_preset("smoke", studies=("acdc:ce",), acdc_folds=2, acdc_repeats=2, acdc_epochs=1,
                                   acdc_size=32, acdc_crop=32, batch_size=4, acdc_ensemble=True,
                                   acdc_function_weight=0.4, acdc_function_folds=2, acdc_function_epochs=1,
                                   acdc_function_width=2)
    results, _ = run_acdc(config, acdc_folder, tmp_path_factory.mktemp("function-runs"), torch.device("cpu"))
    return config, results["ce"]


def test_function_term_blends_out_of_fold_and_evaluate_scores_it_alike(function_arm, acdc_folder, tmp_path):
    from pathlib import Path

    from medinterp_widgets.data.errors import DataFormatError
    from medinterp_widgets.training.checkpoints import atomic_save, load_checkpoint

    _, result = function_arm
    folder = Path(result.checkpoint).parent
    parts = np.load(folder / "out-of-fold.npz")
    assert parts["cnn"].shape == parts["function"].shape == (2, len(PATIENTS))
    np.testing.assert_allclose(result.probabilities, (0.6 * parts["cnn"] + 0.4 * parts["function"]).mean(0))
    assert set(result.cv_parts) == {"cnn", "function"} and len(result.function_dice) == 3
    assert result.cv == cross_validated_scores(parts["labels"], 0.6 * parts["cnn"] + 0.4 * parts["function"])
    payload = load_checkpoint(result.checkpoint)
    assert payload["config"]["extra"]["function_model"]["segmenter"] == "segmenter.pt"
    assert (folder / "segmenter.pt").is_file()
    scored = evaluate_acdc_diagnosis(result.checkpoint, acdc_folder, split="val")
    for key in ("balanced_accuracy", "auc", "threshold", "cnn_auc", "function_auc", "function_weight"):
        assert scored[key] == pytest.approx(result.val[key], abs=1e-6, nan_ok=True), key
    assert scored["function_weight"] == 0.4
    payload["config"]["extra"]["function_model"]["weight"] = -1
    with pytest.raises(DataFormatError, match="weight"):
        evaluate_acdc_diagnosis(atomic_save(payload, folder / "bad-function.pt"), acdc_folder)


def test_parallel_function_term_equals_the_inline_one(function_arm, acdc_folder, tmp_path):
    from medinterp_widgets.pipelines.heatmap_loss.acdc_arm import function_term_data
    from medinterp_widgets.pipelines.heatmap_loss.pipeline import _start_function_term

    config, _ = function_arm
    (tmp_path / "acdc").symlink_to(acdc_folder, target_is_directory=True)
    config = hl.Config(**{**config.__dict__, "data_root": tmp_path, "acdc_function_parallel": True})
    future = _start_function_term(config, torch.device("cpu"))
    inline = function_term_data(config, acdc_folder, "cpu")
    parallel = future.result(timeout=300)
    np.testing.assert_allclose(parallel.indices, inline.indices)
    for name, value in inline.segmenter_state.items():
        np.testing.assert_array_equal(parallel.segmenter_state[name], value)
    assert _start_function_term(hl.Config(**{**config.__dict__, "acdc_function_weight": 0.0}),
                                torch.device("cpu")) is None


def test_evaluate_refuses_patients_without_a_known_diagnosis(trained_arm, tmp_path):
    from medinterp_widgets.data.errors import DataFormatError

    image, label = _frames(3, 1, slices=2)
    for frame in (1, 2):
        with h5py.File(tmp_path / f"patient123_frame{frame:02d}.h5", "w") as handle:
            handle["image"], handle["label"] = image, label
    with pytest.raises(DataFormatError, match="patient123.*no diagnosis"):
        evaluate_acdc_diagnosis(trained_arm[0]["ce"].checkpoint, tmp_path, split="test")
