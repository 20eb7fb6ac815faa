"""``run(config) -> Report``: every study group trained, measured, compared and plotted.

    results = run_studies(Config.from_preset("quick"))    # data, trained-model results per group, ACDC arm
    report = build_report(results)                   # tables, statistics, figures, notes
"""

from __future__ import annotations

import multiprocessing
import tempfile
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import torch

from medinterp_widgets.devices import resolve_device
from medinterp_widgets.pipelines.dry_run import dry_run_note
from medinterp_widgets.pipelines.report import Report

from . import statistics as stats
from .acdc_arm import AcdcResult, function_term_data, run_acdc
from .config import Config
from .data import StudyData, load_study_data
from .faithfulness import faithfulness_metrics, faithfulness_section
from .figures import acdc_figure, class_sex_figure, distribution_figure, overlay_figure
from .notes import method_notes
from .study import ModelResult, run_group

TITLES = {"exp1": "synthetic exp. 1 (sex changes anatomy and body fat)", "exp2": "synthetic exp. 2 (sex marker)"}


@dataclass
class StudyResults:
    config: Config
    data: dict[str, StudyData] = field(default_factory=dict)
    groups: dict[str, dict[str, list[ModelResult]]] = field(default_factory=dict)  # dataset -> loss -> models
    acdc: dict[str, AcdcResult] = field(default_factory=dict)
    acdc_diagnoses: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    run_root: str = ""
    faithfulness: dict = field(default_factory=dict)  # report.json's faithfulness object (see .faithfulness)


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


def acdc_folder(data_root) -> Path | None:
    """``<data_root>/acdc`` when it holds the ACDC training slice list, else None."""
    folder = None if data_root is None else Path(data_root) / "acdc"
    return folder if folder is not None and (folder / "train_slices.list").is_file() else None


def run_studies(config: Config) -> StudyResults:
    """Train and measure every study group of ``config`` (ACDC skipped, with a note, without its data)."""
    device = resolve_device(config.device)
    runs = Path(config.out_dir) / "runs" if config.out_dir else None
    if runs is not None:
        runs.mkdir(parents=True, exist_ok=True)
    run_root = Path(tempfile.mkdtemp(prefix="heatmap-loss-", dir=runs))  # fresh: sweeps never mix two runs
    results = StudyResults(config, run_root=str(run_root))
    function = _start_function_term(config, device)
    with torch_threads(config.torch_threads):
        for dataset in config.datasets():
            if dataset == "acdc":
                _run_acdc(config, results, run_root, device, function)
                continue
            data = load_study_data(dataset, config)
            results.data[dataset] = data
            results.groups[dataset] = {loss: run_group(data, loss, config, run_root, device)
                                       for loss in config.studies_of(dataset)}
        results.faithfulness = faithfulness_section(results.data, results.groups, method=config.eval_method,
                                                    seed=config.seed)
    return results


def _start_function_term(config: Config, device: torch.device) -> Future | None:
    """With ``acdc_function_parallel`` on a CPU: the ACDC function term's segmenters start training in a
    second process (one torch thread) now, beside the synthetic studies; None otherwise."""
    folder = acdc_folder(config.data_root)
    if not (config.acdc_function_parallel and config.acdc_function_weight > 0 and device.type == "cpu"
            and folder is not None and "acdc" in config.datasets()):
        return None
    executor = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
    future = executor.submit(function_term_data, config, folder, "cpu", 1)
    executor.shutdown(wait=False)  # the worker ends when its one task is done
    return future


def _run_acdc(config: Config, results: StudyResults, run_root: Path, device, function: Future | None) -> None:
    folder = acdc_folder(config.data_root)
    if folder is None:
        results.notes.append(f"ACDC arm skipped: no acdc/train_slices.list under data_root={config.data_root!r}.")
        return
    results.acdc, results.acdc_diagnoses = run_acdc(config, folder, run_root, device,
                                                    function.result if function is not None else None)


