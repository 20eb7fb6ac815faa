"""The explained classifier's folds and where their Grad-CAM lands on the MedSeg slices (covid-interp, #14).

    MEDINTERP_DATA=... python notebooks/tools/covid_cam_study.py OUT [field=value ...] [folds=0,1]

Trains the explained classifier of each grouped fold at the --paper preset (``field=value`` overrides a
Config field, e.g. ``lung_focus=True`` or ``max_zoom=1.6``; an existing OUT/<name>-fold<k>/final.pt is
reused; ``lesion_weight=0.0`` trains without the lesion guidance), prints each fold's validation accuracy /
AUC / sensitivity / specificity at its decision threshold (``decision_rule=fixed``: at 0.5) and CPU
seconds, the CNN term's own rates beside them when the texture term is on (``texture_weight``), the means, then per Grad-CAM layer
(stages.0-3) the consistent degree over all MedSeg slices against both chance levels, the dev /
untouched halves' ratio, and the share of the support inside the lung fields, per fold and averaged.
One torch thread; times are process CPU seconds.
"""

from __future__ import annotations

import ast
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

from medinterp_widgets.data import load_covid_lesions
from medinterp_widgets.pipelines.covid_interp import classifier, interpret, steps
from medinterp_widgets.pipelines.covid_interp.config import Config
from medinterp_widgets.pipelines.covid_interp.data import load_lesion_set, split_lesions
from medinterp_widgets.pipelines.covid_interp.evaluate import lesion_inputs, load_model
from medinterp_widgets.pipelines.covid_interp.lungs import lung_masks
from medinterp_widgets.pipelines.covid_interp.texture import texture_features

LAYERS = ("stages.0", "stages.1", "stages.2", "stages.3")


def parse(arguments: list[str]) -> tuple[dict, list[int] | None]:
    overrides, folds = {}, None
    for argument in arguments:
        key, value = argument.split("=", 1)
        if key == "folds":
            folds = [int(v) for v in value.split(",")]
            continue
        try:
            overrides[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            overrides[key] = value
    return overrides, folds


def _rates(scores: dict) -> str:
    return (f"accuracy {scores['accuracy']:.3f} AUC {scores['auc']:.3f} sensitivity {scores['sensitivity']:.2f} "
            f"specificity {scores['specificity']:.2f} at P(COVID) >= {scores['threshold']:.3f}")


def train(config: Config, out: Path, chosen: list[int] | None) -> list[Path]:
    images = steps.load_image_set(config.data_root, config.image_size, seed=config.seed)
    lesions = load_lesion_set(config.data_root, config.image_size, seed=config.seed)
    dev, _ = split_lesions(lesions.case_ids, config.lesion_dev_fraction, config.seed)
    texture = None
    if config.texture_weight > 0:
        at_lbp_size = steps.load_image_set(config.data_root, config.lbp_size, seed=config.seed)
        texture = texture_features(at_lbp_size.images, config.lbp_points, config.texture_radii, config.texture_region)
    paths, found = [], []
    for fold, (train_ids, val_ids) in enumerate(steps.fold_indices(images, config)):
        if chosen is not None and fold not in chosen:
            continue
        path = out / f"final-fold{fold}" / classifier.FINAL_CHECKPOINT
        if not path.is_file():
            start = time.process_time()
            result = classifier.train_classifier_fold(config, images, train_ids, val_ids, fold, out,
                                                      lesions=lesions.subset(dev), texture=texture)
            found.append(result)
            print(f"fold {fold}: {_rates(result['scores'])} ({time.process_time() - start:.0f} s CPU)", flush=True)
            if texture is not None:
                print(f"  CNN term alone: {_rates(result['cnn_scores'])}", flush=True)
        paths.append(path)
    for key in ("scores", "cnn_scores") if found else ():
        values = np.array([[r[key]["accuracy"], r[key]["auc"]] for r in found])
        print(f"{key}: mean accuracy {values[:, 0].mean():.3f} (min {values[:, 0].min():.3f}), "
              f"AUC {values[:, 1].mean():.3f} (min {values[:, 1].min():.3f})", flush=True)
    return paths


def layer_rows(path: Path, slices, dev, untouched) -> dict[str, tuple]:
    model, preprocess, _ = load_model(path)
    images, inputs, masks = lesion_inputs(slices, preprocess)
    fields = lung_masks(images)
    rows = {}
    for layer in LAYERS:
        maps, p_covid = interpret.gradcam_maps(model, inputs, layer=layer)
        degrees, areas = interpret.native_scores(maps, masks)
        lung_chance, inside = interpret.native_lung_chance(maps, masks, fields)
        rows[layer] = (degrees.mean(), areas.mean(), lung_chance.mean(), degrees[dev].mean() / areas[dev].mean(),
                       degrees[untouched].mean() / areas[untouched].mean(), np.nanmean(inside), p_covid.mean())
    return rows


def main() -> None:
    torch.set_num_threads(1)
    out, (overrides, chosen) = Path(sys.argv[1]), parse(sys.argv[2:])
    config = Config.from_preset("paper", data_root=os.environ.get("MEDINTERP_DATA"), **overrides)
    paths = train(config, out, chosen)
    slices = load_covid_lesions(Path(config.data_root) / "covid_ct_lesions")
    dev, untouched = split_lesions([s.case_id for s in slices], config.lesion_dev_fraction, config.seed)
    found = {path: layer_rows(path, slices, dev, untouched) for path in paths}
    print("layer     fold  CD     chance  x      lung-chance  x      dev x  untouched x  support in lungs  P(COVID)")
    for layer in LAYERS:
        for path, rows in found.items():
            cd, area, lungs, dev_ratio, kept_ratio, inside, p_covid = rows[layer]
            print(f"{layer:9s} {path.parent.name[-1]:>4s}  {cd:.3f}  {area:.3f}   {cd / area:5.2f}  {lungs:.3f}        "
                  f"{cd / lungs:5.2f}  {dev_ratio:5.2f}  {kept_ratio:5.2f}        {inside:.2f}              {p_covid:.2f}")
        mean = np.mean([rows[layer] for rows in found.values()], axis=0)
        print(f"{layer:9s} mean  {mean[0]:.3f}  {mean[1]:.3f}   {mean[0] / mean[1]:5.2f}  {mean[2]:.3f}        "
              f"{mean[0] / mean[2]:5.2f}  {mean[3]:5.2f}  {mean[4]:5.2f}        {mean[5]:.2f}              {mean[6]:.2f}")


if __name__ == "__main__":
    main()
