"""``run(config) -> Report``: paper 1, LV segmentation with an interpretable GAP-FCN.

Steps: load cases and split them (data.py) -> train GapFCN with the paper's schedule (best epoch by
tuning Dice) -> score it once on the validation cases at native resolution (scoring.py, the same code
as ``medinterp evaluate``) -> Optuna search of (LR, decay rate, decay steps) reported beside it, its
best trial scored the same way -> CAM of the LV class on the GAP layer, layer table, accuracy vs Dice
-> U-Net baseline -> Table 1, flat metrics, the paper's values.
"""

from __future__ import annotations

import dataclasses
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any, Callable, Iterable

import torch

from medinterp_widgets.models import parameter_count
from medinterp_widgets.pipelines.dry_run import dry_run_note
from medinterp_widgets.pipelines.report import Report
from medinterp_widgets.training import load_checkpoint
from medinterp_widgets.training.runs import BEST_CHECKPOINT

from . import figures, paper
from .artifacts import LvReport
from .augment import Augmentation
from .config import PAPER, Config
from .data import LvData, headline_set, load_lv_data
from .explain import explain
from .scoring import score_cases
from .training import (
    AVERAGED_CHECKPOINT,
    SEARCH_LR,
    build_gapfcn,
    build_unet,
    search_hyperparameters,
    train_best,
    train_config,
)

TITLE = "Paper 1: LV segmentation with an interpretable GAP-FCN (Sunnybrook / ACDC)"
SUMMARY_KEYS = ("dice_mean", "apd_mm_mean", "apd_px_mean", "dice_slice_mean", "pixel_accuracy_mean", "good_contours",
                "n", "slices")
EVALUATE_SETS = ("sunnybrook", "acdc")  # `medinterp evaluate --dataset` kinds every checkpoint's label maps cover


def run(config: Config, *, callbacks: Iterable[Callable] = ()) -> LvReport:
    """Reproduce the LV paper at ``config``'s scale; ``callbacks`` see every Trainer event."""
    started = time.process_time()
    callbacks = list(callbacks)
    report = LvReport("lv-gap-cam", TITLE, config.to_dict())
    with ExitStack() as stack:
        out = Path(config.out_dir) if config.out_dir else Path(stack.enter_context(tempfile.TemporaryDirectory()))
        data = load_lv_data(config, augmentation(config))
        report.metrics.update(data_source=data.source, train_slices=len(data.train.cases),
                              train_items_per_epoch=len(data.train), tune_slices=len(data.tune))
        report.tables["data splits (patients / studies)"] = [{"set": k, "ids": ", ".join(v)}
                                                             for k, v in data.splits.items()]
        report.notes += [data.description, *dry_run_note(config.limit_steps)]
        models = {"GapFCN": _train_and_score("GapFCN", build_gapfcn(config), config, data, out, report, callbacks)}
        _search(config, data, out, report, callbacks)
        explain(models["GapFCN"], config, data, report)
        if config.unet_epochs:
            models["U-Net"] = _train_and_score("U-Net", build_unet(config), config, data, out, report, callbacks)
        _compare_models(models, report)
    _compare_with_paper(config, data, report)
    report.metrics["cpu_seconds"] = time.process_time() - started
    return report


def augmentation(config: Config) -> Augmentation | None:
    """The training augmentation (gamma only for inputs scaled to 0..1)."""
    if not config.augment:
        return None
    return Augmentation(scale=tuple(config.augment_scale),
                        gamma=None if config.intensity in ("zscore", "none") else (0.7, 1.4))


def metric_prefix(name: str) -> str:
    """Flat-metrics prefix of a model: '' for the paper-schedule GapFCN, else e.g. 'unet_'."""
    return {"GapFCN": "", "U-Net": "unet_", "GapFCN (search best)": "search_"}[name]


