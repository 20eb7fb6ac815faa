"""ACDC arm: a normal-vs-diseased classifier per loss, estimated by cross-validation over patients.

Per loss (``ce`` and the heatmap losses): ``acdc_repeats`` x ``acdc_folds`` stratified patient folds
(strata: the five diagnoses), one network per fold trained on the other folds' slices, plus one final
network on every patient -- all at once as one grouped network (``training.grouped``), with class
weights n / (2 n_c) over patients' slices and random affine + contrast augmentation. Out-of-fold
patient predictions (mean softmax over a patient's slices) give the balanced accuracy at the decision
threshold halfway between the classes' mean out-of-fold P(diseased) (``cross_validated_scores``: each
repeat scored at the threshold of the other repeats); the final network stores the threshold of all
repeats. The heart overlap is the mean ``heatmap_overlap`` of HiResCAM maps (true class, of its logit or of
its log-odds: ``acdc_heatmap_target``, the same target as the loss and stored in the checkpoint) on the
out-of-fold slices that show the heart. The final network is saved with its preprocessing and scored
by ``evaluate_acdc_diagnosis`` (``medinterp evaluate --dataset acdc-diagnosis``), here on the shared
validation volumes (patients not in the training slices). With ``acdc_ensemble`` the fold networks are
saved beside it (``fold-<i>.pt``, named in its ``extra.ensemble``) and a new patient's P(diseased) is their
mean (``ensemble_probabilities``): its expectation is that of an out-of-fold prediction, which the
threshold was taken from. With ``acdc_function_weight`` w > 0, P(diseased) = (1 - w) p_cnn + w p_function
(``acdc_function``): in each fold the indices' regression is fitted on the training patients' out-of-fold
indices and scores the held-out patients; the CNN term and the function term alone are scored too
(``AcdcResult.cv_parts``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from sklearn.model_selection import StratifiedKFold

from medinterp_widgets.attribution import attribute
from medinterp_widgets.data.errors import DataFormatError
from medinterp_widgets.metrics import heatmap_overlap, midpoint_threshold
from medinterp_widgets.training.checkpoints import load_checkpoint, model_from_checkpoint, stored_threshold
from medinterp_widgets.training.grouped import Member
from medinterp_widgets.training.heatmap_loss import MAP_TARGETS

from . import acdc_function
from .acdc import (
    AGGREGATES,
    CLASS_NAMES,
    PREPROCESSING,
    PatientStack,
    augment_batch,
    diagnosis_scores,
    patient_probabilities,
    read_frames,
    read_patients,
    stack_patients,
)
from .acdc_function import (
    FunctionTermData,
    SegmenterSettings,
    fit_function_model,
    function_model_from_checkpoint,
    load_segmenter,
    patient_indices,
    prepare_function_term,
)
from .acdc_train import train_group_seg
from .config import Config
from .study import build_model, make_loss, save_member


@dataclass
class AcdcResult:
    """One loss's ACDC classifier: cross-validated scores, heart overlap, final model and its val scores."""

    loss: str
    cv: dict
    cv_heart_overlap: float
    cv_heart_empty: float  # share of out-of-fold heart slices whose map is all zero
    probabilities: np.ndarray = field(repr=False)  # out-of-fold P(diseased) per training patient
    checkpoint: str = ""
    val: dict = field(default_factory=dict)  # the test-time classifier on the shared validation volumes
    maps: np.ndarray = field(repr=False, default_factory=lambda: np.zeros((0, 0, 0), np.float32))
    cv_parts: dict = field(default_factory=dict)  # "cnn" / "function": each term's cross-validated scores
    function_dice: list = field(default_factory=list)  # out-of-fold segmenter Dice of RV, myocardium, LV cavity


def acdc_preprocessing(config: Config) -> dict:
    return {**PREPROCESSING, "crop": config.acdc_crop, "size": config.acdc_size, "middle": list(config.acdc_middle),
            "difference": config.acdc_difference}


