"""Sanity checks for attribution maps (Adebayo et al., "Sanity Checks for Saliency Maps", 2018).

A faithful map must change when the model it explains changes. Three checks:

- cascading parameter randomisation: re-initialise the learnable layers from the top (output side)
  down, cumulatively, and compare each step's maps with the original ones;
- independent layer randomisation: re-initialise one layer at a time (others as trained);
- data randomisation: compare with a model trained on permuted labels (training is the caller's job;
  pass that model in).

Every check works on deep copies: the user's model is never modified. Similarity per sample:
Spearman rank correlation of the flattened maps (scipy) and SSIM (scikit-image) of the maps, each
min-max normalised to [0, 1]. High similarity after randomisation means the method is insensitive
to the model (a failed check). Spearman is nan when a map is constant.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

import numpy as np
import torch
from scipy import stats
from skimage.metrics import structural_similarity
from torch import Tensor, nn

from .api import attribute
from .hooks import resolve_layer
from .normalise import normalize_maps

__all__ = [
    "LayerSimilarity", "map_similarity", "randomisable_layers", "randomise_layers",
    "cascading_randomisation", "independent_randomisation", "data_randomisation",
]

RANDOMISABLE = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose2d, nn.ConvTranspose3d, nn.Linear)


@dataclass(frozen=True)
class LayerSimilarity:
    """Similarity of original and randomised maps for one step; arrays are per sample (B,)."""

    layer: str
    spearman: np.ndarray
    ssim: np.ndarray
    maps: Tensor | None = None  # the randomised maps (B, *spatial) on CPU, when keep_maps=True

    @property
    def mean_spearman(self) -> float:
        return float(np.nanmean(self.spearman)) if np.isfinite(self.spearman).any() else math.nan

    @property
    def mean_ssim(self) -> float:
        return float(np.nanmean(self.ssim)) if np.isfinite(self.ssim).any() else math.nan


def _ssim(first: np.ndarray, second: np.ndarray) -> float:
    """SSIM of two [0, 1] maps; the window shrinks to the smallest side (odd, >= 3), else nan."""
    side = min(first.shape)
    window = min(7, side if side % 2 else side - 1)
    if window < 3:
        return math.nan
    return float(structural_similarity(first, second, win_size=window, data_range=1.0))


def map_similarity(first: Tensor, second: Tensor, *, absolute: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(spearman, ssim), each (B,), between two batches of maps (B, *spatial).

    ``absolute`` compares |maps| (Adebayo et al. report both for signed gradient maps).
    """
    if first.shape != second.shape:
        raise ValueError(f"maps: shapes {tuple(first.shape)} and {tuple(second.shape)} differ; expected equal")
    if absolute:
        first, second = first.abs(), second.abs()
    unit_a = normalize_maps(first.detach().double().cpu(), "minmax").numpy()  # (B, *S) in [0, 1]
    unit_b = normalize_maps(second.detach().double().cpu(), "minmax").numpy()
    rho, ssim = np.full(len(unit_a), math.nan), np.full(len(unit_a), math.nan)
    for index, (map_a, map_b) in enumerate(zip(unit_a, unit_b)):
        if np.ptp(map_a) > 0 and np.ptp(map_b) > 0:
            rho[index] = stats.spearmanr(map_a.ravel(), map_b.ravel()).statistic
        ssim[index] = _ssim(map_a, map_b)
    return rho, ssim


def randomisable_layers(model: nn.Module) -> list[str]:
    """Names of the conv / linear layers, input side first (registration order)."""
    return [name for name, module in model.named_modules() if isinstance(module, RANDOMISABLE)]


def _reinitialise(module: nn.Module, generator: torch.Generator) -> None:
    """PyTorch's default conv/linear init (Kaiming-uniform, a = √5), drawn from ``generator``."""
    parameters = dict(module.named_parameters(recurse=False))  # a conv / linear layer: weight [, bias]
    with torch.no_grad():
        weight = torch.empty(parameters["weight"].shape)
        nn.init.kaiming_uniform_(weight, a=math.sqrt(5), generator=generator)
        parameters["weight"].copy_(weight)
        bias = parameters.get("bias")
        if bias is not None:
            fan_in, _ = nn.init._calculate_fan_in_and_fan_out(weight)
            bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
            bias.copy_(torch.empty(bias.shape).uniform_(-bound, bound, generator=generator))


