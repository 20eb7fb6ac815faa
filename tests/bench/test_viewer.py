"""`medinterp bench viewer` kernel part: byte budget holds, window changes send no pixels (no timing asserts)."""

import json

import numpy as np

from medinterp_widgets.bench import viewer


def test_bench_case_shapes_and_dtypes():
    volume, labels, heat = viewer.bench_case(size=32, n_slices=3)
    assert volume.array.shape == (3, 32, 32) and volume.array.dtype == np.int16
    assert labels.dtype == np.uint8 and heat.dtype == np.float32
    assert not np.array_equal(volume.array[0], volume.array[1])


def test_bench_viewer_json_without_browser(capsys):
    assert viewer.main(["--json", "--no-browser", "--steps", "2"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["slice_shape"] == [512, 512] and result["slice_dtype"] == "int16"
    assert result["pixel_bytes_per_step"] == 512 * 512 * 2 + 2 * 512 * 512
    assert result["verdicts"]["bytes_ok"] and result["verdicts"]["window_sends_no_pixels"]
    assert result["browser_ms_per_step"] is None and result["baseline_ms_raw_patch"] > 0


def test_browser_stages_are_relative_to_the_keydown_and_ignore_earlier_marks():
    from medinterp_widgets.bench import viewer_stages

    marks = [["paint", 95.0, 3.0],  # the previous step's paint: before the key, ignored
             ["message", 105.0, 473], ["message", 120.0, 262_700], ["message", 130.0, 524_844],
             ["colour_map", 140.0, 4.0], ["colour_map", 143.0, 2.0], ["patch", 144.0, 12.0],
             ["paint", 160.0, 6.0]]
    stages = viewer_stages.step_stages(marks, key_ms=100.0, latency_ms=75.0)
    assert stages == {"first_message": 5.0, "last_pixel_message": 30.0, "patch_applied": 44.0, "patch_apply_ms": 12.0,
                      "colour_map_ms": 6.0, "paint_done": 60.0, "paint_ms": 6.0, "pixels_seen": 75.0}
    medians = viewer_stages.median_stages([stages, {**stages, "last_pixel_message": None, "pixels_seen": 85.0}])
    assert medians["last_pixel_message"] == 30.0 and medians["pixels_seen"] == 80.0
