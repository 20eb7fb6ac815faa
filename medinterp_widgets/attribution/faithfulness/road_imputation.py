"""ROAD: RemOve And Debias (Rong et al., ICML 2022) with noisy linear imputation.

Removed pixels are not set to a constant (which leaks the removal pattern to the model) but imputed
from their neighbours: each removed pixel p takes the weighted mean of its in-image 8-neighbours,
weights w = 1/6 (edge) and 1/12 (corner), kept neighbours fixed at their values:

    s_p v_p - Σ_{q ∈ N(p), q removed} w_pq v_q = Σ_{q ∈ N(p), q kept} w_pq x_q,   s_p = Σ_{q ∈ N(p)} w_pq,

then v_p + σ ε_p, ε ~ N(0, 1), σ = ``noise``. The whole batch is solved at once per removal level, with
no loop over images (``imputation_solvers``: a sparse direct solve, or conjugate gradients with a DCT
preconditioner for large holes), on the CPU; the imputed batch goes back to x's device.

For each percentage p the first int(n · p / 100) pixels in MoRF order (most relevant first) or LeRF
order (least relevant first) are imputed and the model scored once on the whole batch. A faithful map
makes the MoRF curve fall fast and the LeRF curve stay high; ``RoadResult.score`` summarises it as
mean_p (LeRF_p - MoRF_p) per sample (higher = more faithful; the two-curve gap, cf. Rong et al. fig. 4).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np
import torch
from torch import Tensor, nn

from ._common import ORDERS, Scorer, check_maps, feature_ranks, stop_check
from .imputation_solvers import solve_images

__all__ = ["RoadResult", "road", "noisy_linear_imputation", "DEFAULT_PERCENTAGES"]

DEFAULT_PERCENTAGES = (10, 20, 30, 40, 50, 60, 70, 80, 90)


def noisy_linear_imputation(x: Tensor, removed: Tensor, *, noise: float = 0.01,
                            generator: torch.Generator | None = None, solver: str = "auto") -> Tensor:
    """x (B, C, H, W) with the pixels where ``removed`` (B, H, W) is True imputed (module docstring).

    The noise is drawn for the removed pixels in raster order over the batch, (n, C), whatever the solver.
    """
    if x.dim() != 4:
        raise ValueError(f"x: got {tuple(x.shape)}, expected (B, C, H, W): ROAD's imputation is 2-D only")
    if tuple(removed.shape) != (x.shape[0], *x.shape[2:]):
        raise ValueError(f"removed: got {tuple(removed.shape)}, expected {(x.shape[0], *x.shape[2:])}")
    mask = removed.detach().cpu().numpy().astype(bool)
    if not mask.any():
        return x.clone()
    kept_per_image = (~mask).reshape(len(mask), -1).sum(1)
    if (kept_per_image == 0).any():
        raise ValueError("removed: every pixel of an image is removed; nothing is left to impute from")
    solved = solve_images(x.detach().double().cpu().numpy(), mask, solver)  # (B, C, H, W)
    sample, row, col = np.nonzero(mask)
    values = torch.from_numpy(solved[sample, :, row, col]).to(x.device, x.dtype)  # (n, C)
    if noise:
        values = values + noise * torch.randn(values.shape, generator=generator, dtype=torch.float64).to(values)
    imputed = x.detach().clone()
    index = [torch.as_tensor(i, device=x.device) for i in (sample, row, col)]
    imputed[index[0], :, index[1], index[2]] = values
    return imputed


@dataclass(frozen=True)
class RoadResult:
    """Curves (B, P) of the target's score (and whether the target class is still predicted) after
    imputing ``percentages`` (P,) of the pixels in MoRF / LeRF order; a curve not asked for is None."""

    percentages: np.ndarray
    morf: np.ndarray | None
    lerf: np.ndarray | None
    morf_correct: np.ndarray | None
    lerf_correct: np.ndarray | None

    @property
    def score(self) -> np.ndarray | None:
        """(B,) mean_p (LeRF_p - MoRF_p); None unless both orders were run."""
        if self.morf is None or self.lerf is None:
            return None
        return (self.lerf - self.morf).mean(axis=1)


def _correct(scorer: Scorer, output: Tensor) -> Tensor:
    """Whether the bound target's class is the argmax class (classifier outputs (N, K) only)."""
    if output.dim() != 2:
        return torch.full((output.shape[0],), float("nan"))
    return (output.argmax(1) == scorer.target.class_indices(output)).float().cpu()


def road(model: nn.Module, x: Tensor, maps: Any, *, target: Any, percentages: Sequence[float] = DEFAULT_PERCENTAGES,
         orders: Sequence[str] = ORDERS, noise: float = 0.01, seed: int = 0, output: str = "probability",
         solver: str = "auto", should_stop: Callable[[], bool] | None = None) -> RoadResult:
    """ROAD curves of ``maps`` (B, H, W) for ``model`` on x (B, C, H, W); one forward per level and order.

    ``*_correct`` curves say whether the target class is still the predicted one (nan for segmentation
    outputs), the quantity Rong et al. average into an accuracy. seed: the imputation noise's generator.
    """
    if set(orders) - set(ORDERS) or not orders:
        raise ValueError(f"orders: got {tuple(orders)}, expected some of {ORDERS}")
    if any(not 0 <= p < 100 for p in percentages) or not len(percentages):
        raise ValueError(f"percentages: got {list(percentages)}, expected values in [0, 100)")
    maps = check_maps(x, maps)
    if x.dim() != 4:
        raise ValueError(f"x: got {tuple(x.shape)}, expected (B, C, H, W): ROAD's imputation is 2-D only")
    check = stop_check(should_stop)
    scorer = Scorer(model, x, target, output)
    generator = torch.Generator().manual_seed(seed)
    n_pixels = int(np.prod(maps.shape[1:]))
    curves: dict[str, tuple[list, list]] = {}
    for order in ORDERS:
        if order not in orders:
            continue
        ranks, _ = feature_ranks(maps, order=order)
        scores, correct = [], []
        for percent in percentages:
            check()
            imputed = noisy_linear_imputation(x, ranks < int(n_pixels * percent / 100), noise=noise,
                                              generator=generator, solver=solver)
            check()
            logits = scorer.forward(imputed)
            scores.append(scorer.read(logits).cpu())
            correct.append(_correct(scorer, logits))
        curves[order] = (scores, correct)
    stack = lambda order, part: (torch.stack(curves[order][part], 1).double().numpy()  # noqa: E731
                                 if order in curves else None)  # (B, P)
    return RoadResult(np.asarray(percentages, dtype=np.float64), stack("morf", 0), stack("lerf", 0),
                      stack("morf", 1), stack("lerf", 1))
