"""`medinterp bench faithfulness`: each faithfulness metric against the forwards it needs and Quantus.

One VGG-like classifier (``bench.attribution_suite``'s vgg2d case) on a (batch, 1, size, size) random
batch, maps of ``--method`` for each sample's predicted class. Per metric, timed interleaved (one run of
each per repeat, so load changes hit them alike) and reported as the median over ``--repeats``:

- ``ours_s``: our metric; ``quantus_s``: Quantus 0.6 at equal settings (same model, inputs, maps, target,
  baseline, steps / percentages / samples; None where Quantus has no equal metric or is not installed);
- ``forwards_s``: the model calls the metric needs, alone (deletion / insertion: steps + 1 batched
  forwards; ROAD: one per level + 1; max-sensitivity: one attribution per sample + 1 forward);
- ``vs_forwards`` = ours / forwards, ``speedup_vs_quantus`` = quantus / ours.

Targets (issue 16): deletion and insertion <= 1.2x forwards_s, ROAD >= 5x faster than Quantus, no metric
slower than Quantus. ``--clock cpu`` (default on CPU) times process CPU seconds, fair on a shared machine
with one torch thread; ``--clock wall`` (default on CUDA) wall seconds, GPU-synchronised.
"""

from __future__ import annotations

import argparse

from medinterp_widgets.bench.options import add_common_arguments, emit

METRICS = ("deletion", "insertion", "road", "max_sensitivity", "randomisation", "pointing_game", "relevance_mass")


def _csv(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common_arguments(parser, what="the VGG's")
    parser.add_argument("--method", default="gradcam", help="attribution method of the maps (default gradcam)")
    parser.add_argument("--steps", type=int, default=128, help="deletion / insertion steps (default 128)")
    parser.add_argument("--baseline", default="zero", help="deletion / insertion baseline (default zero)")
    parser.add_argument("--percentages", default="10,20,30,40,50,60,70,80,90",
                        help="ROAD removal percentages (default 10,...,90, Rong et al.)")
    parser.add_argument("--samples", type=int, default=10, help="max-sensitivity noise draws (default 10)")
    parser.add_argument("--repeats", type=int, default=1, help="timed repeats; the median is reported (default 1)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    parser.add_argument("--clock", choices=("cpu", "wall"), default=None,
                        help="cpu: process CPU time (default on CPU); wall: wall time (default on CUDA)")
    parser.add_argument("--metrics", type=_csv, default=list(METRICS), help=f"comma list of {', '.join(METRICS)}")
    parser.add_argument("--no-quantus", action="store_true", help="skip Quantus (skipped anyway if not installed)")


def run(args: argparse.Namespace) -> int:
    import torch

    from medinterp_widgets.bench.faithfulness_suite import run_suite

    unknown = sorted(set(args.metrics) - set(METRICS))
    if unknown:
        raise ValueError(f"--metrics: unknown {unknown}; expected some of {list(METRICS)}")
    threads = torch.get_num_threads()
    torch.set_num_threads(args.threads)
    try:
        results = run_suite(args)
    finally:
        torch.set_num_threads(threads)
    emit(results, args, format_table)
    return 0


def _fmt(value, spec: str) -> str:
    return format(value, spec) if value is not None else "-".rjust(int(spec.split(".")[0]))


def format_table(results: dict) -> str:
    lines = [f"faithfulness bench on {results['device']} ({results['clock']} seconds, torch {results['torch']}, "
             f"quantus {results['quantus']}), batch {tuple(results['input_shape'])}, maps: {results['method']}, "
             f"median of {results['repeats']}",
             f"{'metric':16} {'ours s':>9} {'fwd s':>9} {'x fwd':>7} {'quantus s':>10} {'speedup':>8}  settings"]
    for name, row in results["metrics"].items():
        lines.append(f"{name:16} {_fmt(row['ours_s'], '9.3f')} {_fmt(row['forwards_s'], '9.3f')} "
                     f"{_fmt(row['vs_forwards'], '7.2f')} {_fmt(row['quantus_s'], '10.3f')} "
                     f"{_fmt(row['speedup_vs_quantus'], '8.2f')}  {row['settings']}")
    lines += [f"{name}: {value}" for name, value in results["targets"].items()]
    return "\n".join(lines)
