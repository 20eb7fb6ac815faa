"""``medinterp evaluate --dataset mouse-brain``: score a rodent-gbp checkpoint on a folder of animals.

Each animal under ``root`` (the ``mouse_brain/`` layout) is prepared exactly as in the pipeline
(``data.animal_from_brain`` with the checkpoint's tissue method, slice size and head seed), its brain
mask is placed by guided backprop with the training animals' templates stored in the checkpoint, and
the measures are taken over the whole volume; the result averages over the animals.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from medinterp_widgets.data import load_mouse_brain
from medinterp_widgets.devices import resolve_device
from medinterp_widgets.training.checkpoints import load_checkpoint, model_from_checkpoint

from .checkpoint import read_extras
from .data import animal_from_brain
from .measures import binary_measures, tissue_measures
from .steps import AnimalAnalysis, analyse_animal

KEYS = ("brain_dice_gbp", "wm_dice_gbp", "gm_dice_gbp", "csf_dice_gbp", "wm_dice_true_mask", "gm_dice_true_mask",
        "csf_dice_true_mask")


def animal_scores(analysis: AnimalAnalysis, animal, placement: str) -> dict[str, float]:
    """The KEYS of one animal (GBP = the chosen ``placement``), plus the other placement's brain DSC."""
    scores = {"brain_dice_gbp": binary_measures(analysis.placed[placement].mask, animal.mask)["DSC"]}
    for condition, suffix in ((f"GBP mask ({placement})", "gbp"), ("true mask", "true_mask")):
        for name, values in tissue_measures(analysis.segmentations[condition], animal.tissue).items():
            scores[f"{name.lower()}_dice_{suffix}"] = values["DSC"]
    for name, placed in analysis.placed.items():
        scores[f"brain_dice_{name}_placement"] = binary_measures(placed.mask, animal.mask)["DSC"]
    return scores


def evaluate_checkpoint(checkpoint, root, kind: str = "mouse-brain", *, device=None, split: str = "val",
                        size=None, batch_size: int = 8, limit: int | None = None) -> dict:
    """Averages over the animals under ``root`` of KEYS, ``n_animals`` and per-animal values
    (``<animal>/<key>``). ``split`` and ``batch_size`` are accepted for the common signature;
    ``size`` overrides the stored slice size; ``limit`` keeps the first N animals."""
    if kind != "mouse-brain":
        raise ValueError(f"rodent-gbp evaluate: --dataset mouse-brain expected, got {kind!r}")
    payload = load_checkpoint(checkpoint)
    config, refs = read_extras(payload, checkpoint)
    device = resolve_device(device)
    model = model_from_checkpoint(payload).to(device)
    brains = load_mouse_brain(Path(root), tissue=config.tissue)[: limit or None]
    slice_size = tuple(size) if size else config.slice_size
    per_animal = {}
    for brain in brains:
        animal = animal_from_brain(brain, slice_size, config.seed, config.input_scale)
        per_animal[animal.subject_id] = animal_scores(analyse_animal(model, animal, refs, config, device), animal,
                                                      config.placement)
    results = {key: float(np.mean([s[key] for s in per_animal.values()])) if per_animal else float("nan")
               for key in (*KEYS, "brain_dice_paper_placement", "brain_dice_multi_placement")}
    results["n_animals"] = len(per_animal)
    results["placement"] = config.placement
    for name, scores in per_animal.items():
        results.update({f"{name}/{key}": value for key, value in scores.items()})
    return results