def score_validation(name: str, model, data: LvData, report: Report, device) -> dict[str, Any]:
    """Score ``model`` on every validation set at native resolution; flat metrics + a table row per set."""
    prefix, scored = metric_prefix(name), {}
    for source, cases in data.validation.items():
        summary, rows, predictions = score_cases(model, data.spec, cases, device=device)
        scored[source] = {"summary": summary, "rows": rows, "predictions": predictions}
        report.metrics.update({f"{prefix}{source}_{key}": summary[key] for key in SUMMARY_KEYS})
        report.tables.setdefault("validation scores (native resolution)", []).append(
            {"model": name, "data set": source, **{key: summary[key] for key in SUMMARY_KEYS}})
    headline = scored[headline_set(scored)]
    report.metrics.update({f"{prefix}dice_mean": headline["summary"]["dice_mean"],
                           f"{prefix}apd_mm_mean": headline["summary"]["apd_mm_mean"]})
    return scored


def _train_and_score(name: str, model, config: Config, data: LvData, out: Path, report: Report, callbacks) -> dict:
    """Train ``model`` (best epoch by tuning Dice), score it on the validation sets, name its checkpoint."""
    is_gap = name == "GapFCN"
    tconfig = train_config(config, out / name.lower().replace("-", ""), config.epochs if is_gap else config.unet_epochs,
                           data.spec)
    cam_weight = config.cam_loss_weight if is_gap else None
    average_last = config.average_last_epochs if is_gap else 0
    model, log, trainer = train_best(model, data, tconfig, config.pixel_loss, cam_weight, callbacks,
                                     config.cam_loss_mode, average_last)
    scored = score_validation(name, model, data, report, trainer.device)
    if is_gap and data.spec.largest_component:
        _postprocessing_ablation(model, data, report, trainer.device)
    prefix = metric_prefix(name)
    report.metrics.update({f"{prefix}parameters": parameter_count(model), f"{prefix}steps": trainer.step,
                           f"{prefix}best_epoch_tune_dice": trainer.best_value})
    report.tables[f"{name}: per-epoch metrics (train / tune)"] = log.epochs
    best = Path(tconfig.run_dir) / BEST_CHECKPOINT
    averaged = best.with_name(AVERAGED_CHECKPOINT)
    stored = ("its Preprocessing (crop, size, intensity, label maps) is stored in the checkpoint and applied by "
              "evaluate")
    if average_last and averaged.is_file():
        report.metrics[f"{prefix}averaged_tune_dice"] = trainer.evaluate(data.tune).get("dice_mean")
        report.add_checkpoint(name, averaged, EVALUATE_SETS, f"mean of the last {average_last} epochs' weights, "
                              f"BatchNorm re-estimated on the training images; {stored}")
    elif config.out_dir and best.is_file():
        report.add_checkpoint(name, best, EVALUATE_SETS, f"best epoch by tuning Dice; {stored}")
    report.add_figure(f"curves_{name.lower().replace('-', '')}", figures.training_curves(log.epochs, log.steps, name))
    return {"model": model, "log": log, "scored": scored, "device": trainer.device}


def _postprocessing_ablation(model, data: LvData, report: Report, device) -> None:
    """The same model scored without the largest-component step, so its effect is visible."""
    raw = dataclasses.replace(data.spec, largest_component=False)
    for source, cases in data.validation.items():
        summary = score_cases(model, raw, cases, device=device)[0]
        report.tables.setdefault("validation scores (native resolution)", []).append(
            {"model": "GapFCN without the largest-component step", "data set": source,
             **{key: summary[key] for key in SUMMARY_KEYS}})


