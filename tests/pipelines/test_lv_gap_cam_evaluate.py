"""`medinterp evaluate` scores an LV checkpoint exactly as the pipeline validated it, on any folder in the layout.

A small ACDC + Sunnybrook root in the real layouts (HDF5 slices / volumes with split lists; DICOMs,
contour files and link.csv) is written to disk, the pipeline trains on it for a few steps, and
`evaluate --json` on the validation folders must give the pipeline's own validation figures to 1e-6.
"""

from __future__ import annotations

import json
import shutil

import h5py
import numpy as np
import pydicom
import pytest
import torch
from pydicom.data import get_testdata_file

from medinterp_widgets.cli import main
from medinterp_widgets.pipelines.lv_gap_cam import Config, run

STUDIES = {"SCD9000101": "SC-T-1", "SCD9000201": "SC-T-2", "SCD9000301": "SC-T-4"}


def _square(x0: int, y0: int, side: int) -> str:
    corners = [(x0, y0), (x0 + side, y0), (x0 + side, y0 + side), (x0, y0 + side)]
    return "".join(f"{x} {y}\n" for x, y in corners)


def _write_dicom(path, x0: int, y0: int, side: int, seed: int) -> None:
    """pydicom's MR_small (64 x 64, 0.3125 mm) with noise and a bright square where the contour is."""
    dataset = pydicom.dcmread(get_testdata_file("MR_small.dcm"))
    pixels = np.random.default_rng(seed).integers(0, 300, (64, 64)).astype(np.int16)
    pixels[y0:y0 + side, x0:x0 + side] += 900
    dataset.PixelData = pixels.tobytes()
    dataset.save_as(path, enforce_file_format=True)


def _write_sunnybrook(root, studies=STUDIES) -> None:
    (root / "contourfiles").mkdir(parents=True)
    (root / "link.csv").write_text("patient_id,original_id\n" + "".join(f"{s},{c}\n" for s, c in studies.items()))
    for study, contour_id in studies.items():
        index = int(study[3:7]) % 10  # the same files for a study whatever folder it is written to
        (root / "dicoms" / study).mkdir(parents=True)
        (root / "contourfiles" / contour_id / "i-contours").mkdir(parents=True)
        for number in (20 + index, 40 + index):
            x0 = 20 + number % 7
            _write_dicom(root / "dicoms" / study / f"{number}.dcm", x0, 22, 18, seed=number)
            name = f"IM-0001-{number:04d}-icontour-manual.txt"
            (root / "contourfiles" / contour_id / "i-contours" / name).write_text(_square(x0, 22, 18))


