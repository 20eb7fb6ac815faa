"""Faithfulness of the HiResCAM maps of the CE and the heatmap-loss models (issue 16's table per report).

Per synthetic experiment and primary group ("ce", "hirescam"): the group's first kept model (else its
first model) is reloaded from its checkpoint and its ``eval_method`` maps of the true class on
``images`` class-balanced test images are scored by ``attribution.faithfulness.faithfulness_table``
with the heart as the localisation mask: deletion / insertion AUC (blur baseline, probability of the
true class), ROAD (LeRF - MoRF), randomisation (Spearman rho to the map of the randomised model,
passed when |rho| < 0.5) and the heart localisation scores (relevance mass = share of the map's
positive mass inside the heart, energy pointing game, ...). A few images of one model per group: a
spot check beside the overlap statistics, not a test between the groups.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np
import torch

from medinterp_widgets.attribution import ClassTarget, attribute
from medinterp_widgets.attribution.faithfulness import faithfulness_table
from medinterp_widgets.training.checkpoints import model_from_checkpoint

from .config import PRIMARY_LOSSES
from .data import StudyData
from .statistics import LOSS_KEYS
from .study import ModelResult, example_indices

FAITHFULNESS_IMAGES = 16
STEPS = 16  # deletion / insertion steps
FLAT_COLUMNS = ("deletion_auc", "insertion_auc", "road", "randomisation_passed", "relevance_mass",
                "energy_pointing_game")


def representative(models: list[ModelResult]) -> ModelResult | None:
    """The first kept model of a group, else its first model; None for an empty group."""
    return next((m for m in models if m.kept), models[0] if models else None)


def model_scores(model: torch.nn.Module, data: StudyData, method: str, images: int, seed: int) -> dict:
    """Mean faithfulness scores of ``method`` maps of the true class on ``images`` test images."""
    indices = example_indices(data.test.labels, images)
    x, y = data.test.images[indices], data.test.labels[indices]
    target = ClassTarget(y)
    maps = attribute(model, x, method=method, target=target).detach()  # (B, H, W)
    (row,) = faithfulness_table(model, x, {method: maps}, target=target, mask=data.test.heart[indices],
                                steps=STEPS, seed=seed)
    return row


def faithfulness_section(data: Mapping[str, StudyData], groups: Mapping[str, Mapping[str, list[ModelResult]]], *,
                         method: str, images: int = FAITHFULNESS_IMAGES, seed: int = 0) -> dict:
    """report.json's ``faithfulness`` object: what was scored and one row per (experiment, group)."""
    rows = []
    for dataset, by_loss in groups.items():
        for loss in PRIMARY_LOSSES:
            chosen = representative(by_loss.get(loss, []))
            if chosen is None:
                continue
            model = model_from_checkpoint(chosen.checkpoint)
            row = model_scores(model, data[dataset], method, images, seed)
            rows.append({"dataset": dataset, "loss": loss, "model": chosen.model_id, "kept": chosen.kept,
                         **{k: v for k, v in row.items() if k != "method"}})
    return {"method": method, "mask": "heart", "images": images, "deletion_steps": STEPS,
            "baseline": "blur", "randomisation_threshold": 0.5, "rows": rows}


def faithfulness_metrics(section: dict) -> dict[str, float]:
    """Flat metrics ``faithfulness_<dataset>_<ce|hm>_<column>`` of the section's rows."""
    metrics = {}
    for row in section.get("rows", []):
        for column in FLAT_COLUMNS:
            value = row.get(column, float("nan"))
            metrics[f"faithfulness_{row['dataset']}_{LOSS_KEYS[row['loss']]}_{column}"] = (
                float(value) if value is not None and np.isfinite(value) else float("nan"))
    return metrics
