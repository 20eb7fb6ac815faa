"""Paper 2, rodent-gbp: U-Net brain tissue segmentation (WM/GM/CSF) + guided backprop to place a brain mask.

    from medinterp_widgets.pipelines import rodent_gbp
    report = rodent_gbp.run(rodent_gbp.Config.from_preset("quick"))
    report.write("reports/rodent-gbp")

Ground truth: an atlas-prior Gaussian mixture inside the brain mask (``data.tissue_mixture``). Train on
skull-stripped sagittal slices of the training animals; for each held-out animal's unmasked volume:
guided backprop of the brain prediction -> linear expansion, log compression, z-score,
exp(-((z - 2) / 0.5)^2) -> cross-correlation with mask templates of the training animals -> background
removal with the placed mask -> re-segmentation; measures over each animal's whole volume.
Modules: config, data, training, gbp, placement, steps, measures, experiments, summary, figures,
checkpoint (what the checkpoint carries), evaluate (``medinterp evaluate --dataset mouse-brain``),
selection (settings chosen on one training animal: ``python -m ...rodent_gbp.selection``).
"""

from __future__ import annotations

from .config import Config
from .data import Animal, add_head_artefacts, load_animals, phantom_animals
from .evaluate import evaluate_checkpoint
from .gbp import BrainTarget, brain_gbp, enhance_gradient, enhancement_steps, remove_background, shift_image
from .pipeline import Outcome, execute, run
from .placement import Reference, place_multi, place_paper
from .steps import AnimalAnalysis, analyse_animal, segment

__all__ = [
    "Animal", "AnimalAnalysis", "BrainTarget", "Config", "Outcome", "Reference", "add_head_artefacts",
    "analyse_animal", "brain_gbp", "enhance_gradient", "enhancement_steps", "evaluate_checkpoint", "execute",
    "load_animals", "phantom_animals", "place_multi", "place_paper", "remove_background", "run", "segment",
    "shift_image",
]