def randomise_layers(model: nn.Module, names: Sequence[str], *, seed: int = 0) -> nn.Module:
    """A deep copy of ``model`` with the named layers re-initialised (seeded; global RNG untouched)."""
    randomised = copy.deepcopy(model)
    modules = dict(randomised.named_modules())
    for offset, name in enumerate(names):
        if name not in modules or not isinstance(modules[name], RANDOMISABLE):
            raise ValueError(f"layer {name!r}: expected one of the randomisable layers {randomisable_layers(model)}")
        _reinitialise(modules[name], torch.Generator().manual_seed(seed + offset))
    return randomised


def _layer_name(model: nn.Module, layer: Any) -> Any:
    """A module given as ``layer`` is named, so it can be found again in a copy of the model."""
    return resolve_layer(model, layer)[0] if isinstance(layer, nn.Module) else layer


def _compare_models(models: Iterable[nn.Module], model: nn.Module, x: Tensor, layer_names: Sequence[str], *,
                    absolute: bool, keep_maps: bool, **attribute_kwargs: Any) -> list[LayerSimilarity]:
    reference = attribute(model, x, **attribute_kwargs)  # (B, *S)
    steps = []
    for name, other in zip(layer_names, models):
        maps = attribute(other, x, **attribute_kwargs)
        rho, ssim = map_similarity(reference, maps, absolute=absolute)
        steps.append(LayerSimilarity(name, rho, ssim, maps.detach().cpu() if keep_maps else None))
    return steps


def _check_layers(model: nn.Module, layers: Sequence[str] | None) -> list[str]:
    names = list(layers) if layers is not None else randomisable_layers(model)
    if not names:
        raise ValueError(f"model: {type(model).__name__} has no conv/linear layer to randomise")
    return names


def cascading_randomisation(model: nn.Module, x: Tensor, *, method: str, target: Any, layer: Any = None,
                            layers: Sequence[str] | None = None, seed: int = 0, absolute: bool = False,
                            keep_maps: bool = False, **method_kwargs: Any) -> list[LayerSimilarity]:
    """Re-initialise layers top-down, cumulatively; step k has the top k+1 layers randomised.

    ``layers`` (input side first, default ``randomisable_layers(model)``) are randomised from the last.
    Returns one ``LayerSimilarity`` per step, named after the layer randomised last.
    """
    top_down = _check_layers(model, layers)[::-1]
    models = (randomise_layers(model, top_down[:count], seed=seed) for count in range(1, len(top_down) + 1))
    return _compare_models(models, model, x, top_down, absolute=absolute, keep_maps=keep_maps, method=method,
                           target=target, layer=_layer_name(model, layer), **method_kwargs)


def independent_randomisation(model: nn.Module, x: Tensor, *, method: str, target: Any, layer: Any = None,
                              layers: Sequence[str] | None = None, seed: int = 0, absolute: bool = False,
                              keep_maps: bool = False, **method_kwargs: Any) -> list[LayerSimilarity]:
    """Re-initialise one layer at a time (all others as trained), top layer first."""
    top_down = _check_layers(model, layers)[::-1]
    models = (randomise_layers(model, [name], seed=seed) for name in top_down)
    return _compare_models(models, model, x, top_down, absolute=absolute, keep_maps=keep_maps, method=method,
                           target=target, layer=_layer_name(model, layer), **method_kwargs)


def data_randomisation(model: nn.Module, permuted_model: nn.Module, x: Tensor, *, method: str, target: Any,
                       layer: Any = None, absolute: bool = False, keep_maps: bool = False,
                       **method_kwargs: Any) -> LayerSimilarity:
    """Maps of ``model`` vs those of the same architecture trained on permuted labels.

    ``layer`` must be a dotted name (or None) valid in both models.
    """
    (step,) = _compare_models([permuted_model], model, x, ["permuted labels"], absolute=absolute,
                              keep_maps=keep_maps, method=method, target=target,
                              layer=_layer_name(model, layer), **method_kwargs)
    return step
