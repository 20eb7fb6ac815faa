"""`medinterp bench faithfulness`: a tiny run (keys, ratios and targets; no timing is asserted)."""

import json

import pytest

from medinterp_widgets.bench.faithfulness import METRICS
from medinterp_widgets.cli import main

ROW_KEYS = {"ours_s", "forwards_s", "quantus_s", "quantus_metric", "vs_forwards", "speedup_vs_quantus", "settings",
            "times"}
TINY = ["--device", "cpu", "--batch", "2", "--size", "32", "--width", "4", "--steps", "8", "--samples", "2",
        "--percentages", "20,60", "--method", "saliency"]


def test_tiny_run_reports_every_metric_beside_quantus(capsys, tmp_path):
    pytest.importorskip("quantus")
    output = tmp_path / "bench.json"
    assert main(["bench", "faithfulness", "--json", "--output", str(output), *TINY]) == 0
    results = json.loads(capsys.readouterr().out)
    assert json.loads(output.read_text()) == results
    assert results["clock"] == "cpu" and results["input_shape"] == [2, 1, 32, 32] and results["quantus"]
    assert list(results["metrics"]) == list(METRICS)
    for name, row in results["metrics"].items():
        assert set(row) == ROW_KEYS, name
        assert row["ours_s"] >= 0
    assert results["metrics"]["deletion"]["quantus_metric"] == "PixelFlipping"
    assert results["metrics"]["road"]["quantus_metric"] == "ROAD"
    assert results["metrics"]["insertion"]["quantus_s"] is None  # Quantus has no insertion metric
    assert set(results["targets"]) == {"deletion_within_1.2x_forwards", "insertion_within_1.2x_forwards",
                                       "road_5x_faster_than_quantus", "none_slower_than_quantus"}


def test_table_without_quantus_and_bad_metric(capsys):
    assert main(["bench", "faithfulness", "--no-quantus", "--metrics", "deletion,relevance_mass", *TINY]) == 0
    table = capsys.readouterr().out
    assert "deletion" in table and "relevance_mass" in table and "quantus None" in table
    assert main(["bench", "faithfulness", "--metrics", "nope", *TINY]) == 2
    assert "--metrics" in capsys.readouterr().err
