"""``medinterp evaluate`` for covid-interp checkpoints: ``--dataset covid-ct`` and ``--dataset covid-lesions``.

Both rebuild the model through ``training.checkpoints`` and read its preprocessing from the checkpoint
(``preprocess.from_checkpoint_config``: input size and intensity mapping, plain data), so a folder is
scored exactly as the model was trained. ``size`` is used only for checkpoints that store no input size.

- covid-ct: a folder holding ``CT_COVID`` / ``CT_NonCOVID``; P(COVID) >= the checkpoint's stored
  ``extra.decision_threshold`` (``training.checkpoints.stored_threshold``; 0.5 when it stores none) is a
  COVID call; accuracy, AUC, sensitivity, specificity, PPV, NPV, cross-entropy loss, the threshold used.
  A checkpoint with a texture term (``extra.texture_model``, ``texture.py``) has P(COVID) blended with its
  LBP logistic regression on the images at the term's own size, as in training.
- covid-lesions: any MedSeg folder in the Inf-Net layout (``data.covid_lesions.find_lesion_folder``),
  slices turned to the usual axial view (``LesionSlice.read(radiological=True)``); Grad-CAM of the COVID
  class at the checkpoint's ``extra.cam_layer`` (default: the model's cam layer),
  resized to each slice's own size; consistent degree |S ∩ L| / |L| with S = {minmax(CAM) >= 0.7}, its
  chance level |S| / |image| (``chance_support_area``), their ratio, the stricter chance level of a
  support placed at random inside the lung fields (``chance_in_lungs``, ``interpret.chance_in_lungs``)
  and its ratio, the share of the support inside the lung fields (``support_in_lungs``) and the mean
  P(COVID) of the CNN (the term Grad-CAM explains; a texture term is not applied here).
"""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np
import torch

from medinterp_widgets import metrics
from medinterp_widgets.data import CovidCtDataset, load_covid_ct, load_covid_lesions
from medinterp_widgets.data.images import resize_pair
from medinterp_widgets.devices import resolve_device
from medinterp_widgets.models.test_time import predict_softmax
from medinterp_widgets.training.checkpoints import load_checkpoint, model_from_checkpoint, stored_threshold

from . import interpret
from .lungs import lung_masks
from .preprocess import Preprocess, from_checkpoint_config
from .texture import texture_model_from_checkpoint

DEFAULT_THRESHOLD = 0.7
COVID_CALL = 0.5  # P(COVID) at or above which a checkpoint that stores no decision threshold calls COVID


def load_model(checkpoint: str | os.PathLike, device=None, size: tuple[int, int] | None = None):
    """(model on ``device`` in eval mode, its Preprocess, the checkpoint's config dict)."""
    payload = load_checkpoint(checkpoint)
    config = payload.get("config") or {}
    extra = config.get("extra") or {}
    if size is not None and not (extra.get("preprocess") or extra.get("input_size")):
        config = {**config, "extra": {**extra, "input_size": [int(size[0]), int(size[1])]}}
    preprocess = from_checkpoint_config(config, str(checkpoint))
    model = model_from_checkpoint(payload).to(resolve_device(device)).eval()
    return model, preprocess, payload


def probabilities(model, inputs: torch.Tensor, batch_size: int = 32, test_time: str = "none") -> np.ndarray:
    """P(COVID) (N,) of preprocessed inputs (N, 1, S, S), eval mode, no gradients; ``test_time`` "mirror":
    the mean over each input and its left-right mirror (``models.test_time.predict_softmax``)."""
    device = next(model.parameters()).device
    found = []
    with torch.no_grad():
        for start in range(0, len(inputs), batch_size):
            softmax = predict_softmax(model, inputs[start:start + batch_size].to(device), test_time)
            found.append(softmax[:, interpret.COVID_CLASS].cpu())
    return torch.cat(found).numpy() if found else np.zeros(0, np.float32)


def classification_scores(labels: np.ndarray, p_covid: np.ndarray, threshold: float = COVID_CALL) -> dict[str, float]:
    """Accuracy, AUC, sensitivity, specificity, PPV, NPV (COVID = positive, P >= ``threshold``), the CE loss
    and the threshold."""
    rates = metrics.confusion_metrics(labels, (p_covid >= threshold).astype(int), positive=1)
    chosen = np.where(labels == 1, p_covid, 1.0 - p_covid)
    loss = float(-np.mean(np.log(np.clip(chosen, 1e-7, 1.0)))) if len(labels) else math.nan
    scores = {name: float(rates[name]) for name in ("accuracy", "sensitivity", "specificity", "ppv", "npv")}
    return {**scores, "auc": metrics.roc_auc(labels, p_covid), "loss": loss, "threshold": float(threshold)}


def _header(checkpoint, root, kind: str, payload: dict, preprocess: Preprocess) -> dict[str, Any]:
    return {"checkpoint": str(checkpoint), "model_class": payload["model_class"], "dataset": kind, "data": str(root),
            "epoch": payload.get("epoch"), "preprocess": preprocess.to_dict()}


