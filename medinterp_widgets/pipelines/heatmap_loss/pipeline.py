"""``run(config) -> Report``: every study group trained, measured, compared and plotted.

    results = run_studies(Config.preset("quick"))    # data, trained-model results per group
    report = build_report(results)                   # tables, statistics, figures, notes
"""

from __future__ import annotations

import math
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import torch

from medinterp_widgets.devices import resolve_device
from medinterp_widgets.metrics import compare_groups
from medinterp_widgets.pipelines.dry_run import dry_run_note
from medinterp_widgets.pipelines.report import Report
from medinterp_widgets.training.runs import BEST_CHECKPOINT

from .config import Config
from .data import StudyData, acdc_folder, load_study_data
from .figures import distribution_figure, overlay_figure
from .study import ModelResult, run_group

# the thesis's claim per metric: +1 the heatmap loss raises it, -1 it lowers it
THESIS_CLAIMS = {"heart_overlap": +1, "marker_overlap": -1}
_TITLES = {"exp1": "synthetic exp. 1 (sex changes anatomy)", "exp2": "synthetic exp. 2 (sex marker)",
           "acdc": "ACDC slices"}


@dataclass
class StudyResults:
    config: Config
    data: dict[str, StudyData] = field(default_factory=dict)
    groups: dict[str, dict[str, list[ModelResult]]] = field(default_factory=dict)  # dataset -> loss -> models
    notes: list[str] = field(default_factory=list)
    run_root: str = ""


@contextmanager
def torch_threads(count: int | None):
    """Use ``count`` torch CPU threads inside the block, then restore the previous setting."""
    previous = torch.get_num_threads()
    if count:
        torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def run_studies(config: Config, *, callbacks: Iterable[Callable] = ()) -> StudyResults:
    """Train and measure every study group of ``config`` (ACDC ones skipped, with a note, without data)."""
    device = resolve_device(config.device)
    runs = Path(config.out_dir) / "runs" if config.out_dir else None
    if runs is not None:
        runs.mkdir(parents=True, exist_ok=True)
    run_root = Path(tempfile.mkdtemp(prefix="heatmap-loss-", dir=runs))  # fresh: sweeps never mix two runs
    results = StudyResults(config, run_root=str(run_root))
    with torch_threads(config.torch_threads):
        for dataset in config.datasets():
            if dataset == "acdc" and acdc_folder(config.data_root) is None:
                results.notes.append(f"ACDC studies skipped: no acdc/ folder with split lists under "
                                     f"data_root={config.data_root!r}.")
                continue
            data = load_study_data(dataset, config)
            results.data[dataset] = data
            results.groups[dataset] = {loss: run_group(data, loss, config, run_root, device, callbacks)
                                       for loss in config.studies_of(dataset)}
    return results


def analysed(models: list[ModelResult]) -> tuple[list[ModelResult], bool]:
    """The kept models, or all of them (flag True) when fewer than two pass the accuracy bar."""
    kept = [m for m in models if m.kept]
    return (kept, False) if len(kept) >= 2 else (models, True)


def statistics_rows(results: StudyResults) -> tuple[list[dict], list[str]]:
    """One row per (dataset, heatmap-loss group vs CE group, metric): compare_groups and the thesis claim."""
    rows, notes = [], []
    for dataset, groups in results.groups.items():
        if "ce" not in groups:
            continue
        metrics = ["heart_overlap"] + (["marker_overlap"] if results.data[dataset].has_marker else [])
        baseline, fallback_ce = analysed(groups["ce"])
        for loss in (name for name in groups if name != "ce"):
            treated, fallback = analysed(groups[loss])
            if len(treated) + len(baseline) >= 2 and _smallest_p(len(treated), len(baseline)) > results.config.alpha:
                notes.append(f"{dataset} {loss} vs ce: with {len(treated)} and {len(baseline)} models the smallest "
                             f"possible Mann-Whitney p is {_smallest_p(len(treated), len(baseline)):.3g}, so no "
                             "difference can reach significance; read the effect sizes.")
            if fallback or fallback_ce:
                notes.append(f"{dataset}: fewer than 2 models of {loss} or ce passed the val-accuracy bar "
                             f"({results.config.val_accuracy_bar} and above the majority-class rate); the "
                             "statistics use all models of that group.")
            for metric in metrics:
                rows.append(_statistics_row(dataset, loss, metric, treated, baseline, results.config.alpha))
    return rows, notes


def _smallest_p(n_a: int, n_b: int) -> float:
    """Smallest two-sided exact Mann-Whitney p for group sizes n_a, n_b: 2 / C(n_a + n_b, n_a)."""
    return min(1.0, 2 / math.comb(n_a + n_b, n_a))


def _statistics_row(dataset, loss, metric, treated, baseline, alpha) -> dict:
    a = [getattr(m, metric) for m in treated]
    b = [getattr(m, metric) for m in baseline]
    row = {"dataset": dataset, "comparison": f"{loss} loss vs ce", "metric": metric}
    try:
        result = compare_groups(a, b, alpha=alpha, nan_policy="omit")
    except ValueError as error:  # too few finite values
        return {**row, "error": str(error)}
    direction = 0 if result.mean_a == result.mean_b else (1 if result.mean_a > result.mean_b else -1)
    claim = THESIS_CLAIMS[metric]
    return {**row, "n_heatmap": result.n_a, "n_ce": result.n_b, "mean_heatmap": result.mean_a,
            "mean_ce": result.mean_b, "shapiro_p_heatmap": result.shapiro_p_a, "shapiro_p_ce": result.shapiro_p_b,
            "test": result.test, "p_value": result.p_value, "cohens_d": result.cohens_d,
            "common_language": result.common_language,
            "thesis_claim": "higher" if claim > 0 else "lower",
            "ours": "higher" if direction > 0 else "lower" if direction < 0 else "equal",
            "agrees": direction == claim, "significant": result.significant}


