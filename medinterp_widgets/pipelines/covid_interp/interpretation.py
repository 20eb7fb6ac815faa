"""What the trained models show: consistent degrees of every explained model on the MedSeg slices,
the Grad-CAM layer study, and the inputs of Figs. 8-12.

MedSeg slices are split once (``data.split_lesions``) into a *dev* half (seen label-free by the
pretraining; may inform choices such as the Grad-CAM layer) and an *untouched* half that is only
scored; the headline consistent degree is the untouched half's. Chance level = the share of the
image the support {minmax(CAM) >= 0.7} covers: a support region placed at random covers that share
of the lesion on average; the stricter lung chance places it at random inside the lung fields
(``interpret.chance_in_lungs``). ``faithfulness_rows`` scores the best fold's maps on a few untouched slices
(``attribution.faithfulness.faithfulness_table``, lesion mask as the localisation mask).
"""

from __future__ import annotations

import numpy as np
import torch

from medinterp_widgets.attribution.faithfulness import faithfulness_table
from medinterp_widgets.models.modes import eval_mode

from . import baseline, interpret
from .config import Config
from .data import LesionSet, split_lesions
from .lungs import lung_masks

LAYER_CANDIDATES = ("stages.0", "stages.1", "stages.2", "stages.3")  # strides 2-16 of the SmallResNet (+ its lung gate)
FAITHFULNESS_METHODS = ("gradcam", "guided_backprop", "saliency")  # Fig. 11's, Fig. 12's and plain gradients


def best_fold(results: list[dict]) -> int:
    """The fold with the highest validation AUC (then accuracy)."""
    keys = [(np.nan_to_num(r["scores"]["auc"], nan=-1.0), r["scores"]["accuracy"]) for r in results]
    return int(max(range(len(keys)), key=keys.__getitem__))


def lesion_degrees(config: Config, model, lesions: LesionSet, preprocess, layer: str | None) -> dict:
    """Grad-CAM maps (N, S, S), P(COVID), consistent degrees and support areas of every lesion slice."""
    cams, p_covid = interpret.gradcam_maps(model, preprocess.apply(lesions.images), layer=layer)
    degrees, areas = interpret.native_scores(cams, lesions.native_masks, config.cam_threshold)
    lung_chance, in_lungs = interpret.native_lung_chance(cams, lesions.native_masks, lung_masks(lesions.images),
                                                         config.cam_threshold)
    return {"cams": cams, "p_covid": p_covid, "degrees": degrees, "areas": areas, "lung_chance": lung_chance,
            "support_in_lungs": in_lungs}


def degree_row(found: dict, parts: dict[str, np.ndarray]) -> dict:
    """Mean consistent degree, chance level and their ratio on each part (dev / untouched), mean P(COVID)."""
    row = {}
    for part, rows in parts.items():
        degree = float(np.nanmean(found["degrees"][rows])) if len(rows) else float("nan")
        chance = float(np.mean(found["areas"][rows])) if len(rows) else float("nan")
        lungs = float(np.mean(found["lung_chance"][rows])) if len(rows) else float("nan")
        row.update({f"{part} CD": degree, f"{part} chance": chance,
                    f"{part} CD / chance": degree / chance if chance > 0 else float("nan"),
                    f"{part} CD / lung chance": degree / lungs if lungs > 0 else float("nan")})
    inside = found["support_in_lungs"]
    row["support inside the lung fields"] = float(np.nanmean(inside)) if np.isfinite(inside).any() else float("nan")
    row["P(COVID) mean"] = float(np.mean(found["p_covid"])) if len(found["p_covid"]) else float("nan")
    return row


def layer_study(config: Config, sets: dict, trained: dict, parts: dict) -> list[dict]:
    """Why Grad-CAM sat on the mediastinum: the paper AlexNet's conv5 (a 2 x 2 map at 112 px) vs the
    explained classifier's stages at strides 4 / 8 / 16, all on the same slices."""
    rows = []
    alexnet = trained["alexnet"][best_fold(trained["alexnet"])]
    found = lesion_degrees(config, alexnet["model"], sets["lesions_alexnet"], baseline.preprocess_of(config), None)
    rows.append({"model": "paper AlexNet (best fold)", "layer": "features.11 (conv5)", **degree_row(found, parts)})
    final = trained["explained"]["final"]
    model = final[best_fold(final)]
    gate = ("gate",) if getattr(model["model"], "gate", None) is not None else ()
    for layer in (*LAYER_CANDIDATES, *gate):
        found = lesion_degrees(config, model["model"], sets["lesions"], model["preprocess"], layer)
        chosen = " (configured)" if layer == config.cam_layer else ""
        rows.append({"model": "explained classifier (best fold)", "layer": layer + chosen, **degree_row(found, parts)})
    return rows


