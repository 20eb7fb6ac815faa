"""ROAD: RemOve And Debias (Rong et al., ICML 2022) with noisy linear imputation.

Removed pixels are not set to a constant (which leaks the removal pattern to the model) but imputed
from their neighbours: each removed pixel p takes the weighted mean of its in-image 8-neighbours,
weights w = 1/6 (edge) and 1/12 (corner), kept neighbours fixed at their values:

    s_p v_p - Σ_{q ∈ N(p), q removed} w_pq v_q = Σ_{q ∈ N(p), q kept} w_pq x_q,   s_p = Σ_{q ∈ N(p)} w_pq,

then v_p + σ ε_p, ε ~ N(0, 1), σ = ``noise``. One sparse system holds every removed pixel of the whole
batch (block diagonal, one right-hand side per channel), built without a loop over images and solved
once per removal level: the matrix is symmetric positive definite, so its unknowns are put in a
geometric nested-dissection order of the pixel grid (separator rows / columns last, which keeps the
factor's fill near n log n) and SuperLU factorises it without pivoting, on the CPU; the imputed batch
goes back to x's device.

For each percentage p the first int(n · p / 100) pixels in MoRF order (most relevant first) or LeRF
order (least relevant first) are imputed and the model scored once on the whole batch. A faithful map
makes the MoRF curve fall fast and the LeRF curve stay high; ``RoadResult.score`` summarises it as
mean_p (LeRF_p - MoRF_p) per sample (higher = more faithful; the two-curve gap, cf. Rong et al. fig. 4).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable, Sequence

import numpy as np
import scipy.sparse as sparse
import torch
from scipy.sparse.linalg import splu
from torch import Tensor, nn

from ._common import ORDERS, Scorer, check_maps, feature_ranks, stop_check

__all__ = ["RoadResult", "road", "noisy_linear_imputation", "NEIGHBOUR_WEIGHTS", "DEFAULT_PERCENTAGES"]

NEIGHBOUR_WEIGHTS = (((-1, -1), 1 / 12), ((-1, 0), 1 / 6), ((-1, 1), 1 / 12), ((0, -1), 1 / 6),
                     ((0, 1), 1 / 6), ((1, -1), 1 / 12), ((1, 0), 1 / 6), ((1, 1), 1 / 12))
DEFAULT_PERCENTAGES = (10, 20, 30, 40, 50, 60, 70, 80, 90)


@lru_cache(maxsize=8)
def nested_dissection_keys(height: int, width: int) -> np.ndarray:
    """(height, width) int64: each pixel's position in a nested-dissection order of the grid. A block is
    split by its middle row or column (along its longer side), the two halves come first, recursively,
    and the separator last; blocks of at most 16 pixels stay in raster order."""
    order: list[np.ndarray] = []
    pending = [(0, height, 0, width, False)]  # (row0, row1, col0, col1, emit the block as is)
    while pending:
        row0, row1, col0, col1, leaf = pending.pop()
        if row1 <= row0 or col1 <= col0:
            continue
        if leaf or (row1 - row0) * (col1 - col0) <= 16:
            order.append((np.arange(row0, row1)[:, None] * width + np.arange(col0, col1)).ravel())
        elif row1 - row0 >= col1 - col0:
            middle = (row0 + row1) // 2  # the stack runs last-in first-out: separator, second, first
            pending += [(middle, middle + 1, col0, col1, True), (middle + 1, row1, col0, col1, False),
                        (row0, middle, col0, col1, False)]
        else:
            middle = (col0 + col1) // 2
            pending += [(row0, row1, middle, middle + 1, True), (row0, row1, middle + 1, col1, False),
                        (row0, row1, col0, middle, False)]
    keys = np.empty(height * width, dtype=np.int64)
    keys[np.concatenate(order)] = np.arange(height * width)
    return keys.reshape(height, width)


def _solve(matrix: sparse.csc_matrix, rhs: np.ndarray, sample: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """matrix⁻¹ rhs with the unknowns ordered by (sample, nested-dissection key); no pivoting (SPD)."""
    permutation = np.lexsort((keys, sample))
    permuted = matrix[permutation][:, permutation].tocsc()
    factor = splu(permuted, permc_spec="NATURAL", diag_pivot_thresh=0.0, options={"SymmetricMode": True})
    solution = np.empty_like(rhs)
    solution[permutation] = factor.solve(rhs[permutation])
    return solution


def _imputation_system(image: np.ndarray, removed: np.ndarray) -> tuple[sparse.csc_matrix, np.ndarray]:
    """The system above for every removed pixel: (A (n, n), right-hand sides (n, C)).

    image (B, C, H, W) float64, removed (B, H, W) bool; unknowns in raster order over the batch.
    """
    batch, channels, height, width = image.shape
    flat_removed = removed.reshape(-1)
    count = int(flat_removed.sum())
    unknown_id = np.full(flat_removed.shape, -1, dtype=np.int64)
    unknown_id[flat_removed] = np.arange(count)
    sample, row, col = np.nonzero(removed)
    pixels = image.transpose(0, 2, 3, 1).reshape(-1, channels)  # (B·H·W, C)
    diagonal, rhs = np.zeros(count), np.zeros((count, channels))
    rows, cols, values = [np.arange(count)], [np.arange(count)], []
    for (d_row, d_col), weight in NEIGHBOUR_WEIGHTS:
        n_row, n_col = row + d_row, col + d_col
        inside = (n_row >= 0) & (n_row < height) & (n_col >= 0) & (n_col < width)
        ids = np.flatnonzero(inside)
        neighbour = (sample[ids] * height + n_row[ids]) * width + n_col[ids]
        diagonal[ids] += weight
        also_removed = flat_removed[neighbour]
        rows.append(ids[also_removed])
        cols.append(unknown_id[neighbour[also_removed]])
        values.append(np.full(int(also_removed.sum()), -weight))
        rhs[ids[~also_removed]] += weight * pixels[neighbour[~also_removed]]  # one offset: ids are distinct
    matrix = sparse.csc_matrix((np.concatenate([diagonal] + values), (np.concatenate(rows), np.concatenate(cols))),
                               shape=(count, count))
    return matrix, rhs


def noisy_linear_imputation(x: Tensor, removed: Tensor, *, noise: float = 0.01,
                            generator: torch.Generator | None = None) -> Tensor:
    """x (B, C, H, W) with the pixels where ``removed`` (B, H, W) is True imputed (module docstring)."""
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
    image = x.detach().double().cpu().numpy()
    matrix, rhs = _imputation_system(image, mask)
    sample, row, col = np.nonzero(mask)
    keys = nested_dissection_keys(*mask.shape[1:])[row, col]
    solution = _solve(matrix, rhs, sample, keys)  # (n, C), unknowns in raster order over the batch
    values = torch.from_numpy(solution).to(x.device, x.dtype)
    if noise:
        values = values + noise * torch.randn(values.shape, generator=generator, dtype=torch.float64).to(values)
    imputed = x.detach().clone()
    imputed[torch.as_tensor(sample), :, torch.as_tensor(row), torch.as_tensor(col)] = values
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
         should_stop: Callable[[], bool] | None = None) -> RoadResult:
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
                                              generator=generator)
            check()
            output = scorer.forward(imputed)
            scores.append(scorer.read(output).cpu())
            correct.append(_correct(scorer, output))
        curves[order] = (scores, correct)
    stack = lambda order, part: (torch.stack(curves[order][part], 1).double().numpy()  # noqa: E731
                                 if order in curves else None)  # (B, P)
    return RoadResult(np.asarray(percentages, dtype=np.float64), stack("morf", 0), stack("lerf", 0),
                      stack("morf", 1), stack("lerf", 1))
