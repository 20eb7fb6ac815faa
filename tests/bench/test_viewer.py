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
