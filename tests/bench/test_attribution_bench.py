"""`medinterp bench`: the dispatcher and a tiny run of the attribution bench (keys only, no timings)."""

import json

import pytest

from medinterp_widgets.bench import attribution_suite
from medinterp_widgets.cli import main
from medinterp_widgets.commands import bench as bench_command

METHOD_KEYS = {"ms", "forward_ms", "vs_forward", "images_per_s", "captum", "captum_ms", "vs_captum", "agreement",
               "error"}


def test_attribution_bench_tiny_json(capsys, tmp_path):
    output = tmp_path / "bench.json"
    code = main(["bench", "attribution", "--json", "--output", str(output), "--device", "cpu",
                 "--batch", "2", "--batch-3d", "1", "--size", "32", "--size-3d", "8", "--width", "2",
                 "--repeats", "1", "--warmup", "0", "--occlusion-steps", "2", "--cases", "vgg2d,unet3d",
                 "--methods", "gradcam,cam,occlusion"])
    assert code == 0
    results = json.loads(capsys.readouterr().out)
    assert json.loads(output.read_text()) == results
    assert {"benchmark", "device", "torch", "captum", "repeats", "warmup", "cases"} <= set(results)
    assert [case["case"] for case in results["cases"]] == ["vgg2d", "unet3d"]
    for case in results["cases"]:
        assert {"case", "model", "input_shape", "layer", "forward_ms", "methods"} <= set(case)
        assert set(case["methods"]) == {"gradcam", "cam", "occlusion"}
        for row in case["methods"].values():
            assert set(row) == METHOD_KEYS
    vgg = results["cases"][0]["methods"]
    assert vgg["gradcam"]["captum"] == "LayerGradCam" and vgg["gradcam"]["agreement"] == pytest.approx(1.0, abs=1e-4)
    assert vgg["occlusion"]["agreement"] == pytest.approx(1.0, abs=1e-4)
    assert vgg["cam"]["captum"] is None and vgg["cam"]["ms"] is not None
    assert results["cases"][1]["methods"]["cam"]["error"]  # a U-Net has no GAP head: recorded, not raised


def test_table_output_without_captum_and_bad_arguments(capsys, monkeypatch, tmp_path):
    monkeypatch.setattr(attribution_suite, "_captum_version", lambda: None)  # as if captum were not installed
    output = tmp_path / "bench.json"
    code = main(["bench", "attribution", "--device", "cpu", "--batch", "1", "--size", "32", "--width", "2",
                 "--repeats", "1", "--warmup", "0", "--cases", "vgg2d", "--methods", "saliency",
                 "--output", str(output)])
    assert code == 0
    table = capsys.readouterr().out
    assert "saliency" in table and "forward" in table
    row = json.loads(output.read_text())["cases"][0]["methods"]["saliency"]
    assert row["captum"] is None and row["ms"] is not None
    assert main(["bench", "attribution", "--cases", "resnet"]) == 2
    assert "--cases" in capsys.readouterr().err


def test_missing_benchmark_says_not_available(capsys, monkeypatch):
    monkeypatch.setitem(bench_command.BENCHMARKS, "no-such-bench", "a benchmark nobody wrote")
    assert main(["bench", "no-such-bench", "anything"]) == 2
    assert "not available yet" in capsys.readouterr().err