def _acdc_report(report: Report, results: StudyResults) -> None:
    rows = []
    for loss, result in results.acdc.items():
        key = stats.LOSS_KEYS[loss]
        report.metrics[f"acdc_balanced_accuracy_{key}"] = result.cv["balanced_accuracy"]
        report.metrics[f"acdc_accuracy_{key}"] = result.cv["accuracy"]
        report.metrics[f"acdc_heart_{key}"] = result.cv_heart_overlap
        report.metrics[f"acdc_heart_empty_{key}"] = result.cv_heart_empty
        report.metrics[f"acdc_auc_{key}"] = result.cv.get("auc", float("nan"))
        for part, scores in result.cv_parts.items():  # each term of a blended classifier alone
            report.metrics[f"acdc_{part}_balanced_accuracy_{key}"] = scores["balanced_accuracy"]
            report.metrics[f"acdc_{part}_auc_{key}"] = scores["auc"]
        for name, value in zip(("rv", "myo", "lv"), result.function_dice):
            report.metrics[f"acdc_function_dice_{name}"] = value
        for name, value in result.val.items():
            report.metrics[f"acdc_val_{name}_{key}"] = value
        rows.append({"loss": loss, **{f"cv_{k}": v for k, v in result.cv.items()},
                     **{f"cv_{part}_{k}": scores[k] for part, scores in result.cv_parts.items()
                        for k in ("balanced_accuracy", "auc")},
                     "cv_heart_overlap": result.cv_heart_overlap, "cv_heart_maps_empty": result.cv_heart_empty,
                     **{f"val_{k}": v for k, v in result.val.items()}})
        report.add_checkpoint(f"acdc {loss} classifier (all training patients)", result.checkpoint, ("acdc-diagnosis",),
                              "normal vs diseased; ED/ES slice stacks; preprocessing stored in the checkpoint")
        report.compare(f"ACDC {loss}: balanced accuracy out of fold (single fold models)",
                       result.cv["balanced_accuracy"], None, "",
                       "each patient scored by the one fold model that did not train on it; with acdc_ensemble the "
                       "test-time classifier is the mean of those models (next row)")
        if result.cv_parts:
            report.compare(f"ACDC {loss}: its CNN term alone, out of fold", result.cv_parts["cnn"]["balanced_accuracy"],
                           None, "", "the same fold models without the cardiac-function term; HiResCAM and the "
                                     "heart overlap are this term's")
            report.compare(f"ACDC {loss}: the cardiac-function term alone, out of fold",
                           result.cv_parts["function"]["balanced_accuracy"], None, "",
                           "indices of out-of-fold U-Net masks -> quadratic logistic regression (acdc_function.py)")
        if result.val:
            report.compare(f"ACDC {loss}: balanced accuracy on the validation volumes (the test-time classifier)",
                           result.val["balanced_accuracy"], None, "",
                           f"target >= 0.75 on held-out volumes; {result.val['n_normal']} normal of "
                           f"{result.val['n']} patients here, so the figure is coarse")
    report.tables["acdc"] = rows
    if results.acdc:
        report.add_figure("acdc_predictions", acdc_figure(results.acdc, results.acdc_diagnoses))


def _synthetic_report(report: Report, results: StudyResults) -> list[dict]:
    config = results.config
    for dataset, groups in results.groups.items():
        data = results.data[dataset]
        report.add_figure(f"{dataset}_examples", class_sex_figure(data, f"{TITLES[dataset]}: test images"))
        for loss, models in groups.items():
            report.tables[f"{dataset}:{loss} models"] = [m.row() for m in models]
            for m in models:
                report.add_checkpoint(f"{m.group} model {m.model_id}", m.checkpoint, (),
                                      "synthetic classifier; scored on the run's regenerated test split")
        metrics = ["heart_overlap"] + (["marker_overlap"] if data.has_marker else []) + ["test_accuracy"]
        for metric in metrics:
            report.add_figure(f"{dataset}_{metric}", distribution_figure(groups, metric, f"{TITLES[dataset]}"))
        report.add_figure(f"{dataset}_maps", overlay_figure(data, groups, config.keep_maps))
    rows, notes = stats.statistics_rows(results.groups, {d: v.has_marker for d, v in results.data.items()},
                                        config.alpha)
    report.notes += notes
    report.metrics.update(stats.group_metrics(results.groups))
    report.metrics.update(stats.primary_p_values(rows))
    report.tables["statistics"] = rows
    report.tables["ours vs the thesis"] = stats.thesis_rows(report.metrics, rows)
    for row in report.tables["ours vs the thesis"]:
        report.compare(row["measure"], row["ours"], row["thesis"], "", "thesis convention: ce first (d < 0, CL ~ 0 "
                       "when the heatmap loss is higher)")
    return rows


def _faithfulness_report(report: Report, section: dict) -> None:
    if not section.get("rows"):
        return
    report.faithfulness = section
    report.metrics.update(faithfulness_metrics(section))
    report.tables[f"faithfulness ({section['method']} maps, heart mask)"] = section["rows"]
    report.notes.append(
        f"Faithfulness (issue 16): {section['method']} maps of the true class of one model per group (its "
        f"first kept model) on {section['images']} class-balanced test images; deletion / insertion AUC "
        f"({section['deletion_steps']} steps, {section['baseline']} baseline; deletion lower is better), ROAD "
        "(LeRF - MoRF, higher is better), randomisation passed when |Spearman rho| to the randomised model's "
        f"map < {section['randomisation_threshold']}, and localisation with the heart as the mask "
        "(relevance mass = share of the positive map inside the heart). A spot check, not a group test.")


def build_report(results: StudyResults) -> Report:
    """Tables per group, statistics, our-vs-thesis comparisons, figures and notes."""
    report = Report(name="heatmap-loss", title="Heatmap loss: attribution inside the training loss",
                    config=results.config.to_dict())
    rows = _synthetic_report(report, results)
    _faithfulness_report(report, results.faithfulness)
    _acdc_report(report, results)
    report.notes += results.notes + method_notes(results, rows) + dry_run_note(results.config.limit_steps)
    return report


def run(config: Config) -> Report:
    """Train, measure and report every study of ``config``."""
    return build_report(run_studies(config))