def _search(config: Config, data: LvData, out: Path, report: Report, callbacks) -> None:
    """Optuna search beside the paper-schedule model: trials table, best trial scored on validation."""
    if not config.sweep_trials:
        return
    torch.manual_seed(config.seed)
    result = search_hyperparameters(config, data, out / "sweep", callbacks)
    report.tables["hyperparameter search (Optuna TPE, SQLite)"] = result.rows
    report.metrics.update({f"search_best_{k}": v for k, v in result.best.items()})
    subset = f" on {config.sweep_max_train_slices} training items" if config.sweep_max_train_slices else ""
    report.notes.append(
        f"Search: {len(result.rows)} Optuna TPE trials of {config.sweep_epochs} epochs{subset} over LR "
        f"({SEARCH_LR[0]:g}..{SEARCH_LR[1]:g}, log), decay rate (0.5..1) and decay steps (100..10,000, log), each "
        "scored by its best tuning Dice. It is reported beside the paper's schedule, not used to retrain: the best "
        "trial's own checkpoint is scored on the validation cases like the main model ('GapFCN (search best)').")
    tie = search_tie_note(result.rows)
    if tie:
        report.notes.append(tie)
    if len(result.rows) > 1:
        report.add_figure("sweep_trials", figures.sweep_trials(result.rows))
    if result.best_checkpoint is not None:
        model = build_gapfcn(config)
        model.load_state_dict(load_checkpoint(result.best_checkpoint)["model_state"])
        score_validation("GapFCN (search best)", model, data, report, config.device)
        if config.out_dir:
            report.add_checkpoint("GapFCN (search best)", result.best_checkpoint, EVALUATE_SETS,
                                  "the search's best trial (best epoch by tuning Dice)")


def search_tie_note(rows: list[dict]) -> str | None:
    """A note when two or more search trials all reached one tuning Dice (none learned more: 'best' is arbitrary)."""
    scores = {row["tune_dice"] for row in rows if row.get("tune_dice") is not None}
    if len(rows) < 2 or len(scores) != 1:
        return None
    return (f"Search: every trial reached the same tuning Dice ({scores.pop():.3f}): no trial learned more than the "
            "others, so its 'best' trial is arbitrary.")


def _compare_models(models: dict[str, dict], report: Report) -> None:
    report.add_figure("per_slice_distributions", figures.per_slice_distributions(
        {name: m["scored"][headline_set(m["scored"])]["rows"] for name, m in models.items()}))


def _compare_with_paper(config: Config, data: LvData, report: Report) -> None:
    """Flat paper values, comparisons, Table 1, targets and the notes on what differs from the paper."""
    metrics = report.metrics
    report.metrics.update(paper.paper_metrics())
    where = f"{headline_set(data.validation)} validation"
    report.compare(f"Dice (LV, {where})", 100 * metrics["dice_mean"], PAPER["dice_percent"], " %",
                   f"{config.preset} preset, native resolution")
    report.compare(f"APD ({where})", metrics["apd_mm_mean"], PAPER["apd_mm"], " mm", "predicted -> expert contour")
    if "acdc_dice_mean" in metrics:
        report.compare("Dice (LV cavity, ACDC validation volumes, 3-D)", 100 * metrics["acdc_dice_mean"], None, " %",
                       "issue target >= 90 %; the paper has no ACDC figure")
    accuracy_key = f"{headline_set(data.validation)}_pixel_accuracy_mean"
    report.compare("pixel accuracy", 100 * metrics[accuracy_key], PAPER["accuracy_percent"], " %",
                   "high for any predictor: the LV is ~1-3 % of the pixels (see accuracy vs Dice)")
    for knob in ("lr", "decay_rate", "decay_steps", "epochs"):
        report.compare(knob, getattr(config, knob), PAPER[knob], "", "this run (the paper's schedule)")
    ours = {"GapFCN (ours, paper schedule)": {"dice_mean": metrics["dice_mean"], "apd_mm_mean": metrics["apd_mm_mean"]}}
    if "search_dice_mean" in metrics:
        ours["GapFCN (ours, search best)"] = {"dice_mean": metrics["search_dice_mean"],
                                              "apd_mm_mean": metrics["search_apd_mm_mean"]}
    if "unet_dice_mean" in metrics:
        ours["U-Net (ours)"] = {"dice_mean": metrics["unet_dice_mean"], "apd_mm_mean": metrics["unet_apd_mm_mean"]}
    report.tables["Table 1: APD (mm) and Dice (%) on Sunnybrook"] = paper.table1(ours)
    report.notes.append(paper.table1_note())
    report.metrics.update({f"target_met_{k}": v for k, v in paper.targets_met(metrics).items()})
    report.notes += _deviations(config, data)