def evaluate_covid_ct(checkpoint, root, kind: str = "covid-ct", *, device=None, split: str = "val",
                      size=None, batch_size: int = 8, limit: int | None = None) -> dict[str, Any]:
    """Score a checkpoint on a CT_COVID / CT_NonCOVID folder (``split`` is not used: the folder is the set)."""
    model, preprocess, payload = load_model(checkpoint, device, size)
    items = load_covid_ct(root, merge_near_duplicates=False)[:limit]
    dataset = CovidCtDataset(items, size=(preprocess.size, preprocess.size))
    images = torch.stack([dataset[i]["image"] for i in range(len(dataset))])  # (N, 1, S, S)
    labels = np.array([item.label for item in items])
    p_covid = probabilities(model, preprocess.apply(images), batch_size, preprocess.test_time)
    term = texture_model_from_checkpoint(payload, str(checkpoint))
    if term is not None:
        at_size = CovidCtDataset(items, size=(term.size, term.size))
        pictures = torch.stack([at_size[i]["image"] for i in range(len(at_size))])  # (N, 1, s, s)
        p_covid = term.blend(p_covid, term.features(pictures))
    return {**_header(checkpoint, root, kind, payload, preprocess), "task": "classification", "n": len(items),
            "n_covid": int(labels.sum()), "texture_weight": term.weight if term is not None else 0.0,
            **classification_scores(labels, p_covid, stored_threshold(payload, checkpoint, fallback=COVID_CALL))}


def lesion_inputs(slices, preprocess: Preprocess) -> tuple[torch.Tensor, torch.Tensor, list[np.ndarray]]:
    """(images (N, 1, S, S) in 0..1, network inputs, native 0/1 lesion masks) of MedSeg slices."""
    images, masks = [], []
    for item in slices:
        image, mask = item.read(radiological=True)  # spine down, as the UCSD figures the model learnt from
        resized, _ = resize_pair(image, None, (preprocess.size, preprocess.size))
        images.append(torch.from_numpy(np.ascontiguousarray(resized, np.float32))[None])  # (1, S, S)
        masks.append((mask > 0).astype(np.uint8))
    stacked = torch.stack(images) if images else torch.zeros(0, 1, preprocess.size, preprocess.size)
    return stacked, preprocess.apply(stacked), masks


def evaluate_covid_lesions(checkpoint, root, kind: str = "covid-lesions", *, device=None, split: str = "val",
                           size=None, batch_size: int = 8, limit: int | None = None) -> dict[str, Any]:
    """Consistent degree of the checkpoint's Grad-CAM with MedSeg lesion masks under ``root`` (any split)."""
    model, preprocess, payload = load_model(checkpoint, device, size)
    extra = (payload.get("config") or {}).get("extra") or {}
    layer = extra.get("cam_layer") or getattr(model, "cam_layer_name", None)
    threshold = float(extra.get("cam_threshold", DEFAULT_THRESHOLD))
    slices = load_covid_lesions(root)[:limit]
    images, inputs, masks = lesion_inputs(slices, preprocess)
    maps, p_covid = interpret.gradcam_maps(model, inputs, layer=layer, batch_size=batch_size)
    degrees, areas = interpret.native_scores(maps, masks, threshold)
    lung_chance, in_lungs = interpret.native_lung_chance(maps, masks, lung_masks(images), threshold)
    return {**_header(checkpoint, root, kind, payload, preprocess), "task": "consistent degree", "n": len(slices),
            "cam_layer": layer, "threshold": threshold, **degree_summary(degrees, areas, p_covid, lung_chance),
            "support_in_lungs": float(np.nanmean(in_lungs)) if np.isfinite(in_lungs).any() else math.nan}


def degree_summary(degrees: np.ndarray, areas: np.ndarray, p_covid: np.ndarray,
                   lung_chance: np.ndarray | None = None) -> dict[str, float]:
    """Mean / median consistent degree, the chance levels (mean support area; mean chance in the lungs)
    and their ratios, mean P(COVID)."""
    degree = float(np.nanmean(degrees)) if np.isfinite(degrees).any() else math.nan
    chance = float(np.mean(areas)) if len(areas) else math.nan
    found = {"consistent_degree_mean": degree,
             "consistent_degree_median": float(np.nanmedian(degrees)) if np.isfinite(degrees).any() else math.nan,
             "chance_support_area": chance, "degree_over_chance": degree / chance if chance > 0 else math.nan,
             "p_covid_mean": float(np.mean(p_covid)) if len(p_covid) else math.nan}
    if lung_chance is not None:
        lungs = float(np.nanmean(lung_chance)) if np.isfinite(lung_chance).any() else math.nan
        found.update({"chance_in_lungs": lungs, "degree_over_lung_chance": degree / lungs if lungs > 0 else math.nan})
    return found


__all__ = ["classification_scores", "degree_summary", "evaluate_covid_ct",
           "evaluate_covid_lesions", "lesion_inputs", "load_model", "probabilities"]
