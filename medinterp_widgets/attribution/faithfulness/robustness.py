"""Robustness: max-sensitivity of a map under small input noise (Yeh et al., NeurIPS 2019).

    SENS_max(Φ, x) = max_{j = 1 … n} ‖Φ(x + δ_j) - Φ(x)‖_F / ‖Φ(x)‖_F,   δ_j ~ U[-r, r]^{C × S} i.i.d.

with Φ the attribution method (same target, bound on the clean output, and layer). Lower is more
robust; 0 for a map that ignores small noise. Each of the n draws is one ``attribute`` call on the
whole batch; the noise comes from a seeded generator (``uniform_noise``), so runs repeat exactly.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import torch
from torch import Tensor, nn

from medinterp_widgets.attribution.api import attribute
from medinterp_widgets.attribution.state import attribution_session
from medinterp_widgets.attribution.targets import as_target

from ._common import check_maps, stop_check

__all__ = ["max_sensitivity", "uniform_noise"]


def uniform_noise(shape: tuple[int, ...], radius: float, generator: torch.Generator) -> Tensor:
    """One draw of δ ~ U[-radius, radius]^shape (float32, CPU) from ``generator``."""
    return (torch.rand(shape, generator=generator) * 2 - 1) * radius


def max_sensitivity(model: nn.Module, x: Tensor, maps: Any = None, *, method: str, target: Any, layer: Any = None,
                    radius: float = 0.05, samples: int = 10, seed: int = 0,
                    should_stop: Callable[[], bool] | None = None, **method_kwargs: Any) -> np.ndarray:
    """(B,) max-sensitivity of ``method``'s maps on x (B, C, *S) (module docstring).

    maps: Φ(x) if already computed (B, *S), else computed here. radius: r, in the input's units (x is
    usually z-scored, so 0.05 is 5 % of a standard deviation). method_kwargs go to ``attribute``.
    """
    if samples < 1 or radius < 0:
        raise ValueError(f"samples: expected >= 1 (got {samples}); radius: expected >= 0 (got {radius})")
    check = stop_check(should_stop)
    with attribution_session(model, grad=False):
        bound = as_target(target).bind(model(x))
    explain = lambda inputs: attribute(model, inputs, method=method, target=bound, layer=layer,  # noqa: E731
                                       **method_kwargs).detach()
    reference = check_maps(x, explain(x) if maps is None else maps).flatten(1).double()  # (B, N)
    norm = reference.norm(dim=1)
    generator = torch.Generator().manual_seed(seed)
    worst = torch.full((x.shape[0],), -torch.inf, dtype=torch.float64, device=x.device)
    for _ in range(samples):
        check()
        noisy = x + uniform_noise(tuple(x.shape), radius, generator).to(x.device, x.dtype)
        change = (explain(noisy).flatten(1).double() - reference).norm(dim=1)  # (B,)
        worst = torch.maximum(worst, torch.where(norm > 0, change / norm, torch.nan))
    return worst.cpu().numpy()