def _deviations(config: Config, data: LvData) -> list[str]:
    same = all(getattr(config, k) == PAPER[k] for k in ("lr", "decay_rate", "decay_steps", "epochs"))
    schedule = (f"LR {config.lr}, decay {config.decay_rate} every {config.decay_steps:,} steps (staircase), "
                f"{config.epochs} epochs" + (" (the paper's)" if same else f" (the paper: LR {PAPER['lr']}, "
                f"{PAPER['decay_rate']} every {PAPER['decay_steps']:,} steps, {PAPER['epochs']} epochs)"))
    return [
        f"Schedule: {schedule}; batch {config.batch_size}, so one epoch is (training items / {config.batch_size}) "
        f"steps and the LR decays within the run (see the LR curve). Optimiser: SGD with momentum {config.momentum} "
        f"and weight decay {config.weight_decay}: the paper does not name one; DIGITS' default solver is SGD and "
        "0.02 is an SGD-scale rate (Adam is normally run 10-100x lower).",
        f"Data ({data.source}): the paper trained on the 45 Sunnybrook studies; the shared copy has 3 (one held out "
        "for validation), so the ACDC training slices of 70 patients (some held out for tuning) are added so the "
        "network sees enough hearts; the ACDC validation volumes (val.list) and the held-out Sunnybrook study are "
        "scored once at the end, never used for a choice.",
        _loss_note(config),
        _weights_note(config),
        "Output step: " + ("the largest connected LV component is kept per Sunnybrook slice / per ACDC volume (3-D); "
                           "stored in the checkpoint's Preprocessing, so evaluate applies it too; the validation "
                           "table also lists the scores without it." if data.spec.largest_component else
                           "none (the raw argmax)."),
        f"Scale: {config.preset} preset, GapFCN width {config.base_channels}, depth {config.depth}, inputs "
        f"{config.image_size}^2 from a central {config.crop_fraction:.0%} square crop (the paper: 256^2 full images on "
        "a GPU; the full preset keeps that). Dice and APD are measured at native resolution after resizing the "
        "predicted probabilities back (APD in mm from PixelSpacing), so the crop and size do not change the units.",
        "Sunnybrook Dice is the mean over slices; ACDC Dice is per volume (3-D, as the ACDC challenge), its per-slice "
        "mean is acdc_dice_slice_mean; the preprocessed ACDC files carry no pixel spacing, so ACDC APD is in pixels.",
    ]


def _weights_note(config: Config) -> str:
    """Which weights the GapFCN rows are: the averaged ones (not in the paper) or the best tuning epoch."""
    if not config.average_last_epochs:
        return "Weights: the epoch with the best tuning Dice (ACDC tuning patients)."
    return (f"Weights: the mean of the last {config.average_last_epochs} epochs' weights (stochastic weight "
            "averaging, BatchNorm re-estimated; not in the paper): at the schedule's last rate the unseen "
            "Sunnybrook studies' Dice moves by +-0.02 from one epoch to the next and the ACDC tuning Dice that picks "
            "the best epoch does not follow it (README); best.pt, the best tuning epoch, stays beside averaged.pt.")


LOSS_NOTES = {
    "ce": "pixel cross-entropy",
    "dice_ce": "pixel cross-entropy + soft Dice pooled over the batch (background and LV)",
    "dice_ce_image": "pixel cross-entropy + 1 - the LV's soft Dice of each image, averaged over the batch",
}


def _loss_note(config: Config) -> str:
    """What the pixel loss is and why it differs from the paper's (which has no Dice term)."""
    note = (f"Loss: {LOSS_NOTES[config.pixel_loss]}, plus the CAM-head term (losses.CamAreaLoss, weight "
            f"{config.cam_loss_weight}); the paper describes no Dice term.")
    if config.pixel_loss == "dice_ce_image":
        note += (" The Dice term counters the LV's ~1-3 % pixel share; taken per image, a small apical slice "
                 "(100-500 LV pixels) weighs as much as a mid-ventricular one, where a batch-pooled Dice lets the "
                 "large slices dominate (with it, apical slices scored 0.67-0.88 against 0.93-0.97 mid-ventricular).")
    return note

