"""Faithfulness of the LV maps (issue #16): CAM vs Grad-CAM vs guided backprop on a few validation slices.

``faithfulness_table`` scores each method's maps on the model grid: deletion / insertion AUC (blur
baseline, ``STEPS`` steps), ROAD, model randomisation and, with the LV mask as the localisation mask,
pointing game, energy pointing game, relevance mass, overlap and consistent degree. The target is the
LV class: the maps explain the LV logits summed over the image (CAM reads the GAP classifier's LV
weights); the curves score the mean LV probability over the image.
"""

from __future__ import annotations

import numpy as np
import torch

from medinterp_widgets.attribution import attribute
from medinterp_widgets.attribution.faithfulness import faithfulness_table

from .evaluation import LV

SLICES = 6  # validation slices scored (LV present, spread over the set)
STEPS = 16  # deletion / insertion steps: the cost is ~2 * STEPS forwards per method
METHODS = ("cam", "gradcam", "guided_backprop")
HEADLINE = ("deletion_auc", "insertion_auc", "road", "randomisation_similarity", "relevance_mass",
            "pointing_game")  # also flat metrics faith_<method>_<key>
CAM_KWARGS = {"relu": False, "normalize": "minmax"}  # as the report's CAM overlays


def faithfulness_scores(model, x: torch.Tensor, masks: np.ndarray, device) -> list[dict]:
    """One row per method: ``faithfulness_table`` of the LV maps of x (n, 1, H, W) with masks (n, H, W)."""
    model = model.to(device).eval()
    x = x.to(device)
    layer = model.cam_layer_name  # Grad-CAM on the same bottleneck features A as CAM
    kwargs = {"cam": CAM_KWARGS, "gradcam": {}, "guided_backprop": {}}
    layers = {"gradcam": layer}
    maps = {name: attribute(model, x, method=name, target=LV, layer=layers.get(name), **kwargs[name]).detach()
            for name in METHODS}
    rows = faithfulness_table(model, x, maps, target=LV, mask=torch.as_tensor(masks), layers=layers,
                              method_kwargs=kwargs, steps=STEPS)
    for row in rows:  # a map that is 0 everywhere has no ranking: its curves are the input order's
        row["zero_maps"] = float((maps[row["method"]].flatten(1).abs().amax(1) == 0).float().mean())
    return rows


def add_faithfulness(report, model, view, indices, device) -> None:
    """Score ``view``'s slices at ``indices``; table, ``report.faithfulness`` (by method), flat metrics, note."""
    indices = list(indices)
    x = torch.stack([view[i][0] for i in indices])  # (n, 1, H, W)
    rows = faithfulness_scores(model, x, view.masks[indices], device)
    report.tables["faithfulness of the LV maps (validation slices, model grid)"] = rows
    report.faithfulness = {row["method"]: {k: v for k, v in row.items() if k != "method"} for row in rows}
    report.metrics.update({f"faith_{row['method']}_{key}": row[key] for row in rows for key in HEADLINE
                           if key in row})
    best = min(rows, key=lambda r: r["deletion_auc"])["method"]
    report.notes.append(
        f"Faithfulness (issue #16; attribution.faithfulness.faithfulness_table) of CAM, Grad-CAM (on the GAP "
        f"layer's features) and guided backprop for the LV class on {len(indices)} validation slices with LV, the "
        f"LV mask as localisation mask, {STEPS} deletion / insertion steps (blur baseline): lowest deletion AUC "
        f"(most faithful by deletion) {best}. Few slices and coarse curves: a sanity check, not a benchmark."
        + _zero_note(rows, model))


def _zero_note(rows: list[dict], model) -> str:
    """Why a method's maps can be all zero here (guided backprop when every LV weight of the classifier < 0)."""
    zero = [row["method"] for row in rows if row["zero_maps"] == 1.0]
    if not zero:
        return ""
    why = ("the 1x1 classifier reads the LV from the absence of the last ReLU layer's features (all its LV weights "
           "are negative) and guided backprop drops every negative gradient at a ReLU"
           if bool((model.classifier.weight[LV] < 0).all()) else "see the method's ReLU rule")
    return f" All maps of {', '.join(zero)} are zero (nan localisation, no ranking for the curves): {why}."
