"""`medinterp bench monitor`: runs end to end on a few steps and reports ratios, message counts and
verdicts (no timing asserts: speed goals live in the benchmark's output, not in tests)."""

import json

from medinterp_widgets.bench import monitor as bench


def test_busiest_second_counts_the_densest_window():
    counter = bench.MessageCounter(patches=[0.0, 0.1, 0.2, 1.5], widget_updates=[0.15, 2.9])
    assert counter.busiest_second() == 4  # 0.0, 0.1, 0.15, 0.2


def test_bench_monitor_json(capsys):
    assert bench.main(["--json", "--steps", "3", "--rounds", "1", "--size", "16", "--storm-steps", "12"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert set(result["settings"]) == {"detached", "attached", "layer_stats_every_1", "layer_stats_every_20"}
    assert result["settings"]["detached"]["median_ratio"] == 1.0
    assert result["bokeh_patches"] > 0 and result["widget_updates"] > 0
    assert result["comm_sends"] >= 3 * result["bokeh_patches"]  # jupyter_bokeh: header, metadata, content
    assert 0 <= result["monitor_time_share"] < 1
    assert set(result["verdicts"]) == {"slowdown_ok", "slowdown_cpu_ok", "monitor_time_share_ok", "messages_ok"}
    assert result["settings"]["detached"]["cpu_median_ratio"] == 1.0 and "slowdown_cpu_median" in result


def test_paired_ratios_compare_rounds_with_their_own_baseline():
    per_step = {"detached": [[1.0, 1.0, 1.0], [2.0, 2.0, 2.0], [1.0, 1.0, 1.0]],  # round 2 ran on a busy machine
                "attached": [[1.01, 1.01, 1.01], [2.02, 2.02, 2.02], [1.01, 1.01, 1.01]]}
    ratios = bench._paired_ratios(per_step, "detached")
    assert ratios["detached"]["median_ratio"] == 1.0
    assert ratios["attached"]["median_ratio"] == 1.01 and ratios["attached"]["mean_ratio"] == 1.01
    assert ratios["attached"]["median_ms"] == 1010.0
