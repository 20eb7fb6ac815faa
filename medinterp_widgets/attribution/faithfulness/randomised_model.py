"""Model-randomisation score per map (Adebayo et al., "Sanity Checks for Saliency Maps", 2018).

The map Φ(x; θ) is compared with the map of the same method on the fully, cascadingly randomised model
θ̃ (every conv / linear layer re-initialised from the output side down: the last step of
``sanity.cascading_randomisation``, built with the same ``sanity.randomise_layers`` and seed):

    similarity = Spearman ρ(|Φ(x; θ)|, |Φ(x; θ̃)|)   (``sanity.map_similarity``; SSIM is kept beside it)

A map that still looks the same once the weights are noise does not explain the model (guided backprop
and Guided Grad-CAM are the known cases). ``passed`` = |similarity| < ``threshold``, default 0.5: a
rank correlation of ±0.5 or more means at least a quarter of the rank variance (ρ² ≥ 0.25) survives
the randomisation (a strongly negative ρ also says the map is tied to the input, not to the weights).
A randomised map that is constant has nan similarity and passes (nothing survived);
the target is bound on the trained model's output, so a predicted region is the same for both models.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
from torch import Tensor, nn

from medinterp_widgets.attribution.api import attribute
from medinterp_widgets.attribution.sanity import _layer_name, map_similarity, randomisable_layers, randomise_layers
from medinterp_widgets.attribution.state import attribution_session
from medinterp_widgets.attribution.targets import as_target

from ._common import check_maps

__all__ = ["RANDOMISATION_THRESHOLD", "RandomisationResult", "randomisation"]

RANDOMISATION_THRESHOLD = 0.5


@dataclass(frozen=True)
class RandomisationResult:
    """Per-sample (B,) similarity of each map with its randomised-model map; ``passed`` per sample."""

    similarity: np.ndarray
    ssim: np.ndarray
    threshold: float
    layers: tuple[str, ...]

    @property
    def passed(self) -> np.ndarray:
        """(B,) bool: |similarity| < threshold (nan, a constant randomised map, passes)."""
        return ~(np.abs(self.similarity) >= self.threshold)


def randomisation(model: nn.Module, x: Tensor, maps: Any = None, *, method: str, target: Any, layer: Any = None,
                  layers: Sequence[str] | None = None, seed: int = 0, threshold: float = RANDOMISATION_THRESHOLD,
                  absolute: bool = True, **method_kwargs: Any) -> RandomisationResult:
    """Randomisation score of ``maps`` (B, *S; computed with ``method`` when None) on x (B, C, *S).

    layers: those to randomise (default every conv / linear layer); method_kwargs go to ``attribute``.
    The model is never modified (the randomised one is a deep copy).
    """
    names = list(layers) if layers is not None else randomisable_layers(model)
    if not names:
        raise ValueError(f"model: {type(model).__name__} has no conv/linear layer to randomise")
    with attribution_session(model, grad=False):
        bound = as_target(target).bind(model(x))
    layer = _layer_name(model, layer)
    if maps is None:
        maps = attribute(model, x, method=method, target=bound, layer=layer, **method_kwargs)
    maps = check_maps(x, maps)
    randomised = randomise_layers(model, names[::-1], seed=seed)
    other = attribute(randomised, x, method=method, target=bound, layer=layer, **method_kwargs)
    rho, ssim = map_similarity(maps, other, absolute=absolute)
    return RandomisationResult(rho, ssim, float(threshold), tuple(names[::-1]))