def read_with(prep: dict, folder, split, limit=None) -> list[PatientStack]:
    """``read_patients`` with a stored preprocessing (crop, size, middle, difference channel)."""
    return read_patients(folder, split, crop=int(prep["crop"]), size=int(prep["size"]),
                         middle=tuple(prep.get("middle", (0.0, 1.0))), limit=limit,
                         difference=bool(prep.get("difference", False)))


def segmenter_settings(config: Config) -> SegmenterSettings:
    return SegmenterSettings(width=config.acdc_function_width, epochs=config.acdc_function_epochs,
                             max_steps=config.limit_steps)


def function_term_data(config: Config, folder: Path, device=None, threads: int | None = None) -> FunctionTermData:
    """``prepare_function_term`` on the training patients of ``folder``, read with this run's preprocessing
    (every slice of both frames); a top-level function so that a worker process can run it."""
    prep = acdc_preprocessing(config)
    frames = read_frames(folder, "train", crop=int(prep["crop"]), size=int(prep["size"]),
                         limit=config.acdc_max_patients)
    return prepare_function_term(frames, segmenter_settings(config), config.acdc_function_folds, config.seed,
                                 device, threads)


def heart_overlap(model: torch.nn.Module, patients: list[PatientStack], device=None,
                  target: str = "class") -> tuple[float, float, np.ndarray]:
    """Over the slices showing the heart: the mean heatmap_overlap(HiResCAM of the true class's ``target``
    (``training.heatmap_loss.MAP_TARGETS``), heart) of those with a non-zero map, and the share whose ReLU'd
    map is all zero (no overlap defined: the thesis's mass penalty counts such a map as 0); also the maps of
    each patient's middle slice."""
    values, middle = [], []
    model = model.to(device or "cpu").eval()
    for patient in patients:
        x = torch.from_numpy(patient.images).to(device or "cpu")
        maps = attribute(model, x, method="hirescam", target=MAP_TARGETS[target](patient.label)).detach().cpu()
        values += [heatmap_overlap(m, h) for m, h in zip(maps, patient.heart) if h.any()]
        middle.append(maps[len(maps) // 2].numpy())
    finite = [v for v in values if not math.isnan(v)]
    mean = float(np.mean(finite)) if finite else float("nan")
    empty = 1 - len(finite) / len(values) if values else float("nan")
    return mean, empty, np.stack(middle).astype(np.float32)


def _folds(patients: list[PatientStack], config: Config) -> list[tuple[np.ndarray, np.ndarray]]:
    strata = [p.diagnosis for p in patients]
    return [fold for repeat in range(config.acdc_repeats)
            for fold in StratifiedKFold(config.acdc_folds, shuffle=True, random_state=config.seed * 100 + repeat)
            .split(np.zeros(len(patients)), strata)]


def _members(owner: torch.Tensor, folds, config: Config) -> list[Member]:
    members = []
    for i, (train, _) in enumerate(folds):
        items = torch.nonzero(torch.isin(owner, torch.as_tensor(train))).flatten().tolist()
        members.append(Member(seed=config.seed * 1000 + 500 + i, lr=config.acdc_lr, subset=tuple(items)))
    return members + [Member(seed=config.seed * 1000 + 999, lr=config.acdc_lr)]  # the final model: every patient


def run_acdc(config: Config, folder: Path, run_root: Path, device,
             function: Callable[[], FunctionTermData] | None = None) -> tuple[dict[str, AcdcResult], list[str]]:
    """Train and score the ACDC classifier of every ``acdc:<loss>`` study (module docstring); also the
    training patients' diagnoses (the order of ``AcdcResult.probabilities``). ``function``: gives the function
    term's data (e.g. a worker's ``Future.result``), asked for once every CNN is trained; without it the data
    is computed here when ``acdc_function_weight`` > 0."""
    prep = acdc_preprocessing(config)
    patients = read_with(prep, folder, "train", config.acdc_max_patients)
    validation = read_with(prep, folder, "val") if (folder / "val.list").is_file() else []
    images, owner = stack_patients(patients)
    counts = torch.bincount(images.labels, minlength=2).float()
    weights = (counts.sum() / (2 * counts.clamp_min(1))).tolist()  # n / (2 n_c)
    folds = _folds(patients, config)
    kwargs = dict(in_channels=2 + int(config.acdc_difference), n_classes=len(CLASS_NAMES), width=config.acdc_width,
                  cfg=config.acdc_cfg, batch_norm=True, head="fc", hidden=config.hidden, fc_pool=config.acdc_fc_pool,
                  dropout=config.acdc_dropout)
    trained = {loss: train_group_seg(lambda s: build_model(kwargs, s), _members(owner, folds, config), images,
                                     loss=make_loss(loss, config, weights, config.acdc_classification,
                                                    config.acdc_heatmap_target),
                                     epochs=config.acdc_epochs, batch_size=config.batch_size,
                                     seg_weight=config.acdc_seg_weight, device=device, max_steps=config.limit_steps,
                                     augment=partial(augment_batch, channels=kwargs["in_channels"]))
               for loss in config.studies_of("acdc")}
    data, function_oof = None, None
    if config.acdc_function_weight > 0:  # shared by every loss's classifier
        data = function() if function is not None else function_term_data(config, folder, device)
        if data.patient_ids != [p.patient_id for p in patients]:
            raise RuntimeError("ACDC function term: its patients differ from the classifier's")
        function_oof = _function_out_of_fold(data, np.array([p.label for p in patients]), folds, config)
    out = {loss: _score(loss, members, patients, validation, folds, kwargs, prep, config, run_root, device, data,
                        function_oof, folder) for loss, members in trained.items()}
    return out, [p.diagnosis for p in patients]


def cross_validated_scores(labels, per_repeat: np.ndarray) -> dict:
    """Scores of out-of-fold probabilities (R, P): with R >= 2 repeats, repeat r is thresholded at the
    midpoint threshold of the other repeats' mean and the scores are averaged over r; with one repeat
    the threshold comes from the same predictions (optimistic)."""
    if len(per_repeat) == 1:
        return diagnosis_scores(labels, per_repeat[0], midpoint_threshold(labels, per_repeat[0]))
    runs = [diagnosis_scores(labels, per_repeat[r], midpoint_threshold(labels, np.delete(per_repeat, r, 0).mean(0)))
            for r in range(len(per_repeat))]
    return {key: float(np.mean([run[key] for run in runs])) for key in runs[0]}


def ensemble_probabilities(models: list[torch.nn.Module], patients: list[PatientStack], device=None,
                           batch_size: int = 64, aggregate: str = "softmax") -> np.ndarray:
    """P(diseased) per patient (P,): the mean over ``models`` of ``patient_probabilities``."""
    return np.mean([patient_probabilities(m, patients, device, batch_size, aggregate) for m in models], axis=0)


def _function_out_of_fold(function: FunctionTermData, labels: np.ndarray, folds, config: Config) -> np.ndarray:
    """(R, P) P(diseased) of the function term, each patient's from the regression of its fold's others."""
    out = np.zeros((config.acdc_repeats, len(labels)))
    for index, (train, held_out) in enumerate(folds):
        model = fit_function_model(function.indices[train], labels[train], weight=config.acdc_function_weight,
                                   c=config.acdc_function_c)
        out[index // config.acdc_folds, held_out] = model.p_diseased(function.indices[held_out])
    return out


def _score(loss, trained, patients, validation, folds, kwargs, prep, config, run_root, device,
           function: FunctionTermData | None, function_oof: np.ndarray | None, folder: Path) -> AcdcResult:
    per_repeat = np.zeros((config.acdc_repeats, len(patients)))
    overlaps, empties, fold_models = [], [], []
    for index, ((_, held_out), result) in enumerate(zip(folds, trained[:-1])):
        model = build_model(kwargs, 0)
        model.load_state_dict(result.state)
        fold_models.append(model)
        chosen = [patients[i] for i in held_out]
        per_repeat[index // config.acdc_folds, held_out] = patient_probabilities(model, chosen, device,
                                                                             aggregate=config.acdc_aggregate)
        overlap, empty, _ = heart_overlap(model, chosen, device, config.acdc_heatmap_target)
        overlaps.append(overlap)
        empties.append(empty)
    labels = np.array([p.label for p in patients])
    parts = {"cnn": per_repeat}
    path = run_root / f"acdc-{loss}" / "final.pt"
    extra = {"paper": "heatmap-loss", "dataset": "acdc", "loss": loss, "class_names": list(CLASS_NAMES),
             "preprocessing": prep, "aggregate": config.acdc_aggregate,
             "seed": config.seed, "heatmap_target": config.acdc_heatmap_target}
    if function is not None and function_oof is not None:
        w = config.acdc_function_weight
        parts["function"] = function_oof
        per_repeat = (1 - w) * parts["cnn"] + w * parts["function"]
        function_model = fit_function_model(function.indices, labels, weight=w, c=config.acdc_function_c)
        path.parent.mkdir(parents=True, exist_ok=True)
        function.save_segmenter(path.parent / "segmenter.pt", {"paper": "heatmap-loss", "dataset": "acdc",
                                                               "role": "function-term segmenter",
                                                               "preprocessing": prep})
        extra[acdc_function.FIELD] = function_model.to_dict("segmenter.pt")
    extra["decision_threshold"] = threshold = midpoint_threshold(labels, per_repeat.mean(0))
    if config.acdc_ensemble:  # the fold models beside final.pt, named in its extra
        extra["ensemble"] = [f"fold-{i}.pt" for i in range(len(fold_models))]
        for name, result in zip(extra["ensemble"], trained[:-1]):
            save_member(kwargs, result, path.parent / name, {**extra, "ensemble": []}, config.limit_steps)
    final = save_member(kwargs, trained[-1], path, extra, config.limit_steps)
    np.savez(path.parent / "out-of-fold.npz", labels=labels, **parts)  # (R, P) per term, for later study
    val = {}
    maps = np.zeros((0, 0, 0), np.float32)
    if validation:
        p_cnn = ensemble_probabilities(fold_models if config.acdc_ensemble else [final], validation, device,
                                       aggregate=config.acdc_aggregate)
        val = _blended_scores(p_cnn, validation, path, prep, device, folder, "val", threshold)
        val["heart_overlap_mean"], val["heart_maps_empty"], maps = heart_overlap(final, validation, device,
                                                                                 config.acdc_heatmap_target)
    cv_parts = {name: cross_validated_scores(labels, part) for name, part in parts.items()} if function else {}
    return AcdcResult(loss, cross_validated_scores(labels, per_repeat), float(np.nanmean(overlaps)),
                      float(np.nanmean(empties)), per_repeat.mean(0), str(path), val, maps, cv_parts,
                      [] if function is None else [float(d) for d in function.dice])


def _blended_scores(p_cnn, patients, checkpoint: Path, prep, device, root, split, threshold, limit=None) -> dict:
    """``diagnosis_scores`` of the classifier's P(diseased): the CNN's (P,) ``p_cnn``, blended with the function
    term when the checkpoint stores one (its segmenter beside it segments the patients' frames read from
    ``root``, every slice); then also each term's AUC and the weight."""
    payload_function = function_model_from_checkpoint(load_checkpoint(checkpoint), checkpoint)
    labels = [p.label for p in patients]
    if payload_function is None:
        return diagnosis_scores(labels, p_cnn, threshold)
    model, name = payload_function
    segmenter = load_segmenter(checkpoint, name)
    frames = read_frames(root, split, crop=int(prep["crop"]), size=int(prep["size"]), limit=limit)
    if [f.patient_id for f in frames] != [p.patient_id for p in patients]:
        raise DataFormatError(Path(root), "the function term's frames and the classifier's slices name different "
                                          "patients")
    indices = patient_indices(segmenter, frames, device)
    scores = diagnosis_scores(labels, model.blend(p_cnn, indices), threshold)
    scores["cnn_auc"] = diagnosis_scores(labels, p_cnn)["auc"]
    scores["function_auc"] = diagnosis_scores(labels, model.p_diseased(indices))["auc"]
    scores["function_weight"] = model.weight
    return scores


def evaluate_acdc_diagnosis(checkpoint, root, kind: str = "acdc-diagnosis", *, device=None, split: str = "val",
                            size=None, batch_size: int = 8, limit: int | None = None) -> dict:
    """Score a normal-vs-diseased ACDC classifier on a folder: patients of ``<split>.list`` (or
    ``<split>_slices.list``; every .h5 file when the folder has no such list), preprocessed as stored in
    the checkpoint; diagnosis from the patient number. ``size`` must match the stored size if given."""
    payload = load_checkpoint(checkpoint)
    prep = (payload.get("config") or {}).get("extra", {}).get("preprocessing")
    if not isinstance(prep, dict) or prep.get("kind") != PREPROCESSING["kind"] or not {"crop", "size"} <= set(prep):
        raise DataFormatError(Path(checkpoint), "config.extra.preprocessing: expected the ACDC ED/ES preprocessing "
                                                "(kind, crop, size) of a heatmap-loss ACDC classifier")
    if size is not None and tuple(size) != (prep["size"], prep["size"]):
        raise ValueError(f"--size {tuple(size)}: this classifier was trained at {prep['size']} x {prep['size']}")
    model = model_from_checkpoint(payload)
    extra = payload["config"]["extra"]
    threshold, aggregate = stored_threshold(payload, checkpoint), extra.get("aggregate", "softmax")
    if aggregate not in AGGREGATES:
        raise DataFormatError(Path(checkpoint), f"config.extra.aggregate: {aggregate!r}; expected one of "
                                                f"{list(AGGREGATES)}")
    target = extra.get("heatmap_target", "class")  # older checkpoints: the thesis's class maps
    if target not in MAP_TARGETS:
        raise DataFormatError(Path(checkpoint), f"config.extra.heatmap_target: {target!r}; expected one of "
                                                f"{list(MAP_TARGETS)}")
    patients = read_with(prep, root, split, limit)
    unknown = [p.patient_id for p in patients if p.diagnosis is None]
    if unknown:  # without a diagnosis a patient would silently count as diseased
        raise DataFormatError(Path(root), f"{unknown[:5]}: no diagnosis known for these patient numbers (the ACDC "
                                          "blocks of 20 cover patients 001-100)")
    members = _ensemble(Path(checkpoint), extra.get("ensemble") or []) or [model]
    probabilities = ensemble_probabilities(members, patients, device, batch_size, aggregate)
    try:
        scores = _blended_scores(probabilities, patients, Path(checkpoint), prep, device, root, split, threshold, limit)
    except ValueError as error:  # a malformed stored function term
        raise DataFormatError(Path(checkpoint), str(error)) from error
    scores["heart_overlap_mean"], scores["heart_maps_empty"], _ = heart_overlap(model, patients, device, target)
    return {**scores, "split": split, "patients": [p.patient_id for p in patients]}


def _ensemble(checkpoint: Path, names) -> list[torch.nn.Module]:
    """The fold models a final checkpoint names in ``config.extra.ensemble`` (file names beside it)."""
    if not isinstance(names, list) or not all(isinstance(n, str) and n and Path(n).name == n for n in names):
        raise DataFormatError(checkpoint, f"config.extra.ensemble: expected a list of file names beside the "
                                          f"checkpoint, got {names!r}")
    missing = [n for n in names if not (checkpoint.parent / n).is_file()]
    if missing:
        raise DataFormatError(checkpoint, f"config.extra.ensemble: {missing} not found in {checkpoint.parent}")
    return [model_from_checkpoint(checkpoint.parent / n) for n in names]