def build_report(results: StudyResults) -> Report:
    """Tables per group, statistics, our-vs-thesis comparisons, figures and notes."""
    config = results.config
    report = Report(name="heatmap-loss", title="Heatmap loss: attribution inside the training loss",
                    config=config.to_dict())
    for dataset, groups in results.groups.items():
        for loss, models in groups.items():
            report.tables[f"{dataset}:{loss} models"] = [m.row() for m in models]
            for m in models:
                report.add_checkpoint(f"{m.group} model {m.model_id}", Path(m.run_dir) / BEST_CHECKPOINT, (),
                                      "classifier (VGG); scored on the run's own test split, not by `evaluate`")
        report.add_figure(f"{dataset}_heart_overlap", distribution_figure(
            groups, "heart_overlap", f"{_TITLES[dataset]}: heart overlap"))
        if results.data[dataset].has_marker:
            report.add_figure(f"{dataset}_marker_overlap", distribution_figure(
                groups, "marker_overlap", f"{_TITLES[dataset]}: marker overlap"))
        report.add_figure(f"{dataset}_maps", overlay_figure(results.data[dataset], groups))
        _group_metrics(report, dataset, groups)
        marked = results.data[dataset].test.marker
        if results.data[dataset].has_marker and marked.any():  # the overlap a map spread evenly would get
            share = float(marked[marked.flatten(1).any(1)].float().mean())
            report.metrics[f"{dataset}/marker_area_share"] = share
            ce_marker = report.metrics.get(f"{dataset}/ce/marker_overlap_mean")
            if ce_marker is not None and ce_marker <= 2 * share:
                report.notes.append(
                    f"{dataset}: the CE models' marker overlap ({ce_marker:.3g}) is within twice the marker's area "
                    f"share ({share:.3g}, what an evenly spread map scores): these CE models barely use the "
                    "marker shortcut, so the marker comparison has little room to show the thesis's effect.")
    rows, stat_notes = statistics_rows(results)
    report.tables["statistics"] = rows
    for row in rows:
        if "mean_heatmap" in row:
            report.compare(f"{row['dataset']} {row['comparison']}: {row['metric']} difference",
                           row["mean_heatmap"] - row["mean_ce"], None, "",
                           f"thesis: {row['thesis_claim']} with the heatmap loss; ours {row['ours']}, "
                           f"p={row['p_value']:.3g} ({row['test']}), d={row['cohens_d']:.3g}")
    report.notes += results.notes + stat_notes + _method_notes(results) + dry_run_note(config.limit_steps)
    return report


def _group_metrics(report: Report, dataset: str, groups: dict[str, list[ModelResult]]) -> None:
    for loss, models in groups.items():
        for metric in ("heart_overlap", "marker_overlap", "test_accuracy"):
            values = [getattr(m, metric) for m in models if not math.isnan(getattr(m, metric))]
            if values:
                report.metrics[f"{dataset}/{loss}/{metric}_mean"] = sum(values) / len(values)
        report.metrics[f"{dataset}/{loss}/kept"] = sum(m.kept for m in models)


def _method_notes(results: StudyResults) -> list[str]:
    config = results.config
    notes = [
        f"Preset {config.preset!r}: {config.models_per_group} models per group, {config.sweep_trials} Optuna "
        f"trial(s) per model over the learning rate in [{config.lr_low:g}, {config.lr_high:g}] (log), "
        f"{config.epochs} epoch(s), {config.size}x{config.size} images, VGGClassifier cfg={config.cfg!r} "
        f"width={config.width} with BatchNorm and an FC head, heatmap-loss weight {config.heatmap_weight:g}. "
        "The thesis trains larger VGG models at full resolution for many more epochs; the smoke and quick "
        "presets show the direction of the effect, not the thesis's magnitudes. Training runs (checkpoints, "
        f"metrics.jsonl, sweep.db) are kept under {results.run_root}.",
        f"Overlaps are measured with {config.eval_method} maps of the true class on the test split "
        "(metrics.heatmap_overlap: share of positive attribution inside the mask); the marker overlap only "
        "on images that carry the marker (male images of experiment 2).",
        f"Models with best val accuracy < {config.val_accuracy_bar}, or not above the val split's majority-class "
        "rate (a constant guess), are left out of the statistics (our bar; the thesis's exact bar is not "
        "reproduced here); when fewer than two per group pass, all models are used and a note says so.",
        "Comparison values are differences of group means (heatmap loss minus CE); the thesis states the "
        "direction and significance of these effects, and its exact per-group values are not in our sources, "
        "so the paper column is empty.",
    ]
    if "acdc" in results.groups:
        positive = results.data["acdc"].class_names[1]
        task = ("the thesis's healthy (NOR) vs diseased task" if positive == "NOR" else
                f"{positive} vs the other diagnoses (the shared subset's training slices hold only DCM, HCM and MINF "
                "patients 003-055, no NOR, so the thesis's healthy-vs-diseased task cannot be posed)")
        notes.append(f"ACDC: {task}; training slices split by patient 60/20/20; heart = labels 1-3. The "
                     "validation volumes are not used.")
    return notes


def run(config: Config, *, callbacks: Iterable[Callable] = ()) -> Report:
    """Train, measure and report every study of ``config``; ``callbacks`` receive every Trainer event."""
    return build_report(run_studies(config, callbacks=callbacks))
