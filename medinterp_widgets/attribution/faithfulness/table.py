"""Every faithfulness score of a batch of maps at once (``evaluate_maps``), and a table of them per method
(``faithfulness_table``) for reports: one call per figure, one row per method (or per method and sample).

Columns (each a per-sample value; a table row holds their mean over the samples, nan ignored):
``deletion_auc`` (lower is better), ``insertion_auc`` (higher), ``road`` (mean LeRF - MoRF, higher),
``randomisation_similarity`` (lower) and ``randomisation_passed`` (1 / 0; the row's mean is the pass
rate), ``max_sensitivity`` (lower) and, when a mask is given, ``LOCALISATION_KEYS`` (higher).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import numpy as np
from torch import Tensor, nn

from .curves import CurveResult, deletion_insertion
from .mask_localisation import localisation
from .randomised_model import RANDOMISATION_THRESHOLD, RandomisationResult, randomisation
from .road_imputation import DEFAULT_PERCENTAGES, RoadResult, road
from .robustness import max_sensitivity

__all__ = ["METRICS", "DEFAULT_METRICS", "FaithfulnessReport", "evaluate_maps", "faithfulness_table"]

METRICS = ("deletion", "insertion", "road", "randomisation", "localisation", "robustness")
DEFAULT_METRICS = ("deletion", "insertion", "road", "randomisation", "localisation")  # robustness: n maps each
NEEDS_METHOD = ("randomisation", "robustness")  # they recompute maps, so they need the method's name


@dataclass
class FaithfulnessReport:
    """Per-sample scores ``values[column] -> (B,)`` and the curves behind them (None when not run)."""

    method: str | None
    values: dict[str, np.ndarray] = field(default_factory=dict)
    curves: CurveResult | None = None
    road: RoadResult | None = None
    randomisation: RandomisationResult | None = None

    def sample(self, index: int) -> dict[str, float]:
        """One sample's scores as plain floats."""
        return {key: float(value[index]) for key, value in self.values.items()}

    def mean(self) -> dict[str, float]:
        """Each column's mean over the samples, nan ignored (nan when all are nan)."""
        return {key: float(np.nanmean(value)) if np.isfinite(value).any() else float("nan")
                for key, value in self.values.items()}


def _check_metrics(metrics: Sequence[str], method: str | None) -> None:
    unknown = sorted(set(metrics) - set(METRICS))
    if unknown:
        raise ValueError(f"metrics: unknown {unknown}; expected some of {list(METRICS)}")
    missing = [m for m in metrics if m in NEEDS_METHOD]
    if missing and method is None:
        raise ValueError(f"metrics {missing}: recompute maps, so pass method=<its name in attribution.METHODS>")


def evaluate_maps(model: nn.Module, x: Tensor, maps: Any, *, target: Any, method: str | None = None,
                  layer: Any = None, mask: Any = None, metrics: Sequence[str] = DEFAULT_METRICS, steps: int = 32,
                  patch: int | None = None, baseline: Any = "blur", output: str = "probability",
                  road_percentages: Sequence[float] = DEFAULT_PERCENTAGES, road_noise: float = 0.01,
                  randomisation_threshold: float = RANDOMISATION_THRESHOLD, support_threshold: float = 0.7,
                  sensitivity_radius: float = 0.05, sensitivity_samples: int = 10, seed: int = 0,
                  method_kwargs: Mapping[str, Any] | None = None,
                  should_stop: Callable[[], bool] | None = None) -> FaithfulnessReport:
    """Score ``maps`` (B, *S) of ``method`` (with ``layer`` and ``method_kwargs``) for model on x (B, C, *S).

    metrics: some of ``METRICS`` (localisation runs only with a mask). The options go to the metric
    functions: steps / patch / baseline / output to ``deletion_insertion``, road_* to ``road``,
    randomisation_threshold to ``randomisation``, support_threshold to the consistent degree,
    sensitivity_* to ``max_sensitivity``; seed to ROAD's noise, the randomised weights and the input noise.
    """
    _check_metrics(metrics, method)
    extra = dict(method_kwargs or {})
    report = FaithfulnessReport(method)
    values = report.values
    curve_modes = tuple(m for m in ("deletion", "insertion") if m in metrics)
    if curve_modes:
        report.curves = deletion_insertion(model, x, maps, target=target, steps=steps, patch=patch,
                                           baseline=baseline, output=output, modes=curve_modes,
                                           should_stop=should_stop)
        for mode in curve_modes:
            values[f"{mode}_auc"] = getattr(report.curves, f"{mode}_auc")
    if "road" in metrics:
        report.road = road(model, x, maps, target=target, percentages=road_percentages, noise=road_noise,
                           seed=seed, output=output, should_stop=should_stop)
        values["road"] = report.road.score  # type: ignore[assignment]  # None only without curves
    if "randomisation" in metrics:
        assert method is not None  # _check_metrics requires it
        report.randomisation = randomisation(model, x, maps, method=method, target=target, layer=layer, seed=seed,
                                             threshold=randomisation_threshold, **extra)
        values["randomisation_similarity"] = report.randomisation.similarity
        values["randomisation_passed"] = report.randomisation.passed.astype(np.float64)
    if "robustness" in metrics:
        assert method is not None  # _check_metrics requires it
        values["max_sensitivity"] = max_sensitivity(model, x, maps, method=method, target=target, layer=layer,
                                                    radius=sensitivity_radius, samples=sensitivity_samples,
                                                    seed=seed, should_stop=should_stop, **extra)
    if "localisation" in metrics and mask is not None:
        values.update(localisation(maps, mask, threshold=support_threshold))
    return report


def faithfulness_table(model: nn.Module, x: Tensor, maps_by_method: Mapping[str, Any], *, target: Any,
                       mask: Any = None, layers: Mapping[str, Any] | None = None,
                       method_kwargs: Mapping[str, Mapping[str, Any]] | None = None, per_sample: bool = False,
                       **options: Any) -> list[dict[str, Any]]:
    """Rows of scores for a figure's maps: ``maps_by_method`` = {method name: maps (B, *S)}.

    Names are ``attribution.METHODS`` keys (randomisation and robustness recompute the maps with them);
    for another name only the metrics that need no method run. layers / method_kwargs: per name, as given
    to ``attribute``. per_sample: one row per (method, sample) with ``sample`` = its index, else one row
    per method with ``n`` = the batch size and each column's mean. options: as for ``evaluate_maps``
    (e.g. metrics=..., steps=..., baseline=...). Example::

        rows = faithfulness_table(model, x, {"cam": cam, "gradcam": gc}, target=1, mask=lv_masks)
        # [{"method": "cam", "n": 8, "deletion_auc": 0.21, "insertion_auc": 0.64, ...}, ...]
    """
    from medinterp_widgets.attribution.api import METHODS

    metrics = options.pop("metrics", DEFAULT_METRICS)
    rows = []
    for name, maps in maps_by_method.items():
        known = name in METHODS
        chosen = [m for m in metrics if known or m not in NEEDS_METHOD]
        report = evaluate_maps(model, x, maps, target=target, method=name if known else None,
                               layer=(layers or {}).get(name), mask=mask,
                               method_kwargs=(method_kwargs or {}).get(name),
                               metrics=chosen, **options)
        if per_sample:
            rows += [{"method": name, "sample": index, **report.sample(index)} for index in range(x.shape[0])]
        else:
            rows.append({"method": name, "n": int(x.shape[0]), **report.mean()})
    return rows
