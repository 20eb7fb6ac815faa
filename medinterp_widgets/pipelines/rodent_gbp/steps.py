"""The analysis of one test animal: segment, guided backprop, enhance, place the mask, re-segment.

``references`` builds the mask templates of the training animals (mask * enhanced GBP of their own
unmasked input). ``analyse_animal`` then, for a test animal's unmasked volume: segments it as it is,
computes the GBP of every sagittal slice and its enhanced map, places a brain mask both ways
(``placement.place_paper`` with one reference, ``place_multi`` with all), removes the background
with each placed mask and with the true mask, and segments again.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from medinterp_widgets.models.modes import eval_mode

from .config import Config
from .data import Animal, model_channels, network_input
from .gbp import brain_gbp, enhance_volume, feature_volume, remove_background
from .placement import Placed, Reference, place_multi, place_paper


def segment(model: nn.Module, images: np.ndarray, device, batch_size: int = 16) -> np.ndarray:
    """argmax labels (N, H, W) uint8 of a stack of slices (N, H, W) (or a built ``network_input``
    (N, C, H, W)); the model is used in eval mode and left as found."""
    inputs = network_input(images, model_channels(model))
    labels = []
    with eval_mode(model), torch.no_grad():
        for start in range(0, len(inputs), batch_size):
            x = torch.from_numpy(inputs[start:start + batch_size])
            labels.append(model(x.to(device)).argmax(1).cpu().numpy().astype(np.uint8))  # (B, 4, H, W) -> (B, H, W)
    return np.concatenate(labels) if labels else np.zeros((0, *inputs.shape[2:]), np.uint8)


def enhanced_gbp(model: nn.Module, images: np.ndarray, config: Config, device) -> tuple[np.ndarray, np.ndarray]:
    """(GBP maps, enhanced maps), both (N, H, W), of every slice with brain-or-not alike."""
    gradients = brain_gbp(model, images, device)
    return gradients, enhance_volume(gradients, config)


def references(model: nn.Module, animals: list[Animal], config: Config, device) -> list[Reference]:
    """One Reference per training animal: its mask, enhanced GBP and GBP feature map of its unmasked input."""
    out = []
    for animal in animals:
        gradients, enhanced = enhanced_gbp(model, animal.unmasked, config, device)
        out.append(Reference.build(animal.subject_id, animal.mask, enhanced, feature_volume(gradients, config)))
    return out


@dataclass(frozen=True)
class AnimalAnalysis:
    """One test animal's arrays (all (S, H, W)): GBP, enhanced GBP, placed masks, segmentations."""

    subject_id: str
    gradients: np.ndarray
    enhanced: np.ndarray
    placed: dict[str, Placed]  # "paper", "multi"
    segmentations: dict[str, np.ndarray]  # "unmasked input", "GBP mask (paper)", "GBP mask (multi)", "true mask"


def place_both(gradients: np.ndarray, enhanced: np.ndarray, refs: list[Reference], config: Config) -> dict[str, Placed]:
    """{"paper": one-reference plain correlation, "multi": all references, normalised, deformed, fused}."""
    index = min(max(config.reference_animal, 1), len(refs)) - 1
    return {"paper": place_paper(enhanced, refs[index]),
            "multi": place_multi(enhanced, feature_volume(gradients, config), refs, config.angles, config.flow,
                                 config.flow_iterations)}


def analyse_animal(model: nn.Module, animal: Animal, refs: list[Reference], config: Config, device) -> AnimalAnalysis:
    """Segment unmasked; GBP -> enhance -> place (both ways) -> remove the background -> segment again."""
    gradients, enhanced = enhanced_gbp(model, animal.unmasked, config, device)
    placed = place_both(gradients, enhanced, refs, config)
    segmentations = {"unmasked input": segment(model, animal.unmasked, device)}
    for name, placement in placed.items():
        segmentations[f"GBP mask ({name})"] = segment(model, remove_background(animal.unmasked, placement.mask), device)
    segmentations["true mask"] = segment(model, remove_background(animal.unmasked, animal.mask), device)
    return AnimalAnalysis(animal.subject_id, gradients, enhanced, placed, segmentations)
