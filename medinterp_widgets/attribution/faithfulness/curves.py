"""Deletion and insertion curves (Petsiuk et al., RISE, 2018; pixel flipping, Bach et al. 2015; region
perturbation, Samek et al. 2017) and their areas.

Features (pixels, or patches of side ``patch`` scored by the map's sum inside them) are ranked by the
map, most relevant first. With k_i = round(i · n / steps) features taken, i = 0 … steps:

- deletion:  x_i = x with its first k_i features replaced by the baseline; f(x_0) = f(x), f(x_steps) = f(b);
- insertion: x_i = the baseline with the first k_i features of x put back; f(x_0) = f(b), f(x_steps) = f(x);

where f is the target's score (``_common``: probability by default). AUC = ∫₀¹ f dt by the trapezoid rule
over the fractions t_i = k_i / n. A faithful map gives a low deletion AUC (the score drops as soon as the
important features go) and a high insertion AUC. Each step is one forward of the whole batch; the two
curves share their end points, so both cost 2 · steps forwards (plus the clean one that binds the target).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np
import torch
from scipy.integrate import trapezoid
from torch import Tensor, nn

from ._common import Scorer, baseline_image, check_maps, feature_ranks, stop_check

__all__ = ["CurveResult", "deletion_insertion", "step_counts", "MODES"]

MODES = ("deletion", "insertion")


@dataclass(frozen=True)
class CurveResult:
    """Curves (B, steps + 1) over ``fractions`` (steps + 1,); a curve not asked for is None."""

    fractions: np.ndarray
    deletion: np.ndarray | None
    insertion: np.ndarray | None
    forwards: int

    @property
    def deletion_auc(self) -> np.ndarray | None:
        """(B,) ∫ deletion dt; lower is more faithful."""
        return None if self.deletion is None else trapezoid(self.deletion, self.fractions, axis=1)

    @property
    def insertion_auc(self) -> np.ndarray | None:
        """(B,) ∫ insertion dt; higher is more faithful."""
        return None if self.insertion is None else trapezoid(self.insertion, self.fractions, axis=1)


def step_counts(n_features: int, steps: int) -> list[int]:
    """Features taken after each step: round(i · n / steps), i = 0 … steps (at most n steps)."""
    if steps < 1:
        raise ValueError(f"steps: got {steps}, expected >= 1")
    steps = min(steps, n_features)
    return [round(i * n_features / steps) for i in range(steps + 1)]


def deletion_insertion(model: nn.Module, x: Tensor, maps: Any, *, target: Any, steps: int = 32,
                       patch: int | None = None, baseline: Any = "blur", blur_sigma: float | None = None,
                       output: str = "probability", modes: Sequence[str] = MODES,
                       should_stop: Callable[[], bool] | None = None) -> CurveResult:
    """Deletion and / or insertion curves of ``maps`` (B, *S) for ``model`` on x (B, C, *S).

    target: as in ``attribute`` (int, (B,) tensor, ClassTarget, RegionTarget, PixelTarget). baseline:
    "blur", "mean", "zero", a number or a tensor (see ``baseline_image``). should_stop: polled before each
    forward; True abandons the run with ``FaithfulnessCancelled``.
    """
    unknown = set(modes) - set(MODES)
    if unknown or not modes:
        raise ValueError(f"modes: got {tuple(modes)}, expected some of {MODES}")
    maps = check_maps(x, maps)
    check = stop_check(should_stop)
    scorer = Scorer(model, x, target, output)
    base = baseline_image(x, baseline, blur_sigma=blur_sigma)
    ranks, n_features = feature_ranks(maps, patch=patch, order="morf")
    counts = step_counts(n_features, steps)
    taken = ranks.unsqueeze(1)  # (B, 1, *S): broadcast over channels
    base_score = None
    curves: dict[str, list[Tensor]] = {}
    for mode in MODES:
        if mode not in modes:
            continue
        start, end = (x, base) if mode == "deletion" else (base, x)  # what a feature is before / after
        points = []
        for count in counts:
            check()
            if count == 0 and mode == "deletion" or count == n_features and mode == "insertion":
                points.append(scorer.clean)
            elif base_score is not None and (count == 0 or count == n_features):
                points.append(base_score)
            else:
                points.append(scorer(torch.where(taken < count, end, start)))  # (B,)
                if count in (0, n_features):
                    base_score = points[-1]
        curves[mode] = points
    as_array = lambda name: (torch.stack(curves[name], 1).double().cpu().numpy()  # noqa: E731
                             if name in curves else None)  # (B, steps + 1)
    fractions = np.asarray(counts, dtype=np.float64) / n_features
    return CurveResult(fractions, as_array("deletion"), as_array("insertion"), scorer.forwards)
