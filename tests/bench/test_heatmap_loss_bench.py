"""The heatmap-loss bench runs end to end on a tiny configuration and reports ratios (no timing asserts)."""

from __future__ import annotations

import argparse
import json

import pytest

pytest.importorskip("medinterp_widgets.attribution.api", reason="needs the attribution engine (branch attribution)")
from medinterp_widgets.bench import heatmap_loss  # noqa: E402


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    heatmap_loss.add_arguments(parser)
    return parser.parse_args(list(argv))


def test_bench_json_output(capsys):
    code = heatmap_loss.run(_args("--json", "--batch", "2", "--size", "16", "--width", "2",
                                  "--repeats", "2", "--warmup", "1", "--device", "cpu"))
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    assert set(result["ratio_to_ce"]) == {"ce", "hirescam", "gradcam", "saliency"}
    assert result["ratio_to_ce"]["ce"] == 1.0
    assert all(value > 0 for value in result["median_ms"].values())


def test_bench_text_output_and_bad_values(capsys):
    heatmap_loss.run(_args("--batch", "1", "--size", "16", "--width", "1", "--repeats", "1", "--warmup", "0"))
    assert "x target" in capsys.readouterr().out
    with pytest.raises(ValueError, match="--batch"):
        heatmap_loss.run(_args("--batch", "0"))


def test_grouped_bench_reports_speedups(capsys):
    code = heatmap_loss.run(_args("--grouped", "2", "--json", "--batch", "2", "--size", "16", "--width", "2",
                                  "--repeats", "1", "--warmup", "0", "--device", "cpu"))
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    assert result["models"] == 2 and set(result["losses"]) == {"ce", "hirescam"}
    assert all(v["speedup"] > 0 and v["grouped_ms_per_model_step"] > 0 for v in result["losses"].values())
    heatmap_loss.run(_args("--grouped", "2", "--batch", "2", "--size", "16", "--width", "2", "--repeats", "1",
                           "--warmup", "0"))
    assert "speed-up" in capsys.readouterr().out
