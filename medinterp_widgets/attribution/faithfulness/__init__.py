"""Faithfulness of attribution maps: does the map say what the model does? (compute core, torch, batched.)

- ``deletion_insertion``: deletion / insertion curves and AUC, pixels or patches, blur / mean / zero
  baseline, one forward of the whole batch per step;
- ``road``: ROAD (Rong et al. 2022), noisy linear imputation as one sparse solve per level, MoRF / LeRF;
- ``randomisation``: similarity to the map of the cascadingly randomised model, pass / fail per map;
- ``localisation``: pointing game, energy-based pointing game, relevance mass, overlap, consistent degree;
- ``max_sensitivity``: robustness under small uniform input noise;
- ``evaluate_maps`` / ``faithfulness_table``: all of them for a batch, a table per method for reports.

Every metric takes maps (B, *S) for x (B, C, *S) and a target as ``attribute`` does, leaves the model as
found, and returns per-sample numpy arrays; formulas are in each function's module docstring.
"""

from ._common import BASELINES, OUTPUTS, FaithfulnessCancelled, baseline_image, feature_ranks, gaussian_blur
from .curves import CurveResult, deletion_insertion, step_counts
from .mask_localisation import LOCALISATION_KEYS, energy_pointing_game, localisation, pointing_game, relevance_mass
from .randomised_model import RANDOMISATION_THRESHOLD, RandomisationResult, randomisation
from .road_imputation import DEFAULT_PERCENTAGES, RoadResult, noisy_linear_imputation, road
from .robustness import max_sensitivity, uniform_noise
from .table import DEFAULT_METRICS, METRICS, FaithfulnessReport, evaluate_maps, faithfulness_table

__all__ = [
    "BASELINES", "OUTPUTS", "FaithfulnessCancelled", "baseline_image", "feature_ranks", "gaussian_blur",
    "CurveResult", "deletion_insertion", "step_counts",
    "LOCALISATION_KEYS", "energy_pointing_game", "localisation", "pointing_game", "relevance_mass",
    "RANDOMISATION_THRESHOLD", "RandomisationResult", "randomisation",
    "DEFAULT_PERCENTAGES", "RoadResult", "noisy_linear_imputation", "road",
    "max_sensitivity", "uniform_noise",
    "DEFAULT_METRICS", "METRICS", "FaithfulnessReport", "evaluate_maps", "faithfulness_table",
]
