"""Looking inside the trained GapFCN: accuracy vs Dice, the DIGITS-style layer table, CAM overlays.

All on the validation cases of the paper's data set (Sunnybrook when present): accuracy vs Dice on the
native-resolution predictions scored by ``scoring``; the CAM (Eq. 2, ``attribute(method="cam")``) and
the overlay browser on the model grid the network sees, with the expert contour.
"""

from __future__ import annotations

import numpy as np
import torch

from medinterp_widgets.data.preprocessing import map_labels
from medinterp_widgets.models import layer_table

from . import evaluation, figures
from .artifacts import LvReport
from .data import LvDataset, headline_set
from .faithfulness import SLICES as FAITH_SLICES
from .faithfulness import add_faithfulness

MAX_OVERLAYS = 64  # validation slices kept for the interactive browser


def explain(gap: dict, config, data, report: LvReport) -> None:
    """Accuracy-vs-Dice table, layer table with gradient norms, CAM overlays and CAM-in-LV share."""
    source = headline_set(gap["scored"])
    cases, scored = data.validation[source], gap["scored"][source]
    truths = [map_labels(c.label, data.spec.label_map(c.kind)) == 1 for c in cases]
    table = evaluation.accuracy_vs_dice([p == 1 for p in scored["predictions"]], truths)
    report.tables[f"pixel accuracy vs Dice ({source} validation, native resolution)"] = table
    report.add_figure("accuracy_vs_dice", figures.accuracy_vs_dice(table))
    view = LvDataset(cases[:MAX_OVERLAYS], data.spec)  # the model's view of the validation slices
    _layer_table(gap, view, report)
    _cams(gap, config, view, report, scored["rows"])
    report.notes.append(
        "Accuracy vs Dice (paper Figs. 7-9): pixel accuracy counts every background pixel, and the LV is a few per "
        f"cent of the image ({100 * table[0]['lv_pixel_share']:.1f} % here), so predicting no LV at all already scores "
        f"{100 * table[1]['pixel_accuracy']:.1f} % accuracy with Dice 0; Dice (and APD) measure the LV itself.")


def _layer_table(gap: dict, view: LvDataset, report: LvReport) -> None:
    """DIGITS-style: per layer output shape, activation mean / std (a validation batch), parameters, grad norm."""
    model, device = gap["model"], gap["device"]
    x = torch.stack([view[i][0] for i in range(min(len(view), 8))]).to(device)  # (b, 1, H, W)
    norms = gap["log"].mean_grad_norms()
    report.tables["layer table (DIGITS style)"] = [
        {"layer": r.name, "type": r.type, "output": "x".join(map(str, r.output_shape[1:])), "mean": r.activation_mean,
         "std": r.activation_std, "params": r.params, "grad_norm": norms.get(r.name)} for r in layer_table(model, x)]
    if norms:
        report.add_figure("layer_gradients", figures.layer_gradients(norms))


def _cams(gap: dict, config, view: LvDataset, report: LvReport, rows: list[dict]) -> None:
    model, device = gap["model"], gap["device"]
    cams = evaluation.cam_maps(model, view, range(len(view)), device).astype(np.float32)  # (n, h, w)
    predictions = evaluation.predict(model, view, device)  # (n, h, w)
    masks = view.masks
    side = view.spec.size or masks.shape[-1]
    spacing = view.cases[0].spacing or (1.0, 1.0)
    scale = round(view.spec.crop * max(view.cases[0].image.shape)) / side  # native pixels per model pixel
    report.overlays = {"images": np.stack([view[i][0][0].numpy() for i in range(len(view))]), "truths": masks,
                       "predictions": predictions, "cams": cams,
                       "spacing": np.asarray([spacing[0] * scale, spacing[1] * scale])}
    indices = _example_indices(rows[:len(view)], config.cam_examples)
    localisation = evaluation.cam_localisation(cams, masks)
    report.metrics.update({f"cam_{k}": v for k, v in localisation.items()})
    images = [report.overlays["images"][i] for i in indices]
    add_faithfulness(report, model, view, _example_indices(rows[:len(view)], FAITH_SLICES), device)
    report.add_figure("cam_overlays", figures.cam_overlays(images, cams[indices], [masks[i] for i in indices],
                                                           predictions[indices]))
    report.notes.append(
        "CAM (Eq. 2): CAM_LV = sum_k w_(LV,k) A_k with A the bottleneck features whose global average is the GAP "
        "context vector and w the weights of the classifier on that vector (attribute(method='cam')). The per-pixel "
        "loss never reaches that classifier, so it gets its own term (losses.py, mode "
        f"'{config.cam_loss_mode}', weight {config.cam_loss_weight}). Maps are min-max scaled per image without ReLU. "
        f"CAM mass inside the LV: {localisation['mass_inside_lv']:.2f} vs the LV's area share "
        f"{localisation['lv_area_share']:.2f} (a flat map's value); peak inside the LV on "
        f"{localisation['peak_in_lv']:.0%} of the validation slices.")


def _example_indices(rows: list[dict], count: int) -> list[int]:
    """Spread examples over the validation slices (evenly spaced, LV present)."""
    candidates = [i for i, r in enumerate(rows) if r["lv_fraction"] > 0] or list(range(len(rows)))
    picks = np.linspace(0, len(candidates) - 1, num=min(count, len(candidates))).round().astype(int)
    return sorted({candidates[i] for i in picks})