def explain(config: Config, sets: dict, trained: dict, folds) -> dict:
    """Everything the report shows about the models' evidence (see the module docstring)."""
    lesions = sets["lesions"]
    dev, untouched = split_lesions(lesions.case_ids, config.lesion_dev_fraction, config.seed)
    parts = {"dev": dev, "untouched": untouched}
    per_variant = []
    for name, results in trained["explained"].items():
        for fold, result in enumerate(results):
            found = lesion_degrees(config, result["model"], lesions, result["preprocess"], result["cam_layer"])
            per_variant.append({"variant": name, "fold": fold, **degree_row(found, parts)})
    final = trained["explained"]["final"]
    best = best_fold(final)
    model, preprocess = final[best]["model"], final[best]["preprocess"]
    found = lesion_degrees(config, model, lesions, preprocess, config.cam_layer)
    shown = _top_cases(found["degrees"], untouched, config.gradcam_images)
    guided, _ = interpret.gradcam_maps(model, preprocess.apply(lesions.images[shown]), method="guided_backprop")
    alexnet_fold = best_fold(trained["alexnet"])
    figures = alexnet_figures(config, sets["alexnet"], trained["alexnet"][alexnet_fold], folds[alexnet_fold][1])
    return {"best_fold": best, "alexnet_best_fold": alexnet_fold, "lesions": found, "dev": dev,
            "untouched": untouched, "shown": shown, "guided": guided, "degree_rows": per_variant,
            "layer_rows": layer_study(config, sets, trained, parts),
            "faithfulness": faithfulness_rows(config, model, preprocess, lesions, untouched), **figures}


def faithfulness_slices(rows: np.ndarray, count: int) -> np.ndarray:
    """``count`` of ``rows`` spread evenly over them (all when there are fewer)."""
    if count <= 0 or not len(rows):
        return rows[:0]
    return rows[np.unique(np.linspace(0, len(rows) - 1, min(count, len(rows))).round().astype(int))]


def faithfulness_rows(config: Config, model, preprocess, lesions: LesionSet, rows: np.ndarray) -> list[dict]:
    """``faithfulness_table`` of the COVID-class maps (``FAITHFULNESS_METHODS``; Grad-CAM at ``config.cam_layer``)
    on ``config.faithfulness_slices`` untouched MedSeg slices, the radiologists' lesion mask as the
    localisation mask: deletion / insertion AUC (blur baseline), ROAD, randomisation, localisation.
    One row per method (means over the slices); [] when no slice is scored."""
    chosen = faithfulness_slices(rows, config.faithfulness_slices)
    if not len(chosen):
        return []
    device = next(model.parameters()).device
    x = preprocess.apply(lesions.images[chosen]).to(device)  # (n, 1, S, S)
    layers = {"gradcam": config.cam_layer}
    maps = {name: torch.from_numpy(interpret.gradcam_maps(model, x, method=name, layer=layers.get(name))[0])
            for name in FAITHFULNESS_METHODS}
    with eval_mode(model):
        table = faithfulness_table(model, x, maps, target=interpret.COVID_CLASS, mask=lesions.masks[chosen] > 0,
                                   layers=layers, steps=config.faithfulness_steps,
                                   support_threshold=config.cam_threshold, seed=config.seed)
    return [{**row, "slices": [lesions.case_ids[i] for i in chosen]} for row in table]


def _top_cases(degrees: np.ndarray, rows: np.ndarray, count: int) -> np.ndarray:
    """The ``count`` slices among ``rows`` with the highest consistent degree (untouched half)."""
    order = rows[np.argsort(-np.nan_to_num(degrees[rows], nan=-1.0), kind="stable")]
    return order[:count]


def alexnet_figures(config: Config, images, result: dict, val_ids: np.ndarray) -> dict:
    """Figs. 8-10 of the best AlexNet fold: its first-layer filters, ``neurons_per_layer`` random neurons
    per conv layer on one COVID validation image, and the strongest neuron of each conv layer for
    ``layer_images`` validation images (half COVID)."""
    model = result["model"]
    device = next(model.parameters()).device
    inputs = baseline.preprocess_of(config).apply(images.images)
    labels = images.labels.numpy()
    covid = [int(i) for i in val_ids if labels[i] == interpret.COVID_CLASS]
    other = [int(i) for i in val_ids if labels[i] != interpret.COVID_CLASS]
    half = max(1, config.layer_images // 2)
    chosen = (covid[:half] + other[:config.layer_images - half]) or [int(val_ids[0])]
    probe = chosen[0]
    return {"filters": interpret.first_layer_filters(model),
            "neurons": interpret.hidden_neuron_maps(model, inputs[probe:probe + 1].to(device),
                                                    config.neurons_per_layer, seed=config.seed),
            "probe": images.images[probe, 0].numpy(),
            "layer_maps": interpret.strongest_neuron_maps(model, inputs[chosen].to(device)),
            "layer_images": images.images[chosen, 0].numpy(), "layer_labels": labels[chosen]}
