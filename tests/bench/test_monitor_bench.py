"""`medinterp bench monitor` runs and reports ratios against its own plain step."""

from medinterp_widgets.bench.monitor import measure
from medinterp_widgets.cli import main


def test_measure_reports_ratios():
    result = measure(batch=1, size=16, every=10, repeats=1, warmup=0, device="cpu")
    assert set(result["median_ms"]) == {"plain", "unsampled", "sampled"}
    assert result["sampled_ratio"] > 0 and result["amortised_ratio"] > 0


def test_cli_entry(capsys):
    assert main(["bench", "monitor", "--size", "16", "--batch", "1", "--repeats", "1", "--warmup", "0"]) == 0
    assert "monitor bench" in capsys.readouterr().out
