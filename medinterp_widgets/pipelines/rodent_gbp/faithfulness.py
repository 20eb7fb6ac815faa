"""Faithfulness of the U-Net's brain maps (issue #16): guided backprop vs saliency vs Grad-CAM.

A few brain slices of the test (validation) animal's unmasked volume, the same input the paper's GBP
placement sees. Every map explains ``BrainTarget`` (each brain class's logits summed over its own
predicted region); the deletion / insertion curves score the mean probability of the predicted brain
classes inside their regions (blur baseline, ``STEPS`` steps). ``faithfulness_table`` adds ROAD, model
randomisation and, with the true brain mask as localisation mask, pointing game, energy pointing game,
relevance mass, overlap and consistent degree. Grad-CAM uses its default layer (the U-Net's last conv).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from medinterp_widgets.attribution import attribute
from medinterp_widgets.attribution.faithfulness import faithfulness_table
from medinterp_widgets.pipelines.report import Report

from .data import Animal, model_channels, network_input
from .gbp import BrainTarget

SLICES = 4  # brain slices scored, spread over the animal
STEPS = 16  # deletion / insertion steps: ~2 * STEPS forwards of the SLICES-batch per method
METHODS = ("guided_backprop", "saliency", "gradcam")
HEADLINE = ("deletion_auc", "insertion_auc", "road", "randomisation_similarity", "relevance_mass",
            "pointing_game")  # also flat metrics faith_<method>_<key>


def scored_slices(animal: Animal, count: int = SLICES) -> list[int]:
    """``count`` brain slices of the animal at evenly spaced quantiles (from 0.2 to 0.8) of its brain slices."""
    brain = animal.brain_slices
    if not len(brain):
        return [0]
    return sorted({int(brain[int(q * (len(brain) - 1))]) for q in np.linspace(0.2, 0.8, count)})


def faithfulness_scores(model: nn.Module, images: np.ndarray, masks: np.ndarray, device,
                        steps: int = STEPS) -> list[dict]:
    """One row per method: ``faithfulness_table`` of the brain maps of images (n, H, W) (or a built
    ``network_input`` (n, C, H, W)) with masks (n, H, W)."""
    model = model.to(device).eval()
    x = torch.from_numpy(network_input(images, model_channels(model))).to(device)
    target = BrainTarget()
    maps = {name: attribute(model, x, method=name, target=target).detach() for name in METHODS}
    return faithfulness_table(model, x, maps, target=target, mask=torch.as_tensor(np.asarray(masks, bool)),
                              steps=steps)


def add_faithfulness(report: Report, model: nn.Module, animal: Animal, device, steps: int = STEPS) -> None:
    """Score a few of the animal's unmasked brain slices; table, ``report.faithfulness``, flat metrics, note."""
    picks = scored_slices(animal)
    images = network_input(animal.unmasked, model_channels(model))[picks]  # each slice with its neighbours
    rows = faithfulness_scores(model, images, animal.mask[picks], device, steps)
    report.tables[f"faithfulness of the brain maps ({animal.subject_id}, unmasked slices {picks})"] = rows
    report.faithfulness = {row["method"]: {k: v for k, v in row.items() if k != "method"} for row in rows}
    report.metrics.update({f"faith_{row['method']}_{key}": row[key] for row in rows for key in HEADLINE if key in row})
    best = min(rows, key=lambda row: row["deletion_auc"])["method"]
    report.notes.append(
        f"Faithfulness (issue #16; attribution.faithfulness.faithfulness_table) of guided backprop, saliency and "
        f"Grad-CAM (default layer: the U-Net's last conv) for the predicted brain on {len(picks)} unmasked slices "
        f"of {animal.subject_id}, the true brain mask as localisation mask, {steps} deletion / insertion steps "
        f"(blur baseline): lowest deletion AUC (most faithful by deletion) {best}. Few slices and coarse "
        "curves: a sanity check, not a benchmark.")