def _label(shape, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    label = np.zeros(shape, np.uint8)
    r, c = rng.integers(8, shape[0] - 24, size=2)
    label[r:r + 14, c:c + 12] = 3  # LV cavity
    label[r:r + 14, c + 12:c + 16] = 2  # myocardium (not the LV class)
    return label


def _write_h5(path, label: np.ndarray, seed: int) -> None:
    image = np.clip(np.random.default_rng(seed).random(label.shape) * 0.3 + (label == 3) * 0.6, 0, 1)
    with h5py.File(path, "w") as handle:
        handle["image"], handle["label"] = image.astype(np.float32), label


def _write_acdc(root) -> None:
    (root / "data").mkdir(parents=True)
    names = []
    for patient in (1, 2, 21, 22):  # two diagnosis groups (DCM, HCM), two patients each
        for index in range(3):
            name = f"patient{patient:03d}_frame01_slice_{index}"
            _write_h5(root / "data" / f"{name}.h5", _label((48, 40), patient * 10 + index), patient * 10 + index)
            names.append(name)
    (root / "train_slices.list").write_text("\n".join(names) + "\n")
    for frame in (1, 2):
        volume = np.stack([_label((40, 48), 500 + frame * 10 + z) for z in range(3)])
        _write_h5(root / "data" / f"patient081_frame{frame:02d}.h5", volume, 500 + frame)
    (root / "val.list").write_text("patient081_frame01\npatient081_frame02\n")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """(data root, report, GapFCN checkpoint) of a few-step run on the written ACDC + Sunnybrook root."""
    root = tmp_path_factory.mktemp("lvdata")
    _write_sunnybrook(root / "sunnybrook")
    _write_acdc(root / "acdc")
    torch.set_num_threads(1)
    config = Config.from_preset("smoke", dataset="auto", data_root=root, image_size=32, crop_fraction=0.8, epochs=12,
                           lr=0.05, sweep_trials=0, unet_epochs=0, device="cpu", out_dir=str(root / "runs"),
                                average_last_epochs=4)
    report = run(config)
    assert report.checkpoints["GapFCN"]["path"].endswith("averaged.pt")  # the last 4 epochs' mean weights
    return root, report, report.checkpoints["GapFCN"]["path"]


def _evaluate(capsys, checkpoint, folder, kind, *extra) -> dict:
    assert main(["evaluate", "--checkpoint", checkpoint, "--data", str(folder), "--dataset", kind, "--json",
                 "--device", "cpu", *extra]) == 0
    return json.loads(capsys.readouterr().out)


def test_evaluate_equals_the_pipelines_validation(trained, capsys, tmp_path):
    root, report, checkpoint = trained
    metrics = report.metrics
    splits = {row["set"]: row["ids"].split(", ") for row in report.tables["data splits (patients / studies)"]}
    held_out = {study: STUDIES[study] for study in splits["sunnybrook_validation"]}
    _write_sunnybrook(tmp_path / "sunny_val", held_out)  # a folder holding only the validation study
    sunny = _evaluate(capsys, checkpoint, tmp_path / "sunny_val", "sunnybrook")
    assert sunny["n"] == metrics["sunnybrook_n"] == 2
    assert sunny["dice_mean"] == pytest.approx(metrics["sunnybrook_dice_mean"], abs=1e-6)
    assert sunny["dice_mean"] == pytest.approx(metrics["dice_mean"], abs=1e-6)  # the headline figure
    assert sunny["apd_mm_mean"] == pytest.approx(metrics["sunnybrook_apd_mm_mean"], abs=1e-6)
    acdc = _evaluate(capsys, checkpoint, root / "acdc", "acdc")  # no --split: val.list
    assert acdc["n"] == metrics["acdc_n"] == 2 and acdc["slices"] == 6
    assert acdc["dice_mean"] == pytest.approx(metrics["acdc_dice_mean"], abs=1e-6)
    assert acdc["dice_1"] == acdc["dice_mean"] > 0.0
    assert acdc["apd_mm_mean"] is None and acdc["apd_px_mean"] > 0.0  # the HDF5 files carry no spacing
    assert acdc["preprocessing"]["crop"] == 0.8 and acdc["preprocessing"]["label_maps"]["acdc"] == {"3": 1}


def test_evaluate_reads_any_acdc_folder(trained, capsys, tmp_path):
    root, _, checkpoint = trained
    folder = tmp_path / "acdc_test"
    (folder / "data").mkdir(parents=True)
    shutil.copy(root / "acdc" / "data" / "patient081_frame01.h5", folder / "data" / "patient101_frame01.h5")
    shutil.copy(root / "acdc" / "data" / "patient001_frame01_slice_0.h5", folder / "data")
    every = _evaluate(capsys, checkpoint, folder, "acdc")  # no list at all: every file
    assert (every["n"], every["slices"]) == (2, 4)
    (folder / "test.list").write_text("patient101_frame01\n")
    listed = _evaluate(capsys, checkpoint, folder, "acdc")  # test.list is read when present
    assert (listed["n"], listed["slices"]) == (1, 3)
    by_name = _evaluate(capsys, checkpoint, root / "acdc", "acdc", "--split", "train_slices", "--limit", "2")
    assert by_name["n"] == 2  # slices of one volume (patientXXX_frameYY) form one unit
    assert main(["evaluate", "--checkpoint", checkpoint, "--data", str(folder), "--dataset", "acdc",
                 "--split", "val"]) == 2
    assert "val.list" in capsys.readouterr().err


def test_evaluate_any_sunnybrook_studies(trained, capsys, tmp_path):
    _, _, checkpoint = trained
    _write_sunnybrook(tmp_path / "other", {"SCD7000101": "SC-X-1"})
    result = _evaluate(capsys, checkpoint, tmp_path / "other", "sunnybrook")
    assert result["n"] == result["slices"] == 2 and 0.0 <= result["dice_mean"] <= 1.0
    assert set(result) >= {"dice_mean", "apd_mm_mean", "dice_0", "dice_1", "apd_mm_1", "n"}


def test_evaluate_skips_and_counts_a_broken_sunnybrook_pair(trained, capsys, tmp_path):
    _, _, checkpoint = trained
    _write_sunnybrook(tmp_path / "broken", {"SCD7000101": "SC-X-1"})
    next((tmp_path / "broken" / "dicoms" / "SCD7000101").glob("*.dcm")).unlink()
    with pytest.warns(UserWarning, match="skipped 1"):
        result = _evaluate(capsys, checkpoint, tmp_path / "broken", "sunnybrook")
    assert result["n"] == 1 and result["skipped"] == 1 and ".dcm" in result["skipped_examples"][0]
